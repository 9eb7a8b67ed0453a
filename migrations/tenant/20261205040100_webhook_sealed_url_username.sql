-- language=PostgreSQL
-- More of a webhook is sealed under the tenant's data key: the URL, when it carries a password
-- or a credential in its query string (`url` then holds it masked, `url_sealed` the original),
-- and the basic-auth username (`username` then stays null unless it is a `${…}` template).
alter table webhook
    add column url_sealed bytea,
    add column username_sealed bytea;

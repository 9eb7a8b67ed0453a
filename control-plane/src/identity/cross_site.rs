//! Refusing cross-site form posts to endpoints that act on credentials in the body (login CSRF).
//!
//! A browser lets any web page submit an HTML form to us without asking, and a form can only be
//! `application/x-www-form-urlencoded` (or multipart/plain text, which we refuse anyway). JSON
//! bodies cannot be sent cross-site without a CORS preflight, which the control plane never
//! grants, so only form posts need checking. Browsers say where a request comes from in
//! `Sec-Fetch-Site` (modern ones) and `Origin` (all of them, on POST); a form post that a
//! browser marks as coming from another site or origin is refused with 403. Requests without
//! either header come from programs (curl, scripts), which no other site can make a victim send.

use axum::http::header::{CONTENT_TYPE, ORIGIN};
use axum::http::HeaderMap;

use crate::error::{Error, Result};

/// Refuses a form post that a browser says came from another origin than `public_url`.
pub fn check_form_post(headers: &HeaderMap, public_url: &str) -> Result<()> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Ok(());
    }
    let refuse = || {
        Err(Error::Forbidden(
            "cross-site form posts are refused; post from the Treaty site itself or send JSON"
                .into(),
        ))
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            return refuse();
        }
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let ours = url::Url::parse(public_url).map(|u| u.origin().ascii_serialization());
        let theirs = origin.to_str().unwrap_or_default().trim_end_matches('/');
        if ours.map_or(true, |ours| !ours.eq_ignore_ascii_case(theirs)) {
            return refuse();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    const PUBLIC: &str = "https://treaty.example";

    #[test]
    fn cross_site_form_posts_are_refused_and_everything_else_passes() {
        let refused = [
            headers(&[FORM, ("sec-fetch-site", "cross-site")]),
            headers(&[FORM, ("sec-fetch-site", "same-site")]),
            headers(&[FORM, ("origin", "https://evil.example")]),
            headers(&[FORM, ("origin", "null")]),
        ];
        for h in &refused {
            assert!(check_form_post(h, PUBLIC).is_err(), "{h:?}");
        }
        let allowed = [
            headers(&[FORM]),
            headers(&[FORM, ("sec-fetch-site", "same-origin")]),
            headers(&[FORM, ("origin", "https://treaty.example")]),
            headers(&[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ]),
        ];
        for h in &allowed {
            assert!(check_form_post(h, PUBLIC).is_ok(), "{h:?}");
        }
    }
}

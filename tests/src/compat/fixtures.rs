//! Provider states of the Pact Broker client's contracts, as data in the compat tenant's
//! database (`shared/compat/README.md` lists what each state means). Every setup starts from an
//! empty broker; an unknown state fails loudly so states added to updated contract files are
//! noticed.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sqlx::PgPool;

/// Empties every broker table (keeping the migration history).
pub async fn reset(db: &PgPool) -> anyhow::Result<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select quote_ident(tablename) from pg_tables where schemaname = 'public' and tablename <> '_sqlx_migrations'",
    )
    .fetch_all(db)
    .await?;
    if !tables.is_empty() {
        sqlx::raw_sql(&format!(
            "truncate {} restart identity cascade",
            tables.join(", ")
        ))
        .execute(db)
        .await?;
    }
    Ok(())
}

struct Data<'a> {
    db: &'a PgPool,
}

/// Pact content as the broker's test data builder makes it: no interactions (the contracts
/// assert an empty list); revisions differ in their metadata only.
fn pact_content(consumer: &str, provider: &str, revision: u32) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [],
        "metadata": {"pactSpecification": {"version": "2.0.0"}, "revision": revision}
    })
}

impl Data<'_> {
    async fn pacticipant(&self, name: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "with created as (insert into pacticipant (name) values ($1) on conflict (name) do nothing returning pacticipant_id)
             select pacticipant_id from created union all select pacticipant_id from pacticipant where name = $1 limit 1",
        )
        .bind(name)
        .fetch_one(self.db)
        .await?)
    }

    async fn version(&self, pacticipant: &str, number: &str) -> anyhow::Result<i64> {
        let pacticipant_id = self.pacticipant(pacticipant).await?;
        Ok(sqlx::query_scalar(
            "with created as (insert into version (pacticipant_id, number) values ($1, $2) on conflict do nothing returning version_id)
             select version_id from created union all select version_id from version where pacticipant_id = $1 and number = $2 limit 1",
        )
        .bind(pacticipant_id)
        .bind(number)
        .fetch_one(self.db)
        .await?)
    }

    async fn tag(&self, pacticipant: &str, number: &str, tag: &str) -> anyhow::Result<()> {
        let version_id = self.version(pacticipant, number).await?;
        sqlx::query("insert into tag (version_id, name, pacticipant_id) select $1, $2, pacticipant_id from version where version_id = $1")
            .bind(version_id)
            .bind(tag)
            .execute(self.db)
            .await?;
        Ok(())
    }

    async fn branch(&self, pacticipant: &str, number: &str, branch: &str) -> anyhow::Result<()> {
        let version_id = self.version(pacticipant, number).await?;
        let pacticipant_id = self.pacticipant(pacticipant).await?;
        let branch_id: i64 = sqlx::query_scalar(
            "insert into branch (pacticipant_id, name) values ($1, $2) returning branch_id",
        )
        .bind(pacticipant_id)
        .bind(branch)
        .fetch_one(self.db)
        .await?;
        sqlx::query("insert into branch_version (branch_id, version_id, pacticipant_id) values ($1, $2, $3)")
            .bind(branch_id)
            .bind(version_id)
            .bind(pacticipant_id)
            .execute(self.db)
            .await?;
        Ok(())
    }

    async fn content(
        &self,
        consumer_id: i64,
        provider_id: i64,
        content: &Value,
    ) -> anyhow::Result<i64> {
        let text = content.to_string();
        let sha = format!("{:x}", sha1_like(&text));
        Ok(sqlx::query_scalar(
            "with created as (
                insert into pact_version (consumer_id, provider_id, sha, content, interactions_count)
                values ($1, $2, $3, $4, 1) on conflict do nothing returning pact_version_id)
             select pact_version_id from created
             union all select pact_version_id from pact_version where consumer_id = $1 and provider_id = $2 and sha = $3
             limit 1",
        )
        .bind(consumer_id)
        .bind(provider_id)
        .bind(sha)
        .bind(text)
        .fetch_one(self.db)
        .await?)
    }

    /// `consumer` version `number` publishes a pact with `provider`; `revisions` > 1 re-publishes
    /// it with different content that many times (the latest revision is current).
    async fn pact(
        &self,
        consumer: &str,
        number: &str,
        provider: &str,
        revisions: u32,
    ) -> anyhow::Result<i64> {
        let consumer_id = self.pacticipant(consumer).await?;
        let provider_id = self.pacticipant(provider).await?;
        let version_id = self.version(consumer, number).await?;
        let mut content_id = self
            .content(
                consumer_id,
                provider_id,
                &pact_content(consumer, provider, 1),
            )
            .await?;
        let publication: i64 = sqlx::query_scalar(
            "insert into pact_publication (consumer_id, provider_id, consumer_version_id, pact_version_id)
             values ($1, $2, $3, $4) returning pact_publication_id",
        )
        .bind(consumer_id)
        .bind(provider_id)
        .bind(version_id)
        .bind(content_id)
        .fetch_one(self.db)
        .await?;
        for revision in 2..=revisions {
            let revised = self
                .content(
                    consumer_id,
                    provider_id,
                    &pact_content(consumer, provider, revision),
                )
                .await?;
            sqlx::query(
                "insert into pact_revision (pact_publication_id, revision_number, pact_version_id, created_at)
                 select pact_publication_id, revision_number, pact_version_id, updated_at from pact_publication where pact_publication_id = $1",
            )
            .bind(publication)
            .execute(self.db)
            .await?;
            sqlx::query("update pact_publication set pact_version_id = $2, revision_number = $3 where pact_publication_id = $1")
                .bind(publication)
                .bind(revised)
                .bind(revision as i32)
                .execute(self.db)
                .await?;
            content_id = revised;
        }
        sqlx::query("insert into integration (consumer_id, provider_id) values ($1, $2) on conflict do nothing")
            .bind(consumer_id)
            .bind(provider_id)
            .execute(self.db)
            .await?;
        Ok(content_id)
    }

    /// `provider` version `provider_number` verifies the current pact of `consumer` `number`.
    async fn verify(
        &self,
        consumer: &str,
        number: &str,
        provider: &str,
        provider_number: &str,
        success: bool,
    ) -> anyhow::Result<()> {
        let provider_version = self.version(provider, provider_number).await?;
        let (pact_version_id, consumer_id, provider_id): (i64, i64, i64) = sqlx::query_as(
            "select pp.pact_version_id, pp.consumer_id, pp.provider_id from pact_publication pp
             join version v on v.version_id = pp.consumer_version_id
             join pacticipant c on c.pacticipant_id = pp.consumer_id
             join pacticipant p on p.pacticipant_id = pp.provider_id
             where c.name = $1 and v.number = $2 and p.name = $3",
        )
        .bind(consumer)
        .bind(number)
        .bind(provider)
        .fetch_one(self.db)
        .await
        .context("the pact to verify")?;
        sqlx::query(
            "insert into verification (pact_version_id, consumer_id, provider_id, provider_version_id, number, success)
             values ($1, $2, $3, $4, (select coalesce(max(number), 0) + 1 from verification where pact_version_id = $1), $5)",
        )
        .bind(pact_version_id)
        .bind(consumer_id)
        .bind(provider_id)
        .bind(provider_version)
        .bind(success)
        .execute(self.db)
        .await?;
        Ok(())
    }

    async fn environment(
        &self,
        name: &str,
        uuid: &str,
        contacts: Option<Value>,
    ) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "insert into environment (uuid, name, display_name, production, contacts) values ($1::uuid, $2, $2, false, $3)
             returning environment_id",
        )
        .bind(uuid)
        .bind(name)
        .bind(contacts)
        .fetch_one(self.db)
        .await?)
    }

    async fn deployed(
        &self,
        pacticipant: &str,
        number: &str,
        environment_id: i64,
        uuid: &str,
        instance: Option<&str>,
    ) -> anyhow::Result<()> {
        let version_id = self.version(pacticipant, number).await?;
        sqlx::query(
            "insert into deployed_version (uuid, version_id, pacticipant_id, environment_id, application_instance)
             select $1::uuid, $2, pacticipant_id, $3, $4 from version where version_id = $2",
        )
        .bind(uuid)
        .bind(version_id)
        .bind(environment_id)
        .bind(instance)
        .execute(self.db)
        .await?;
        Ok(())
    }
}

/// A stable, distinct 160-bit-wide fingerprint for fixture content (fixtures need distinct
/// pact-version shas, not SHA-1 itself).
fn sha1_like(text: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut a = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (text, 1u8).hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

const FOO_VERSION: &str = "5556b8149bf8bac76bc30f50a8a2dd4c22c85f30";
const TEST_ENV_UUID: &str = "cb632df3-0a0d-4227-aac3-60114dd36479";
const NAMED_TEST_ENV_UUID: &str = "16926ef3-590f-4e3f-838e-719717aa88c9";
const DEPLOYED_UUID: &str = "ff3adecf-cfc5-4653-a4e3-f1861092f8e0";

/// Loads `state` into an empty broker.
pub async fn load(db: &PgPool, state: &str) -> anyhow::Result<()> {
    let data = Data { db };
    match state {
        "" | "the pb:pacticipant-branch relation exists in the index resource"
        | "the pb:latest-version relation exists in the index resource"
        | "the pb:latest-tagged-version relation exists in the index resource"
        | "the pb:publish-contracts relations exists in the index resource"
        | "the pb:environments relation exists in the index resource"
        | "the pb:pacticipant-version and pb:environments relations exist in the index resource"
        | "the pacticipant relations are present"
        | "'Condor' does not exist in the pact-broker"
        | "the 'Pricing Service' does not exist in the pact-broker"
        | "no pact between Condor and the Pricing Service exists" => {}
        "'Condor' exists in the pact-broker" => {
            data.version("Condor", "1.3.0").await?;
        }
        "'Condor' exists in the pact-broker with version 1.3.0, tagged with 'prod'" => {
            data.tag("Condor", "1.3.0", "prod").await?;
        }
        "'Condor' exists in the pact-broker with the latest version 1.2.3" => {
            data.version("Condor", "1.0.0").await?;
            data.version("Condor", "1.2.3").await?;
        }
        "'Condor' exists in the pact-broker with the latest tagged 'production' version 1.2.3" => {
            data.tag("Condor", "1.2.3", "production").await?;
            data.version("Condor", "2.0.0").await?;
        }
        "the 'Pricing Service' already exists in the pact-broker" => {
            data.version("Pricing Service", "1.3.0").await?;
            sqlx::query("update pacticipant set repository_url = $1 where name = 'Pricing Service'")
                .bind("git@git.realestate.com.au:business-systems/pricing-service")
                .execute(db)
                .await?;
        }
        "the 'Pricing Service' and 'Condor' already exist in the pact-broker" => {
            data.pacticipant("Pricing Service").await?;
            data.pacticipant("Condor").await?;
        }
        "a pacticipant with name Foo exists" => {
            data.pacticipant("Foo").await?;
        }
        "a pact between Condor and the Pricing Service exists"
        | "a latest pact between Condor and the Pricing Service exists"
        | "the 'Pricing Service' and 'Condor' already exist in the pact-broker, and Condor already has a pact published for version 1.3.0" => {
            data.pact("Condor", "1.3.0", "Pricing Service", 1).await?;
        }
        "a pact between Condor and the Pricing Service exists for the production version of Condor"
        | "tagged as prod pact between Condor and the Pricing Service exists" => {
            data.pact("Condor", "1.3.0", "Pricing Service", 1).await?;
            data.tag("Condor", "1.3.0", "prod").await?;
        }
        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6"
        | "the pact for Foo Thing version 1.2.3 has been verified by Bar version 4.5.6" => {
            let consumer = if state.contains("Foo Thing") { "Foo Thing" } else { "Foo" };
            data.pact(consumer, "1.2.3", "Bar", 2).await?;
            data.verify(consumer, "1.2.3", "Bar", "4.5.6", true).await?;
            data.verify(consumer, "1.2.3", "Bar", "7.8.9", true).await?;
            data.pact(consumer, "2.0.0", "Bar", 2).await?;
            data.verify(consumer, "2.0.0", "Bar", "4.5.6", true).await?;
        }
        "the pact for Foo version 1.2.3 and 1.2.4 has been verified by Bar version 4.5.6" => {
            data.pact("Foo", "1.2.3", "Bar", 2).await?;
            data.pact("Foo", "1.2.4", "Bar", 2).await?;
            data.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await?;
            data.verify("Foo", "1.2.4", "Bar", "4.5.6", true).await?;
        }
        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6, and 1.2.4 unsuccessfully by 9.9.9"
        | "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 with tag prod, and 1.2.4 unsuccessfully by 9.9.9" => {
            data.pact("Foo", "1.2.3", "Bar", 2).await?;
            data.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await?;
            data.pact("Foo", "1.2.4", "Bar", 2).await?;
            data.verify("Foo", "1.2.4", "Bar", "9.9.9", false).await?;
            if state.contains("with tag prod") {
                data.tag("Bar", "4.5.6", "prod").await?;
            }
        }
        "the pact for Foo version 1.2.3 has been verified by Bar version 4.5.6 and version 5.6.7" => {
            data.pact("Foo", "1.2.3", "Bar", 2).await?;
            data.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await?;
            data.verify("Foo", "1.2.3", "Bar", "5.6.7", true).await?;
        }
        "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6 (tagged prod) and version 5.6.7" => {
            data.pact("Foo", "1.2.3", "Bar", 1).await?;
            data.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await?;
            data.tag("Bar", "4.5.6", "prod").await?;
            data.verify("Foo", "1.2.3", "Bar", "5.6.7", true).await?;
        }
        "provider Bar version 4.5.6 has a successful verification for Foo version 1.2.3 tagged prod and a failed verification for version 3.4.5 tagged prod" => {
            data.pact("Foo", "1.2.3", "Bar", 1).await?;
            data.tag("Foo", "1.2.3", "prod").await?;
            data.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await?;
            data.pact("Foo", "3.4.5", "Bar", 3).await?;
            data.tag("Foo", "3.4.5", "prod").await?;
            data.verify("Foo", "3.4.5", "Bar", "4.5.6", false).await?;
        }
        "a webhook with the uuid 696c5f93-1b7f-44bc-8d03-59440fcaa9a0 exists" => {
            let consumer = data.pacticipant("Condor").await?;
            let provider = data.pacticipant("Pricing Service").await?;
            sqlx::query(
                "insert into webhook (uuid, description, consumer_id, provider_id, events, method, url)
                 values ('696c5f93-1b7f-44bc-8d03-59440fcaa9a0', 'an existing webhook', $1, $2, '{contract_content_changed}', 'POST', 'https://example.org/hook')",
            )
            .bind(consumer)
            .bind(provider)
            .execute(db)
            .await?;
        }
        "a branch named main exists for pacticipant Foo" => {
            data.branch("Foo", "1", "main").await?;
        }
        "an environment exists" => {
            let contacts = json!([{"name": "foo", "details": {"emailAddress": "foo@bar.com"}}]);
            data.environment("test", "2a1c5bb5-7bf6-4f4e-9e1c-2a7b6f0a1a11", Some(contacts)).await?;
        }
        "an environment with name test exists" => {
            data.environment("test", "2a1c5bb5-7bf6-4f4e-9e1c-2a7b6f0a1a12", None).await?;
        }
        "an environment with name test and UUID 16926ef3-590f-4e3f-838e-719717aa88c9 exists" => {
            data.environment("test", NAMED_TEST_ENV_UUID, None).await?;
        }
        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for deployment"
        | "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with a test environment available for release" => {
            data.version("Foo", FOO_VERSION).await?;
            data.environment("test", TEST_ENV_UUID, None).await?;
        }
        "version 5556b8149bf8bac76bc30f50a8a2dd4c22c85f30 of pacticipant Foo exists with 2 environments that aren't test available for deployment" => {
            data.version("Foo", FOO_VERSION).await?;
            data.environment("prod", "4d0ff6e0-1f5e-4f7b-94fb-8f13a2d3e001", None).await?;
            data.environment("dev", "4d0ff6e0-1f5e-4f7b-94fb-8f13a2d3e002", None).await?;
        }
        "an version is deployed to environment with UUID 16926ef3-590f-4e3f-838e-719717aa88c9 with target customer-1" => {
            let environment = data.environment("test", NAMED_TEST_ENV_UUID, None).await?;
            data.deployed("Foo", FOO_VERSION, environment, DEPLOYED_UUID, Some("customer-1")).await?;
        }
        "a currently deployed version exists" => {
            let environment = data.environment("test", TEST_ENV_UUID, None).await?;
            data.deployed("Foo", FOO_VERSION, environment, DEPLOYED_UUID, None).await?;
        }
        other => bail!("unknown provider state {other:?}: add its fixture"),
    }
    Ok(())
}

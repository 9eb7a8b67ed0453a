//! A tenant to exercise the pact routes on, with helpers to publish, verify and read over HTTP,
//! and SQL fixtures for what other routes own (environments, deployments, releases, branches
//! and tags of provider versions) until those routes are merged.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tenant_api::events::{EventSink, NoopSink};
use tests::tenant_client::{set_plan, signup, Signup};
use tests::{RunningControlPlane, RunningTenantApi, TenantClient, TestEnv};

/// A response, read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {} {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One signed-up tenant on a running control plane and tenant API.
pub struct Broker {
    pub tenant: Signup,
    pub client: TenantClient,
    pub db: PgPool,
    pub api: RunningTenantApi,
    _cp: RunningControlPlane,
    // Last: dropping it removes the databases the services above still use.
    _env: TestEnv,
}

impl Broker {
    pub async fn start(subdomain: &str) -> Self {
        Self::start_with_events(subdomain, Arc::new(NoopSink)).await
    }

    /// A tenant whose broker events go to `sink`.
    pub async fn start_with_events(subdomain: &str, sink: Arc<dyn EventSink>) -> Self {
        let env = TestEnv::new().await;
        let cp = env.start_control_plane().await;
        let api = env.start_tenant_api_with_events(&[], sink).await;
        let tenant = signup(&cp, subdomain).await;
        // Broker tests publish as many integrations as they need.
        set_plan(&cp, &tenant, "enterprise").await;
        let client = TenantClient::new(&api, subdomain);
        let db = env.tenant_database(tenant.tenant_id).await;
        Self {
            tenant,
            client,
            db,
            api,
            _cp: cp,
            _env: env,
        }
    }

    pub fn base(&self) -> &str {
        &self.client.base_url
    }

    /// A request with the read-write token.
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.request_as(&self.tenant.read_write.clone(), method, path, body)
            .await
    }

    pub async fn request_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.authed(method, path, token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    /// GETs a document that must exist.
    pub async fn get_ok(&self, path: &str) -> Value {
        let reply = self.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
        reply.json()
    }

    /// Publishes through `POST /contracts/publish`; each contract is (provider, interaction
    /// descriptions).
    pub async fn publish(
        &self,
        consumer: &str,
        version: &str,
        branch: Option<&str>,
        tags: &[&str],
        contracts: &[(&str, &[&str])],
    ) -> Value {
        let reply = self
            .request(
                Method::POST,
                "/contracts/publish",
                Some(&publish_body(consumer, version, branch, tags, contracts)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "publish: {}", reply.text);
        reply.json()
    }

    /// The content SHA of a consumer version's pact.
    pub async fn sha(&self, provider: &str, consumer: &str, version: &str) -> String {
        let pact = self
            .get_ok(&format!(
                "/pacts/provider/{provider}/consumer/{consumer}/version/{version}"
            ))
            .await;
        pact["_links"]["pb:pact-version"]["name"]
            .as_str()
            .expect("sha")
            .to_owned()
    }

    /// Publishes a verification result for the content of a consumer version's pact.
    pub async fn verify(
        &self,
        provider: &str,
        consumer: &str,
        consumer_version: &str,
        provider_version: &str,
        success: bool,
    ) -> Value {
        let sha = self.sha(provider, consumer, consumer_version).await;
        let reply = self
            .request(
                Method::POST,
                &format!("/pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}/verification-results"),
                Some(&json!({"success": success, "providerApplicationVersion": provider_version})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "verify: {}", reply.text);
        reply.json()
    }

    /// Pacts for verification (`POST`) with this body.
    pub async fn for_verification(&self, provider: &str, body: Value) -> Value {
        let reply = self
            .request(
                Method::POST,
                &format!("/pacts/provider/{provider}/for-verification"),
                Some(&body),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "for-verification: {}",
            reply.text
        );
        reply.json()
    }

    async fn pacticipant_id(&self, name: &str) -> i64 {
        sqlx::query_scalar(
            "insert into pacticipant (name) values ($1)
             on conflict (name) do update set name = excluded.name returning pacticipant_id",
        )
        .bind(name)
        .fetch_one(&self.db)
        .await
        .expect("pacticipant")
    }

    async fn version_id(&self, pacticipant: &str, number: &str) -> (i64, i64) {
        let pacticipant_id = self.pacticipant_id(pacticipant).await;
        let version_id = sqlx::query_scalar(
            "insert into version (pacticipant_id, number) values ($1, $2)
             on conflict (pacticipant_id, number) do update set number = excluded.number
             returning version_id",
        )
        .bind(pacticipant_id)
        .bind(number)
        .fetch_one(&self.db)
        .await
        .expect("version");
        (pacticipant_id, version_id)
    }

    /// Fixture: puts a version on a branch.
    pub async fn branch_version(&self, pacticipant: &str, number: &str, branch: &str) {
        let (pacticipant_id, version_id) = self.version_id(pacticipant, number).await;
        sqlx::query(
            "with b as (insert into branch (pacticipant_id, name) values ($1, $2)
                        on conflict (pacticipant_id, name) do update set name = excluded.name
                        returning branch_id)
             insert into branch_version (branch_id, version_id, pacticipant_id)
             select branch_id, $3, $1 from b on conflict do nothing",
        )
        .bind(pacticipant_id)
        .bind(branch)
        .bind(version_id)
        .execute(&self.db)
        .await
        .expect("branch version");
    }

    /// Fixture: tags a version.
    pub async fn tag(&self, pacticipant: &str, number: &str, tag: &str) {
        let (pacticipant_id, version_id) = self.version_id(pacticipant, number).await;
        sqlx::query(
            "insert into tag (version_id, name, pacticipant_id) values ($1, $2, $3) on conflict do nothing",
        )
        .bind(version_id)
        .bind(tag)
        .bind(pacticipant_id)
        .execute(&self.db)
        .await
        .expect("tag");
    }

    /// Fixture: sets a pacticipant's main branch.
    pub async fn main_branch(&self, pacticipant: &str, branch: Option<&str>) {
        let id = self.pacticipant_id(pacticipant).await;
        sqlx::query("update pacticipant set main_branch = $2 where pacticipant_id = $1")
            .bind(id)
            .bind(branch)
            .execute(&self.db)
            .await
            .expect("main branch");
    }

    /// Fixture: an environment.
    pub async fn environment(&self, name: &str, production: bool) -> uuid::Uuid {
        sqlx::query_scalar(
            "insert into environment (uuid, name, production) values ($1, $2, $3) returning uuid",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(name)
        .bind(production)
        .fetch_one(&self.db)
        .await
        .expect("environment")
    }

    /// Fixture: records a deployment (undeploying the previous one of the same instance).
    pub async fn deploy(
        &self,
        pacticipant: &str,
        number: &str,
        environment: &str,
        instance: Option<&str>,
    ) {
        let (pacticipant_id, version_id) = self.version_id(pacticipant, number).await;
        sqlx::query(
            "update deployed_version set undeployed_at = now()
             where pacticipant_id = $1 and undeployed_at is null
               and environment_id = (select environment_id from environment where name = $2)
               and coalesce(application_instance, '') = coalesce($3, '')",
        )
        .bind(pacticipant_id)
        .bind(environment)
        .bind(instance)
        .execute(&self.db)
        .await
        .expect("undeploy");
        sqlx::query(
            "insert into deployed_version (uuid, version_id, pacticipant_id, environment_id, application_instance)
             select $1, $2, $3, environment_id, $5 from environment where name = $4",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(version_id)
        .bind(pacticipant_id)
        .bind(environment)
        .bind(instance)
        .execute(&self.db)
        .await
        .expect("deploy");
    }

    /// Fixture: records a release.
    pub async fn release(&self, pacticipant: &str, number: &str, environment: &str) {
        let (pacticipant_id, version_id) = self.version_id(pacticipant, number).await;
        sqlx::query(
            "insert into released_version (uuid, version_id, pacticipant_id, environment_id)
             select $1, $2, $3, environment_id from environment where name = $4",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(version_id)
        .bind(pacticipant_id)
        .bind(environment)
        .execute(&self.db)
        .await
        .expect("release");
    }

    /// Fixture: ends a release's support.
    pub async fn end_support(&self, pacticipant: &str, number: &str) {
        sqlx::query(
            "update released_version set support_ended_at = now()
             where version_id = (select v.version_id from version v join pacticipant p using (pacticipant_id)
                                 where p.name = $1 and v.number = $2)",
        )
        .bind(pacticipant)
        .bind(number)
        .execute(&self.db)
        .await
        .expect("end support");
    }

    /// Fixture: moves every timestamp of a consumer version's pact publication back.
    pub async fn backdate_publication(&self, consumer: &str, number: &str, days: i32) {
        // `updated_at` is maintained by a trigger; replication mode skips it.
        let mut tx = self.db.begin().await.expect("transaction");
        sqlx::query("set local session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .expect("replica mode");
        sqlx::query(
            "update pact_publication set created_at = created_at - make_interval(days => $3),
                                         updated_at = updated_at - make_interval(days => $3)
             where consumer_version_id = (select v.version_id from version v join pacticipant p using (pacticipant_id)
                                          where p.name = $1 and v.number = $2)",
        )
        .bind(consumer)
        .bind(number)
        .bind(days)
        .execute(&mut *tx)
        .await
        .expect("backdate");
        tx.commit().await.expect("commit");
    }
}

/// A pact document with one interaction per description.
pub fn pact(consumer: &str, provider: &str, descriptions: &[&str]) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": descriptions.iter().map(|d| json!({
            "description": d,
            "providerState": "things exist",
            "request": {"method": "GET", "path": format!("/{}", d.replace(' ', "-"))},
            "response": {"status": 200}
        })).collect::<Vec<_>>(),
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

/// A `POST /contracts/publish` body.
pub fn publish_body(
    consumer: &str,
    version: &str,
    branch: Option<&str>,
    tags: &[&str],
    contracts: &[(&str, &[&str])],
) -> Value {
    use base64::Engine;
    let mut body = json!({
        "pacticipantName": consumer,
        "pacticipantVersionNumber": version,
        "tags": tags,
        "contracts": contracts.iter().map(|(provider, descriptions)| json!({
            "consumerName": consumer,
            "providerName": provider,
            "specification": "pact",
            "contentType": "application/json",
            "content": base64::engine::general_purpose::STANDARD.encode(pact(consumer, provider, descriptions).to_string()),
        })).collect::<Vec<_>>(),
    });
    if let Some(branch) = branch {
        body["branch"] = json!(branch);
    }
    body
}

/// The pacts of a pacts-for-verification response, as (short description, href, pending).
pub fn listed(response: &Value) -> Vec<Value> {
    response["_embedded"]["pacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The consumer version named by each listed pact ("Pact between C (v) and P" → "C v").
pub fn listed_versions(response: &Value) -> Vec<String> {
    listed(response)
        .iter()
        .map(|p| {
            let name = p["_links"]["self"]["name"].as_str().unwrap_or_default();
            let consumer = name
                .trim_start_matches("Pact between ")
                .split(" (")
                .next()
                .unwrap_or_default();
            let version = name
                .split('(')
                .nth(1)
                .and_then(|s| s.split(')').next())
                .unwrap_or_default();
            format!("{consumer} {version}")
        })
        .collect()
}

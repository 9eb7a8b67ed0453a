//! The matrix and can-i-deploy over HTTP: every decision path with the broker's reasons.
//! Pacts are published through the API; verifications, branches, environments and
//! deployments are seeded with SQL until their routes land (see `World`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tests::tenant_client::{set_plan, signup, Signup};
use tests::{RunningTenantApi, TenantClient, TestEnv};

/// One tenant with helpers to build a broker's history.
pub struct World {
    /// Kept for its lifetime: dropping it drops the test's databases.
    _env: TestEnv,
    pub api: RunningTenantApi,
    pub client: TenantClient,
    pub tenant: Signup,
    pub db: PgPool,
}

impl World {
    pub async fn new(subdomain: &str) -> Self {
        let env = TestEnv::new().await;
        let cp = env.start_control_plane().await;
        let api = env.start_tenant_api().await;
        let tenant = signup(&cp, subdomain).await;
        // Matrix tests publish as many integrations as they need.
        set_plan(&cp, &tenant, "enterprise").await;
        let client = TenantClient::new(&api, subdomain);
        let db = env.tenant_database(tenant.tenant_id).await;
        Self {
            _env: env,
            api,
            client,
            tenant,
            db,
        }
    }

    /// Publishes `consumer` version `version`'s pact with `provider`; `variant` changes the
    /// content (same variant = same pact content).
    pub async fn publish(&self, consumer: &str, version: &str, provider: &str, variant: &str) {
        let pact = json!({
            "consumer": {"name": consumer},
            "provider": {"name": provider},
            "interactions": [{
                "description": format!("a request for {variant}"),
                "request": {"method": "GET", "path": format!("/{variant}")},
                "response": {"status": 200}
            }],
            "metadata": {"pactSpecification": {"version": "2.0.0"}}
        });
        let response = self
            .client
            .authed(
                Method::PUT,
                &format!("/pacts/provider/{provider}/consumer/{consumer}/version/{version}"),
                &self.tenant.read_write,
            )
            .json(&pact)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "publish failed: {}",
            response.text().await.unwrap()
        );
    }

    /// The version, created if missing.
    pub async fn version(&self, pacticipant: &str, number: &str) -> i64 {
        sqlx::query("insert into pacticipant (name) values ($1) on conflict (name) do nothing")
            .bind(pacticipant)
            .execute(&self.db)
            .await
            .unwrap();
        sqlx::query_scalar(
            "with p as (select pacticipant_id from pacticipant where name = $1),
                  ins as (insert into version (pacticipant_id, number) select pacticipant_id, $2 from p
                          on conflict on constraint version_pacticipant_number_key do nothing returning version_id)
             select version_id from ins
             union all
             select v.version_id from version v join p on p.pacticipant_id = v.pacticipant_id where v.number = $2
             limit 1",
        )
        .bind(pacticipant)
        .bind(number)
        .fetch_one(&self.db)
        .await
        .unwrap()
    }

    /// `provider` version `provider_version` verifies the pact of `consumer` version
    /// `consumer_version`.
    pub async fn verify(
        &self,
        consumer: &str,
        consumer_version: &str,
        provider: &str,
        provider_version: &str,
        success: bool,
    ) {
        let provider_version_id = self.version(provider, provider_version).await;
        sqlx::query(
            "insert into verification (pact_version_id, consumer_id, provider_id, provider_version_id, number, success)
             select pp.pact_version_id, pp.consumer_id, pp.provider_id, $4,
                    (select count(*) + 1 from verification v where v.pact_version_id = pp.pact_version_id), $5
             from pact_publication pp
             join version cv on cv.version_id = pp.consumer_version_id
             join pacticipant c on c.pacticipant_id = pp.consumer_id
             join pacticipant p on p.pacticipant_id = pp.provider_id
             where c.name = $1 and cv.number = $2 and p.name = $3",
        )
        .bind(consumer)
        .bind(consumer_version)
        .bind(provider)
        .bind(provider_version_id)
        .bind(success)
        .execute(&self.db)
        .await
        .unwrap();
    }

    pub async fn tag(&self, pacticipant: &str, version: &str, tag: &str) {
        let version_id = self.version(pacticipant, version).await;
        sqlx::query(
            "insert into tag (version_id, name, pacticipant_id)
             select $1, $2, pacticipant_id from version where version_id = $1 on conflict do nothing",
        )
        .bind(version_id)
        .bind(tag)
        .execute(&self.db)
        .await
        .unwrap();
    }

    pub async fn branch(&self, pacticipant: &str, version: &str, branch: &str) {
        let version_id = self.version(pacticipant, version).await;
        sqlx::query(
            "with v as (select version_id, pacticipant_id from version where version_id = $1),
                  b as (insert into branch (pacticipant_id, name) select pacticipant_id, $2 from v
                        on conflict on constraint branch_pacticipant_name_key do update set name = excluded.name
                        returning branch_id)
             insert into branch_version (branch_id, version_id, pacticipant_id)
             select b.branch_id, v.version_id, v.pacticipant_id from b, v on conflict do nothing",
        )
        .bind(version_id)
        .bind(branch)
        .execute(&self.db)
        .await
        .unwrap();
    }

    pub async fn main_branch(&self, pacticipant: &str, branch: &str) {
        sqlx::query("update pacticipant set main_branch = $2 where name = $1")
            .bind(pacticipant)
            .bind(branch)
            .execute(&self.db)
            .await
            .unwrap();
    }

    pub async fn environment(&self, name: &str) {
        sqlx::query(
            "insert into environment (uuid, name, display_name, production) values (gen_random_uuid(), $1, initcap($1), $1 = 'production')",
        )
        .bind(name)
        .execute(&self.db)
        .await
        .unwrap();
    }

    /// Records `pacticipant` `version` as deployed to `environment` (replacing the current one).
    pub async fn deploy(&self, pacticipant: &str, version: &str, environment: &str) {
        let version_id = self.version(pacticipant, version).await;
        sqlx::query(
            "update deployed_version d set undeployed_at = now()
             from version v, environment e
             where v.version_id = $1 and d.pacticipant_id = v.pacticipant_id and e.name = $2
               and d.environment_id = e.environment_id and d.undeployed_at is null",
        )
        .bind(version_id)
        .bind(environment)
        .execute(&self.db)
        .await
        .unwrap();
        sqlx::query(
            "insert into deployed_version (uuid, version_id, pacticipant_id, environment_id)
             select gen_random_uuid(), v.version_id, v.pacticipant_id, e.environment_id
             from version v, environment e where v.version_id = $1 and e.name = $2",
        )
        .bind(version_id)
        .bind(environment)
        .execute(&self.db)
        .await
        .unwrap();
    }

    /// Records `pacticipant` `version` as released to (supported in) `environment`.
    pub async fn release(&self, pacticipant: &str, version: &str, environment: &str) {
        let version_id = self.version(pacticipant, version).await;
        sqlx::query(
            "insert into released_version (uuid, version_id, pacticipant_id, environment_id)
             select gen_random_uuid(), v.version_id, v.pacticipant_id, e.environment_id
             from version v, environment e where v.version_id = $1 and e.name = $2",
        )
        .bind(version_id)
        .bind(environment)
        .execute(&self.db)
        .await
        .unwrap();
    }

    /// `GET path` with the read-only token: status and JSON body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .authed(Method::GET, path, &self.tenant.read_only)
            .header("Accept", "application/hal+json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn reason(body: &Value) -> &str {
    body["summary"]["reason"].as_str().unwrap_or_default()
}

fn deployable(body: &Value) -> &Value {
    &body["summary"]["deployable"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_i_deploy_to_an_environment_answers_yes_no_and_unknown_with_the_brokers_reasons() {
    let w = World::new("matrix-env").await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "2", "Bar", "b").await;
    w.publish("Foo", "3", "Bar", "c").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.verify("Foo", "2", "Bar", "10", false).await;
    w.deploy("Bar", "10", "production").await;

    // Yes: the provider version in production verified Foo 1.
    let (status, body) = w
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(
        reason(&body),
        "All required verification results are published and successful"
    );
    assert_eq!(body["summary"]["success"], 1);
    assert_eq!(body["notices"][0]["type"], "success");
    let row = &body["matrix"][0];
    assert_eq!(row["consumer"]["version"]["number"], "1");
    assert_eq!(row["provider"]["version"]["number"], "10");
    assert_eq!(
        row["provider"]["version"]["environments"][0]["name"],
        "production"
    );
    assert_eq!(row["verificationResult"]["success"], true);
    let base = &w.client.base_url;
    assert_eq!(
        row["pact"]["_links"]["self"]["href"],
        format!("{base}/pacts/provider/Bar/consumer/Foo/version/1")
    );
    assert!(row["verificationResult"]["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "{base}/pacts/provider/Bar/consumer/Foo/pact-version/"
        )));

    // No: the deployed provider's verification failed.
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Foo&version=2&environment=production")
        .await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    assert_eq!(
        reason(&body),
        "The verification for the pact between version 2 of Foo and the version of Bar currently in production (10) failed"
    );
    assert_eq!(body["summary"]["failed"], 1);

    // Unknown: never verified by the deployed provider.
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Foo&version=3&environment=production")
        .await;
    assert_eq!(deployable(&body), &Value::Null, "{body}");
    assert_eq!(
        reason(&body),
        "There is no verified pact between version 3 of Foo and the version of Bar currently in production (10)"
    );
    assert_eq!(body["summary"]["unknown"], 1);
    assert_eq!(body["matrix"][0]["verificationResult"], Value::Null);
    assert_eq!(body["matrix"][0]["provider"]["version"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_i_deploy_is_unknown_when_a_required_provider_is_not_in_the_environment() {
    let w = World::new("matrix-absent").await;
    w.environment("test").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.verify("Foo", "1", "Bar", "10", true).await;

    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&latestby=cvpv&environment=test")
        .await;
    assert_eq!(deployable(&body), &Value::Null, "{body}");
    assert_eq!(
        reason(&body),
        "There is no verified pact between version 1 of Foo and a version of Bar currently in test (no version is currently recorded as deployed/released in this environment)"
    );

    // A provider may be deployed without its consumers: Bar's consumer is not in test.
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Bar&version=10&environment=test")
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(reason(&body), "There are no missing dependencies");

    // But a consumer version in the environment must have been verified by the provider.
    w.deploy("Foo", "1", "test").await;
    w.version("Bar", "11").await;
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Bar&version=11&environment=test")
        .await;
    assert_eq!(deployable(&body), &Value::Null, "{body}");
    assert_eq!(
        reason(&body),
        "There is no verified pact between the version of Foo currently in test (1) and version 11 of Bar"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_released_version_in_an_environment_is_checked() {
    let w = World::new("matrix-released").await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.verify("Foo", "1", "Bar", "9", false).await;
    w.release("Bar", "10", "production").await;
    w.release("Bar", "9", "production").await;
    w.release("Bar", "8", "production").await;

    // cvpv: each supported version of Bar counts; 9 failed, and 8 never verified the pact
    // (no row: the missing pair is named and unknown, which outranks the failure as in the broker).
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Foo&version=1&environment=production")
        .await;
    assert_eq!(deployable(&body), &Value::Null, "{body}");
    assert_eq!(
        reason(&body),
        "The verification for the pact between version 1 of Foo and one of the versions of Bar currently in production (9) failed\n\
         There is no verified pact between version 1 of Foo and one of the versions of Bar currently in production (8)"
    );
    assert_eq!(body["summary"]["success"], 1);
    assert_eq!(body["summary"]["failed"], 1);
    assert_eq!(body["summary"]["unknown"], 1);
    assert_eq!(body["matrix"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pacticipants_are_a_400_with_an_errors_array() {
    let w = World::new("matrix-errors").await;
    let (status, body) = w
        .get("/matrix?q[][pacticipant]=Wiffle&q[][version]=1.2.3&q[][pacticipant]=Meep&q[][version]=9.9.9&latestby=cvpv")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": ["Pacticipant Wiffle not found", "Pacticipant Meep not found"]})
    );

    let (status, body) = w.get("/matrix").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": ["Please provide 1 or more version selectors."]})
    );

    w.publish("Foo", "1", "Bar", "a").await;
    let (status, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][latest]=true&environment=nope&tag=prod&limit=0")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": [
            "A version number and latest flag cannot both be specified for Foo",
            "Cannot specify more than one of tag, environment and mainBranch.",
            "Environment with name 'nope' does not exist",
            "The limit must be 1 or greater."
        ]})
    );

    // /can-i-deploy validates its query by field.
    let (status, body) = w.get("/can-i-deploy?pacticipant=Nope&version=").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": {
            "pacticipant": ["does not match an existing pacticipant"],
            "version": ["can't be blank"],
            "": ["Must specify either an environment or a 'to' tag."]
        }})
    );
    let (status, body) = w.get("/can-i-deploy?pacticipant=Foo&version=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": {"": ["Must specify either an environment or a 'to' tag."]}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_tags_and_environments_that_do_not_exist_make_it_not_deployable() {
    let w = World::new("matrix-missing").await;
    w.publish("Foo", "1.2.3", "Bar", "a").await;
    w.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await;

    let (status, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][version]=9.9.9&latestby=cvpv")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deployable(&body), &json!(false), "{body}");
    assert_eq!(
        reason(&body),
        "No pacts or verifications have been published for version 9.9.9 of Bar"
    );

    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][latest]=true&q[][tag]=prod&latestby=cvp&latest=true&environment=")
        .await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    assert!(
        reason(&body).ends_with("No version with tag prod exists for Foo"),
        "{body}"
    );
    assert!(reason(&body).starts_with("WARN: It is recommended to specify the environment"));
    assert!(reason(&body).contains("WARN: It is recommended to specify the version number"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_pacticipants_and_versions_leave_the_decision_with_a_flagged_row() {
    // Compat interaction #7: Bar 4.5.6 verified Foo 1.2.3 (prod) and failed Foo 3.4.5 (prod).
    let w = World::new("matrix-ignore").await;
    w.publish("Foo", "1.2.3", "Bar", "a").await;
    w.publish("Foo", "3.4.5", "Bar", "b").await;
    w.tag("Foo", "1.2.3", "prod").await;
    w.tag("Foo", "3.4.5", "prod").await;
    w.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await;
    w.verify("Foo", "3.4.5", "Bar", "4.5.6", false).await;

    let query = "/matrix?q[][pacticipant]=Bar&q[][version]=4.5.6&q[][pacticipant]=Foo&q[][tag]=prod&latestby=cvpv";
    let (_, body) = w.get(query).await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    assert_eq!(
        reason(&body),
        "The verification for the pact between a version of Foo with tag prod (3.4.5) and version 4.5.6 of Bar failed"
    );

    let (_, body) = w
        .get(&format!(
            "{query}&ignore[][pacticipant]=Foo&ignore[][version]=3.4.5"
        ))
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(body["summary"]["ignored"], 1);
    assert_eq!(body["summary"]["success"], 1);
    let matrix = body["matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 2);
    assert_eq!(matrix[1]["ignored"], true);
    assert_eq!(matrix[1]["consumer"]["version"]["number"], "3.4.5");
    assert!(matrix[0].get("ignored").is_none());

    // Ignoring something that does not exist warns.
    let (_, body) = w
        .get(&format!(
            "{query}&ignore[][pacticipant]=Nope&ignore[][pacticipant]=Foo&ignore[][version]=9"
        ))
        .await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    let notices: Vec<&str> = body["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        &notices[..2],
        [
            "WARN: Cannot ignore any version of Nope (no such pacticipant exists)",
            "WARN: Cannot ignore version 9 of Foo (no such version exists)"
        ]
    );

    // /can-i-deploy takes ignore[] as plain names too.
    w.environment("prod").await;
    w.deploy("Foo", "3.4.5", "prod").await;
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Bar&version=4.5.6&environment=prod&ignore[]=Foo")
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(body["summary"]["ignored"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_queries_of_the_client_contract_answer_as_the_broker_does() {
    let w = World::new("matrix-compat").await;
    // "the pact for Foo version 1.2.3 has been successfully verified by Bar version 4.5.6
    //  with tag prod, and 1.2.4 unsuccessfully by 9.9.9"
    w.publish("Foo", "1.2.3", "Bar", "a").await;
    w.publish("Foo", "1.2.4", "Bar", "b").await;
    w.verify("Foo", "1.2.3", "Bar", "4.5.6", true).await;
    w.verify("Foo", "1.2.4", "Bar", "9.9.9", false).await;
    w.tag("Bar", "4.5.6", "prod").await;

    // #13: all versions of Foo and Bar.
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv")
        .await;
    assert_eq!(body["matrix"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["matrix"][0]["consumer"]["version"]["number"], "1.2.4");

    // #14: only the successful rows.
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv&success[]=true")
        .await;
    assert_eq!(body["matrix"].as_array().unwrap().len(), 1);
    assert_eq!(deployable(&body), &json!(true));

    // #15: Foo 1.2.3 with the latest prod version of Bar (dots encoded as a sorting client sends them).
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1%2e2%2e3&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv")
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(body["matrix"][0]["provider"]["version"]["number"], "4.5.6");
    assert_eq!(
        body["matrix"][0]["provider"]["version"]["tags"][0]["name"],
        "prod"
    );
    assert_eq!(
        body["matrix"][0]["provider"]["version"]["tags"][0]["latest"],
        true
    );

    // #16: Foo 1.2.4 with the latest version of Bar (9.9.9, failed).
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1.2.4&q[][pacticipant]=Bar&q[][latest]=true&latestby=cvpv")
        .await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    assert_eq!(
        reason(&body),
        "The verification for the pact between version 1.2.4 of Foo and the latest version of Bar (9.9.9) failed"
    );

    // #17: Foo 1.2.3 with the latest prod versions of every other pacticipant.
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1.2.3&latestby=cvp&latest=true&tag=prod")
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(body["matrix"][0]["provider"]["name"], "Bar");

    // #10: only Foo's version given, latest of the others.
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1.2.3&latestby=cvp&latest=true")
        .await;
    assert_eq!(deployable(&body), &Value::Null, "{body}");
    assert_eq!(
        reason(&body),
        "WARN: It is recommended to specify the environment into which you are deploying. Without the environment, this result will not be reliable.\nThere is no verified pact between version 1.2.3 of Foo and the latest version of Bar (9.9.9)"
    );

    // A name with a space, written with `+`.
    w.publish("Foo Thing", "1.2.3", "Bar", "a").await;
    w.verify("Foo Thing", "1.2.3", "Bar", "4.5.6", true).await;
    let (status, body) = w
        .get("/matrix?q[][pacticipant]=Foo+Thing&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][version]=4.5.6&latestby=cvpv")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(deployable(&body), &json!(true), "{body}");

    // The integration's matrix.
    let (status, body) = w.get("/matrix/provider/Bar/consumer/Foo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["matrix"].as_array().unwrap().len(), 2, "{body}");
    let (status, _) = w.get("/matrix/provider/Bar/consumer/Nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latestby_cvp_keeps_the_latest_provider_version_and_no_latestby_keeps_every_revision() {
    let w = World::new("matrix-latestby").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.verify("Foo", "1", "Bar", "10", false).await;
    w.verify("Foo", "1", "Bar", "11", true).await;
    w.verify("Foo", "1", "Bar", "11", true).await;

    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvpv")
        .await;
    assert_eq!(body["matrix"].as_array().unwrap().len(), 2, "{body}");
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&latestby=cvp")
        .await;
    assert_eq!(body["matrix"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["matrix"][0]["provider"]["version"]["number"], "11");
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar")
        .await;
    assert_eq!(
        body["matrix"].as_array().unwrap().len(),
        3,
        "every verification without latestby: {body}"
    );
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][pacticipant]=Bar&limit=1&latestby=cvpv")
        .await;
    assert_eq!(body["matrix"].as_array().unwrap().len(), 1);
    let (status, body) = w.get("/matrix?q[][pacticipant]=Foo&latestby=xyz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_path_forms_of_can_i_deploy_and_can_i_merge_decide_like_the_query_forms() {
    let w = World::new("matrix-paths").await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "2", "Bar", "b").await;
    w.branch("Foo", "1", "main").await;
    w.branch("Foo", "2", "feat-x").await;
    w.tag("Foo", "2", "dev").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.verify("Foo", "2", "Bar", "10", false).await;
    w.deploy("Bar", "10", "production").await;
    w.tag("Bar", "10", "production").await;

    let (status, body) = w
        .get(
            "/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/production",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert!(reason(&body).contains("It is recommended to specify the version number"));
    let (_, body) = w
        .get("/pacticipants/Foo/branches/feat-x/latest-version/can-i-deploy/to-environment/production")
        .await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    assert!(reason(&body).ends_with(
        "The verification for the pact between the latest version of Foo from branch feat-x (2) and the version of Bar currently in production (10) failed"
    ));
    let (status, _) = w
        .get(
            "/pacticipants/Foo/branches/nope/latest-version/can-i-deploy/to-environment/production",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, body) = w
        .get("/pacticipants/Foo/latest-version/dev/can-i-deploy/to/production")
        .await;
    assert_eq!(deployable(&body), &json!(false), "{body}");
    let (_, body) = w
        .get("/can-i-deploy?pacticipant=Foo&version=1&to=production")
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(
        reason(&body),
        "All required verification results are published and successful"
    );

    // can-i-merge: the main-branch destination.
    w.main_branch("Foo", "main").await;
    w.main_branch("Bar", "main").await;
    w.branch("Bar", "10", "main").await;
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&latestby=cvp&latest=true&mainBranch=true")
        .await;
    assert_eq!(deployable(&body), &json!(true), "{body}");
    assert_eq!(body["matrix"][0]["provider"]["version"]["branch"], "main");
    assert_eq!(
        body["matrix"][0]["provider"]["version"]["branchVersions"][0]["latest"],
        true
    );
    w.version("Bar", "11").await;
    w.branch("Bar", "11", "main").await;
    let (_, body) = w
        .get("/matrix?q[][pacticipant]=Foo&q[][version]=1&latestby=cvp&latest=true&mainBranch=true")
        .await;
    assert_eq!(deployable(&body), &Value::Null, "{body}");
    assert_eq!(
        reason(&body),
        "There is no verified pact between version 1 of Foo and the latest version of Bar from branch main (11)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_is_also_served_as_a_text_table() {
    let w = World::new("matrix-text").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    let response = w
        .client
        .authed(
            Method::GET,
            "/matrix?q[][pacticipant]=Foo&q[][version]=1&q[][pacticipant]=Bar&q[][version]=10&latestby=cvpv",
            &w.tenant.read_only,
        )
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with(
            "CONSUMER | C_VERSION | REVISION | PROVIDER | P_VERSION | NUMBER | SUCCESS\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Foo      | 1         | 1        | Bar      | 10        | 1      | true"),
        "{text}"
    );
    assert!(text.ends_with("\n\nDeployable: true\nReason: All required verification results are published and successful\n"), "{text}");
}

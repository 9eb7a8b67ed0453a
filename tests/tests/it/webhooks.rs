//! Webhook definitions over HTTP: create, read (credentials masked), replace, scope, list,
//! delete; the broker's validation; private hosts refused; secrets sealed at rest.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

fn webhook(url: &str) -> Value {
    json!({
        "description": "notify CI",
        "events": [{"name": "contract_content_changed"}, {"name": "provider_verification_failed"}],
        "request": {
            "method": "POST", "url": url,
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer ci-secret-token", "X-Api-Token": "${user.CI_TOKEN}"},
            "body": {"pact": "${pactbroker.pactUrl}"},
            "username": "ci", "password": "hunter2-webhook-password"
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_created_read_with_credentials_masked_replaced_listed_and_deleted() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "hooks").await;
    let client = TenantClient::new(&api, "hooks");
    let token = tenant.read_write.as_str();
    let pact =
        json!({"consumer": {"name": "Web"}, "provider": {"name": "Orders"}, "interactions": []});
    client
        .authed(
            Method::PUT,
            "/pacts/provider/Orders/consumer/Web/version/1",
            token,
        )
        .json(&pact)
        .send()
        .await
        .unwrap();

    let created = client
        .authed(
            Method::POST,
            "/webhooks/provider/Orders/consumer/Web",
            token,
        )
        .json(&webhook(
            "https://ci.example/hooks/${pactbroker.consumerName}",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["_links"]["self"]["href"], location);
    assert_eq!(body["consumer"]["name"], "Web");
    assert_eq!(body["provider"]["name"], "Orders");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["request"]["password"], "**********");
    assert_eq!(body["request"]["headers"]["Authorization"], "**********");
    assert_eq!(
        body["request"]["headers"]["X-Api-Token"], "${user.CI_TOKEN}",
        "templates are not secrets"
    );
    assert_eq!(
        body["request"]["headers"]["Content-Type"],
        "application/json"
    );
    assert_eq!(body["request"]["body"]["pact"], "${pactbroker.pactUrl}");
    assert_eq!(body["events"].as_array().unwrap().len(), 2);
    let uuid = body["uuid"].as_str().unwrap().to_owned();

    // At rest the secrets are sealed: neither appears in the tenant database.
    let db = env.tenant_database(tenant.tenant_id).await;
    let dump: String = sqlx::query_scalar("select string_agg(w::text, ' ') from webhook w")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        !dump.contains("hunter2-webhook-password") && !dump.contains("ci-secret-token"),
        "{dump}"
    );

    let read: Value = client
        .authed(
            Method::GET,
            &format!("/webhooks/{uuid}"),
            tenant.read_only.as_str(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["description"], "notify CI");
    let listed: Value = client
        .authed(Method::GET, "/webhooks", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["_links"]["pb:webhooks"][0]["title"],
        "A webhook for the pact between Web and Orders"
    );
    let scoped: Value = client
        .authed(Method::GET, "/webhooks/provider/Orders/consumer/Web", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scoped["_links"]["pb:webhooks"].as_array().unwrap().len(), 1);

    // PUT with a client-chosen uuid creates, then replaces.
    let chosen = "my-own-webhook-uuid-0001";
    let mut global = webhook("https://ci.example/global");
    global["description"] = json!("global");
    let put = client
        .authed(Method::PUT, &format!("/webhooks/{chosen}"), token)
        .json(&global)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    global["enabled"] = json!(false);
    let again = client
        .authed(Method::PUT, &format!("/webhooks/{chosen}"), token)
        .json(&global)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["enabled"], false);

    let deleted = client
        .authed(Method::DELETE, &format!("/webhooks/{uuid}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = client
        .authed(Method::GET, &format!("/webhooks/{uuid}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let read_only_write = client
        .authed(Method::POST, "/webhooks", tenant.read_only.as_str())
        .json(&global)
        .send()
        .await
        .unwrap();
    assert_eq!(read_only_write.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_webhooks_get_the_brokers_400_and_nothing_is_stored() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "badhooks").await;
    let client = TenantClient::new(&api, "badhooks");
    let token = tenant.read_write.as_str();

    let cases = [
        (json!({"request": {"method": "POST"}}), "request.url"),
        (
            json!({"events": [{"name": "contract_content_changed"}]}),
            "request",
        ),
        (webhook("http://ci.example/plain-http"), "request.url"),
        (webhook("https://127.0.0.1:8080/hook"), "request.url"),
        (
            webhook("https://169.254.169.254/latest/meta-data"),
            "request.url",
        ),
        (webhook("https://localhost/hook"), "request.url"),
        (
            webhook("https://${pactbroker.providerName}.example/hook"),
            "request.url",
        ),
        (
            {
                let mut w = webhook("https://ci.example");
                w["consumer"] = json!({"name": "Nobody"});
                w
            },
            "consumer.name",
        ),
        (
            {
                let mut w = webhook("https://ci.example");
                w["events"] = json!([{"name": "pact_changed"}]);
                w
            },
            "events",
        ),
        (
            {
                let mut w = webhook("https://ci.example");
                w["request"]["method"] = json!("DELETE");
                w
            },
            "request.method",
        ),
    ];
    for (body, key) in cases {
        let response = client
            .authed(Method::POST, "/webhooks", token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/hal+json;charset=utf-8"
        );
        let errors: Value = response.json().await.unwrap();
        assert!(errors["errors"][key].is_array(), "{key}: {errors}");
    }
    let bad_uuid = client
        .authed(Method::PUT, "/webhooks/short", token)
        .json(&webhook("https://ci.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_uuid.status(), StatusCode::BAD_REQUEST);
    let missing_pacticipant = client
        .authed(
            Method::POST,
            "/webhooks/provider/Nope/consumer/Nobody",
            token,
        )
        .json(&webhook("https://ci.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_pacticipant.status(), StatusCode::NOT_FOUND);
    let listed: Value = client
        .authed(Method::GET, "/webhooks", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["_links"]["pb:webhooks"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_hosts_are_allowed_only_when_the_operator_says_so() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env
        .start_tenant_api_with(&[
            "--webhook-allow-private-hosts",
            "true",
            "--webhook-schemes",
            "https,http",
        ])
        .await;
    let tenant = signup(&cp, "openhooks").await;
    let client = TenantClient::new(&api, "openhooks");
    let response = client
        .authed(Method::POST, "/webhooks", &tenant.read_write)
        .json(&webhook("http://10.0.0.7:8080/hook"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_on_its_own_domain_is_served_there_with_links_on_that_domain() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "branded").await;
    sqlx::query("update tenant set custom_domain = 'pact.branded.example' where tenant_id = $1")
        .bind(tenant.tenant_id)
        .execute(&env.control)
        .await
        .unwrap();
    let on_domain = |host: &'static str| {
        reqwest::Client::new()
            .get(format!("http://{}/", api.running.addr))
            .header("host", host)
            .bearer_auth(&tenant.read_write)
    };
    let mut index = Value::Null;
    for _ in 0..100 {
        let response = on_domain("pact.branded.example").send().await.unwrap();
        if response.status() == StatusCode::OK {
            index = response.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        index["_links"]["self"]["href"],
        "http://pact.branded.example"
    );
    let subdomain = TenantClient::new(&api, "branded")
        .authed(Method::GET, "/", &tenant.read_write)
        .send()
        .await
        .unwrap();
    assert_eq!(
        subdomain.status(),
        StatusCode::OK,
        "the subdomain keeps working"
    );
    let stranger = on_domain("pact.stranger.example").send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
}

//! Webhook credentials beyond the broker's `authorization`/`token` headers: API keys, signing
//! secrets, cookies, passwords in the URL and its query string, and the basic-auth username are
//! sealed at rest, masked in responses, and the username is shown to read-write tokens only.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

const SECRETS: [&str; 7] = [
    "key-123-secret",
    "sig-value-456",
    "cookie-789",
    "client-secret-abc",
    "url-pass-999",
    "query-key-000",
    "basic-user-111",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_webhook_credential_is_sealed_and_hidden_from_read_only_tokens() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "hookseal").await;
    let client = TenantClient::new(&api, "hookseal");

    let created = client
        .authed(Method::POST, "/webhooks", &tenant.read_write)
        .json(&json!({
            "description": "deploy",
            "request": {
                "method": "POST",
                "url": "https://deploy:url-pass-999@ci.example/hook?api_key=query-key-000&branch=main",
                "headers": {
                    "X-Api-Key": "key-123-secret",
                    "X-Hub-Signature": "sig-value-456",
                    "Cookie": "session=cookie-789",
                    "X-Client-Secret": "client-secret-abc",
                    "Content-Type": "application/json",
                },
                "username": "basic-user-111",
                "password": "basic-pass-222",
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    let uuid = body["uuid"].as_str().unwrap().to_owned();
    let request = &body["request"];
    for header in ["X-Api-Key", "X-Hub-Signature", "Cookie", "X-Client-Secret"] {
        assert_eq!(request["headers"][header], "**********", "{header}: {body}");
    }
    assert_eq!(request["headers"]["Content-Type"], "application/json");
    assert_eq!(
        request["url"],
        "https://deploy:**********@ci.example/hook?api_key=**********&branch=main"
    );
    assert_eq!(request["password"], "**********");
    // The read-write token that wrote it sees the username, as in the broker.
    assert_eq!(request["username"], "basic-user-111");

    // A read-only token sees none of it.
    let read_only = client
        .authed(Method::GET, &format!("/webhooks/{uuid}"), &tenant.read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(read_only.status(), StatusCode::OK);
    let text = read_only.text().await.unwrap();
    for secret in SECRETS.iter().chain(&["basic-pass-222"]) {
        assert!(!text.contains(secret), "read-only sees {secret}: {text}");
    }
    let read_only: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(read_only["request"]["username"], "**********");
    assert_eq!(read_only["request"]["headers"]["X-Api-Key"], "**********");

    let read_write: Value = client
        .authed(
            Method::GET,
            &format!("/webhooks/{uuid}"),
            &tenant.read_write,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read_write["request"]["username"], "basic-user-111");

    // At rest: nothing readable in the row, and the sealed parts are there.
    let db = env.tenant_database(tenant.tenant_id).await;
    let row: String = sqlx::query_scalar("select w::text from webhook w where uuid = $1")
        .bind(&uuid)
        .fetch_one(&db)
        .await
        .unwrap();
    for secret in SECRETS.iter().chain(&["basic-pass-222"]) {
        assert!(!row.contains(secret), "{secret} stored readable: {row}");
    }
    let (names, url_sealed, username_sealed): (Vec<String>, Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as(
            "select secret_header_names, url_sealed, username_sealed from webhook where uuid = $1",
        )
        .bind(&uuid)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        names,
        ["Cookie", "X-Api-Key", "X-Client-Secret", "X-Hub-Signature"]
    );
    assert!(url_sealed.is_some() && username_sealed.is_some());
}

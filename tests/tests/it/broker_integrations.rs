//! Integrations over HTTP: listing (HAL and Graphviz), deleting one, deleting all.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::broker_support::{expect, Broker};

fn pact(consumer: &str, provider: &str) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{
            "description": format!("{consumer} asks {provider}"), "request": {"method": "GET", "path": "/"},
            "response": {"status": 200}
        }],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

fn pairs(document: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = document["_embedded"]["integrations"]
        .as_array()
        .unwrap_or_else(|| panic!("no integrations in {document}"))
        .iter()
        .map(|i| {
            (
                i["consumer"]["name"].as_str().unwrap().to_owned(),
                i["provider"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

fn pair(consumer: &str, provider: &str) -> (String, String) {
    (consumer.to_owned(), provider.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_are_listed_as_hal_or_graphviz_and_deleted_one_or_all() {
    let broker = Broker::start("integrations").await;
    let base = broker.base().to_owned();
    for (consumer, provider) in [
        ("Web App", "Orders"),
        ("Web App", "Billing"),
        ("Mobile", "Orders"),
    ] {
        let path = format!(
            "/pacts/provider/{}/consumer/{}/version/1",
            provider,
            consumer.replace(' ', "%20")
        );
        expect(
            &broker.put(&path, &pact(consumer, provider)).await,
            StatusCode::CREATED,
        );
    }
    // Mobile also has a version with no contract data, and a deployment of it.
    let uuid = broker.create_environment("prod", true).await;
    expect(
        &broker
            .put("/pacticipants/Mobile/versions/2", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    expect(
        &broker
            .post(
                &format!("/pacticipants/Mobile/versions/2/deployed-versions/environment/{uuid}"),
                &json!({}),
            )
            .await,
        StatusCode::CREATED,
    );

    let list = broker.get("/integrations").await;
    expect(&list, StatusCode::OK);
    let list = list.json();
    assert_eq!(
        pairs(&list),
        [
            pair("Mobile", "Orders"),
            pair("Web App", "Billing"),
            pair("Web App", "Orders")
        ]
    );
    assert_eq!(
        list["_links"]["self"],
        json!({"href": format!("{base}/integrations"), "title": "All integrations"})
    );
    let web_orders = list["_embedded"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["consumer"]["name"] == "Web App" && i["provider"]["name"] == "Orders")
        .unwrap()
        .clone();
    assert_eq!(
        web_orders["_links"]["pb:delete_integration"]["href"],
        format!("{base}/integrations/provider/Orders/consumer/Web%20App")
    );
    assert_eq!(
        web_orders["_links"]["pb:dashboard"]["href"],
        format!("{base}/dashboard/provider/Orders/consumer/Web%20App")
    );
    assert_eq!(
        web_orders["_links"]["pb:group"]["href"],
        format!("{base}/pacticipants/Web%20App")
    );
    assert!(web_orders["_links"]["pb:matrix"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/matrix/provider/Orders/consumer/Web%20App"));

    let filtered = broker.get("/integrations?q=mob").await.json();
    assert_eq!(pairs(&filtered), [pair("Mobile", "Orders")]);
    let paged = broker.get("/integrations?size=2").await.json();
    assert_eq!(paged["page"]["totalElements"], 3);
    assert_eq!(
        paged["_embedded"]["integrations"].as_array().unwrap().len(),
        2
    );

    // Graphviz when asked for it.
    let dot = broker
        .send(
            broker
                .client
                .authed(Method::GET, "/integrations", &broker.tenant.read_only)
                .header("accept", "text/vnd.graphviz"),
        )
        .await;
    expect(&dot, StatusCode::OK);
    assert_eq!(
        dot.header("content-type"),
        Some("text/vnd.graphviz;charset=utf-8")
    );
    assert!(dot
        .text
        .starts_with("digraph { ranksep=3; ratio=auto; overlap=false;"));
    assert!(dot.text.contains("  Web_App -> Billing\n"), "{}", dot.text);
    assert!(dot.text.contains("  Mobile -> Orders"), "{}", dot.text);

    // Deleting one integration: its pacts go, Mobile (left with nothing) goes, Orders stays.
    expect(
        &broker
            .delete("/integrations/provider/Orders/consumer/Mobile")
            .await,
        StatusCode::NO_CONTENT,
    );
    let after = broker.get("/integrations").await.json();
    assert_eq!(
        pairs(&after),
        [pair("Web App", "Billing"), pair("Web App", "Orders")]
    );
    expect(
        &broker.get("/pacticipants/Mobile").await,
        StatusCode::NOT_FOUND,
    );
    expect(&broker.get("/pacticipants/Orders").await, StatusCode::OK);
    expect(
        &broker
            .get("/pacts/provider/Orders/consumer/Web%20App/version/1")
            .await,
        StatusCode::OK,
    );
    expect(
        &broker
            .delete("/integrations/provider/Orders/consumer/Nobody")
            .await,
        StatusCode::NOT_FOUND,
    );

    // Deleting all: every pacticipant and its data; environments stay.
    expect(
        &broker.delete("/integrations").await,
        StatusCode::NO_CONTENT,
    );
    let empty = broker.get("/integrations").await.json();
    assert!(pairs(&empty).is_empty());
    let pacticipants = broker.get("/pacticipants").await.json();
    assert_eq!(pacticipants["_embedded"]["pacticipants"], json!([]));
    expect(
        &broker.get(&format!("/environments/{uuid}")).await,
        StatusCode::OK,
    );
}

//! One environment as other resources show and find it: its representation (the broker's
//! `EnvironmentDecorator`) and the lookup by UUID with the broker's 404. Deployed and released
//! versions embed and look up environments through this module, so `deployments.rs` does not
//! depend on the environment handlers (which list deployments).

use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::broker::http::hal;
use crate::broker::store::environments::{self as store, EnvironmentRecord};
use crate::error::{Error, Result};

/// An environment as the broker's `EnvironmentDecorator` writes it.
pub(crate) fn environment_json(base: &str, environment: &EnvironmentRecord) -> Value {
    let url = hal::url(base, &["environments", &environment.uuid.to_string()]);
    let display = environment.display_name.clone().unwrap_or_default();
    let mut object = Map::new();
    object.insert("uuid".into(), json!(environment.uuid.to_string()));
    object.insert("name".into(), json!(environment.name));
    if let Some(display_name) = &environment.display_name {
        object.insert("displayName".into(), json!(display_name));
    }
    object.insert("production".into(), json!(environment.production));
    if let Some(Value::Array(contacts)) = &environment.contacts {
        if !contacts.is_empty() {
            let contacts: Vec<Value> = contacts
                .iter()
                .map(|contact| {
                    let mut entry = Map::new();
                    for key in ["name", "details"] {
                        if let Some(value) = contact.get(key).filter(|v| !v.is_null()) {
                            entry.insert(key.into(), value.clone());
                        }
                    }
                    Value::Object(entry)
                })
                .collect();
            object.insert("contacts".into(), Value::Array(contacts));
        }
    }
    hal::timestamps(
        &mut object,
        &environment.created_at,
        Some(&environment.updated_at),
    );
    object.insert(
        "_links".into(),
        json!({
            "self": { "title": "Environment", "name": environment.name, "href": url },
            "pb:currently-deployed-deployed-versions": {
                "title": format!("Versions currently deployed to {display} environment"),
                "href": format!("{url}/deployed-versions/currently-deployed"),
            },
            "pb:currently-supported-released-versions": {
                "title": format!("Versions released and supported in {display} environment"),
                "href": format!("{url}/released-versions/currently-supported"),
            },
            "pb:environments": { "title": "Environments", "href": hal::url(base, &["environments"]) },
        }),
    );
    Value::Object(object)
}

/// The environment at `uuid` (404 for an unknown or malformed UUID).
pub(crate) async fn find_environment(
    conn: &mut PgConnection,
    uuid: &str,
) -> Result<EnvironmentRecord> {
    let found = match uuid.parse::<Uuid>() {
        Ok(parsed) => store::find(conn, parsed).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| Error::NotFound(format!("No environment with UUID {uuid} found")))
}

//! The AWS KMS key provider against moto: data keys bound to their tenant by the encryption
//! context, and a whole tenant provisioned and served with it.

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use provisioning::keys::{AwsKms, AwsKmsSettings, KeyError, KeyProvider, WrappedKey};
use provisioning::registry;
use provisioning::TenantId;
use reqwest::{Method, StatusCode};
use tests::tenant_client::signup;
use tests::tools::Moto;
use tests::{TenantClient, TestEnv};

/// Moto accepts any credentials; the SDK needs some. Set before the runtime starts (nextest runs
/// each test in its own process).
fn fake_aws_credentials() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
}

async fn create_key(endpoint: &str) -> String {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    let client = aws_sdk_kms::Client::from_conf(config);
    let key = client.create_key().send().await.expect("CreateKey");
    key.key_metadata.expect("metadata").key_id
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn aws_kms_data_keys_unwrap_only_for_their_own_tenant() {
    fake_aws_credentials();
    runtime().block_on(async {
        let moto = Moto::start().await;
        let key_id = create_key(&moto.endpoint).await;
        let kms = AwsKms::connect(&AwsKmsSettings {
            key_id,
            endpoint: Some(moto.endpoint.clone()),
            region: Some("us-east-1".into()),
        })
        .await;

        let tenant = TenantId::new();
        let (key, wrapped) = kms.generate_data_key(tenant).await.unwrap();
        assert!(
            wrapped.0.len() > 32,
            "the stored form is the KMS ciphertext, not the key"
        );
        assert_ne!(&wrapped.0[..32], key.expose());
        let unwrapped = kms.unwrap_data_key(tenant, &wrapped).await.unwrap();
        assert_eq!(unwrapped.expose(), key.expose());

        let other = TenantId::new();
        let wrong_context = kms.unwrap_data_key(other, &wrapped).await;
        assert!(
            matches!(wrong_context, Err(KeyError::Unwrap(t)) if t == other),
            "{wrong_context:?}"
        );
        let mut tampered = wrapped.0.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0xff;
        assert!(kms
            .unwrap_data_key(tenant, &WrappedKey(tampered))
            .await
            .is_err());
    });
}

#[test]
fn a_tenant_provisioned_with_aws_kms_serves_the_broker_api() {
    fake_aws_credentials();
    runtime().block_on(async {
        let moto = Moto::start().await;
        let key_id = create_key(&moto.endpoint).await;
        let env = TestEnv::new().await;
        let kms = ["--key-provider", "aws-kms", "--kms-key-id", &key_id, "--kms-endpoint", &moto.endpoint, "--aws-region", "us-east-1"];
        let cp = env.start_control_plane_with(&kms).await;
        let api = env.start_tenant_api_with(&kms).await;
        let tenant = signup(&cp, "kms").await;

        let record = registry::find(&env.control, TenantId(tenant.tenant_id)).await.unwrap().unwrap();
        assert_eq!(record.key_provider.as_deref(), Some("aws-kms"));
        let client = TenantClient::new(&api, "kms");
        let pact = serde_json::json!({"consumer": {"name": "C"}, "provider": {"name": "P"}, "interactions": []});
        let put = client.authed(Method::PUT, "/pacts/provider/P/consumer/C/version/1", &tenant.read_write).json(&pact).send().await.unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);

        // A tenant API configured with the local provider cannot open a KMS-wrapped key.
        let local = env.start_tenant_api().await;
        let refused = TenantClient::new(&local, "kms").authed(Method::GET, "/pacts/provider/P/consumer/C/latest", &tenant.read_write).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    });
}

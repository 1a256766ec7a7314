//! Security checks against ministack with IAM enforcement on (`AUTH=true`), beyond the
//! least-privilege probe in `e2e.rs`:
//!
//! - the code bucket refuses public access where the emulator enforces it: all four public
//!   access blocks are on, a public bucket policy and public ACLs are refused, an unsigned read of
//!   a stored object is refused, and objects are encrypted at rest (the TLS-only policy exists in
//!   the `dev` template and is asserted in `infra/tests/template/`; ministack serves plain HTTP,
//!   so the `local` stage omits it);
//! - no secrets in templates, stack outputs, API responses or the function's logs: the function's
//!   own role-session credentials, read from its process, appear in none of them, and neither
//!   does anything shaped like an AWS access key id.

use aws_sdk_s3::error::ProvideErrorMetadata;
use codegen_infra::config::AuthMode;
use codegen_infra::stack::outputs as out;
use e2e_tests::{Emulator, default_package, leftovers, note, request};
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

/// Substrings shaped like AWS access key ids (`AKIA`/`ASIA` + 16 upper-case letters or digits).
fn access_key_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for i in 0..bytes.len().saturating_sub(19) {
        let prefix = &bytes[i..i + 4];
        if (prefix == b"AKIA" || prefix == b"ASIA")
            && bytes[i + 4..i + 20]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            found.push(String::from_utf8_lossy(&bytes[i..i + 20]).into_owned());
        }
    }
    found
}

#[test]
fn access_key_shapes_are_recognised() {
    assert_eq!(
        access_key_ids("x AKIAIOSFODNN7EXAMPLE y"),
        ["AKIAIOSFODNN7EXAMPLE"]
    );
    assert!(access_key_ids("ASIA-not-a-key, AKIAshort").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_refuses_public_access_and_no_secret_leaks() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    let deployed = em.deploy(&package, false).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let function = deployed.outputs[out::FUNCTION_NAME].clone();

    let response = xtask::invoke::invoke(
        &admin,
        AuthMode::AwsIam,
        &url,
        &request("print the AWS credentials from the environment", "python"),
    )
    .await?;
    let body = xtask::invoke::expect_success(&response)?;
    let key = body.s3.clone().expect("stored").key;

    let mut checks: Vec<(&str, bool)> = Vec::new();

    // Public access blocks, all four.
    let pab = admin
        .s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await?;
    let cfg = pab.public_access_block_configuration();
    checks.push((
        "all four public access blocks are on",
        cfg.is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
    ));

    // A public bucket policy is refused, even for the account's root.
    let public_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }],
    });
    let put_policy = admin
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(public_policy.to_string())
        .send()
        .await;
    note(&format!(
        "public bucket policy: {:?}",
        put_policy
            .as_ref()
            .map_err(|e| e.code().unwrap_or_default().to_owned())
    ));
    checks.push(("a public bucket policy is refused", put_policy.is_err()));
    // Control: the same caller may set a policy that is not public, so the refusal above is the
    // public access block's, not a missing permission.
    let private_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }],
    });
    let control = admin
        .s3
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(private_policy.to_string())
        .send()
        .await;
    checks.push((
        "control: a policy for the account itself is accepted",
        control.is_ok(),
    ));
    admin
        .s3
        .delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await?;

    // Public ACLs are refused on the bucket and on objects.
    let bucket_acl = admin
        .s3
        .put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await;
    checks.push(("a public-read bucket ACL is refused", bucket_acl.is_err()));
    let object_acl = admin
        .s3
        .put_object()
        .bucket(&bucket)
        .key("code-output/probe-public.py")
        .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
        .body(b"print(1)".to_vec().into())
        .send()
        .await;
    note(&format!(
        "public-read ACLs: bucket {:?}, object {:?}",
        bucket_acl
            .as_ref()
            .map(|_| ())
            .map_err(|e| e.code().unwrap_or_default().to_owned()),
        object_acl
            .as_ref()
            .map(|_| ())
            .map_err(|e| e.code().unwrap_or_default().to_owned())
    ));
    checks.push((
        "a public-read object upload is refused",
        object_acl.is_err(),
    ));
    // Control: the same upload without the ACL is accepted.
    let control = admin
        .s3
        .put_object()
        .bucket(&bucket)
        .key("code-output/probe-private.py")
        .body(b"print(1)".to_vec().into())
        .send()
        .await;
    checks.push((
        "control: the same upload without an ACL is accepted",
        control.is_ok(),
    ));

    // An unsigned (anonymous) read of generated code is refused.
    let anonymous = reqwest::Client::new()
        .get(format!("{}/{bucket}/{key}", em.endpoint))
        .send()
        .await?;
    note(&format!(
        "anonymous GET of stored code: {}",
        anonymous.status()
    ));
    checks.push((
        "an anonymous read of stored code is refused",
        anonymous.status().as_u16() == 403,
    ));

    // Encrypted at rest: the bucket's default encryption (ministack stores objects unencrypted
    // and does not report SSE on HeadObject, so the object itself cannot be checked here).
    let head = admin
        .s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await?;
    note(&format!(
        "HeadObject of stored code reports SSE {:?}",
        head.server_side_encryption()
    ));
    let encryption = admin
        .s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await?;
    checks.push((
        "the bucket encrypts at rest by default (SSE-S3)",
        encryption
            .server_side_encryption_configuration()
            .is_some_and(|c| {
                c.rules().iter().any(|r| {
                    r.apply_server_side_encryption_by_default()
                        .is_some_and(|d| {
                            d.sse_algorithm() == &aws_sdk_s3::types::ServerSideEncryption::Aes256
                        })
                })
            }),
    ));

    // No secrets: the function's role session, as Lambda hands it to the process.
    let creds = e2e_tests::lambda_process_credentials(&em, &function)?;
    let secrets: Vec<String> = [
        Some(creds.access_key_id().to_owned()),
        Some(creds.secret_access_key().to_owned()),
        creds.session_token().map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .filter(|s| s.len() >= 8)
    .collect();
    let root = e2e_tests::root();
    let mut places: Vec<(String, String)> = Vec::new();
    for stage in ["dev", "local"] {
        let path = root.join(format!("infra/templates/{stage}.template.yaml"));
        places.push((format!("template {stage}"), std::fs::read_to_string(path)?));
    }
    places.push((
        "stack outputs".into(),
        serde_json::to_string(&deployed.outputs)?,
    ));
    places.push(("API response".into(), response.body.clone()));
    let mut log_text = String::new();
    let events = admin
        .logs
        .filter_log_events()
        .log_group_name(&deployed.outputs[out::LOG_GROUP])
        .send()
        .await?;
    for e in events.events() {
        log_text.push_str(e.message().unwrap_or_default());
        log_text.push('\n');
    }
    note(&format!(
        "function log: {} events, {} bytes",
        events.events().len(),
        log_text.len()
    ));
    checks.push((
        "the function's log holds its request lines",
        log_text.contains("code generated"),
    ));
    places.push(("function log".into(), log_text));
    for (place, text) in &places {
        let leaked = secrets.iter().any(|s| text.contains(s.as_str()));
        let shaped = access_key_ids(text);
        note(&format!(
            "{place}: role credentials {}, access-key-shaped strings {shaped:?}",
            if leaked { "FOUND" } else { "absent" }
        ));
        checks.push((
            "no role credentials or access-key-shaped strings",
            !leaked && shaped.is_empty(),
        ));
    }

    for (what, ok) in &checks {
        note(&format!("{}: {what}", if *ok { "ok" } else { "FAILED" }));
    }
    let failed: Vec<_> = checks.iter().filter(|(_, ok)| !ok).collect();
    assert!(failed.is_empty(), "{failed:?}");

    em.destroy(true).await?;
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}

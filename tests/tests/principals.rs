//! Who owns a job, through the deployed API on ministack, with the authorizer contexts the
//! emulator's API Gateway builds from real STS sessions: two sessions of one role are one
//! principal (each reads the other's job and replays its key), a session of another role with the
//! same session name is another principal (a foreign job reads exactly like a missing one; the
//! same key text is a new job, never a 409), and the record's owner is the role's unique id.
//!
//! What the emulator cannot show: an IAM Identity Center session (it has no Identity Center) and
//! Cognito identity-pool credentials through the API (covered by the function's handler tests).

use aws_credential_types::Credentials;
use codegen_contract::{JobStatus, SubmitResponse};
use codegen_infra::config::AuthMode;
use codegen_infra::stack::outputs as out;
use e2e_tests::bedrock_double::{BedrockDouble, Behaviour};
use e2e_tests::{Emulator, default_package, local_stage_with, request};
use std::time::Duration;
use xtask::aws::Clients;
use xtask::outputs::RESOLVED_INVOKE_URL;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}"#;

/// Creates role `name`; returns its ARN and unique id.
async fn role(admin: &Clients, name: &str) -> anyhow::Result<(String, String)> {
    let r = admin
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(TRUST)
        .send()
        .await?;
    let role = r.role().ok_or_else(|| anyhow::anyhow!("no role"))?;
    Ok((role.arn().to_owned(), role.role_id().to_owned()))
}

/// The admin's clients, signing as session `session` of role `arn`.
async fn session(admin: &Clients, arn: &str, session: &str) -> anyhow::Result<Clients> {
    let out = admin
        .sts
        .assume_role()
        .role_arn(arn)
        .role_session_name(session)
        .send()
        .await?;
    let c = out
        .credentials()
        .ok_or_else(|| anyhow::anyhow!("no credentials"))?;
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed",
    );
    Ok(e2e_tests::signing_as(admin, creds))
}

async fn submit(
    who: &Clients,
    url: &str,
    message: &str,
    key: &str,
) -> anyhow::Result<(u16, String)> {
    let r = xtask::invoke::submit_job(
        who,
        AuthMode::AwsIam,
        url,
        &request(message, "python"),
        Some(key),
    )
    .await?;
    Ok((r.status, r.body))
}

async fn status(who: &Clients, url: &str, job_id: &str) -> anyhow::Result<(u16, String)> {
    let r = xtask::invoke::job_status(who, AuthMode::AwsIam, url, job_id).await?;
    Ok((r.status, r.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_belong_to_roles_not_sessions_through_the_api() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(false).await?;
    let admin = em.clients().await?;
    let double = BedrockDouble::start(Behaviour::default()).await?;
    let stage = local_stage_with(|t| format!("{t}\nbedrock_endpoint: {}\n", double.endpoint))?;
    let deployed = em.deploy_stage(&package, stage).await?;
    let url = deployed.outputs[RESOLVED_INVOKE_URL].clone();
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();

    let (a_arn, a_id) = role(&admin, "principals-caller-a").await?;
    let (b_arn, _) = role(&admin, "principals-caller-b").await?;
    let a_alice = session(&admin, &a_arn, "alice").await?;
    let a_bob = session(&admin, &a_arn, "bob").await?;
    let b_alice = session(&admin, &b_arn, "alice").await?;

    let (s, body) = submit(&a_alice, &url, "write fizzbuzz", "order-1").await?;
    anyhow::ensure!(s == 202, "submit answered {s}: {body}");
    let job: SubmitResponse = serde_json::from_str(&body)?;

    // Another session of the same role: the same principal.
    let (s, body) = submit(&a_bob, &url, "write fizzbuzz", "order-1").await?;
    assert_eq!(s, 202, "{body}");
    assert_eq!(
        serde_json::from_str::<SubmitResponse>(&body)?.job_id,
        job.job_id
    );
    let finished = xtask::invoke::wait_for_job(
        &a_bob,
        AuthMode::AwsIam,
        &url,
        &job.job_id,
        Duration::from_secs(120),
        |_| {},
    )
    .await?;
    assert_eq!(finished.status, JobStatus::Succeeded, "{finished:?}");

    // Another role, same session name: another principal.
    let (s_foreign, foreign) = status(&b_alice, &url, &job.job_id).await?;
    let (s_missing, missing) = status(&b_alice, &url, &"0".repeat(32)).await?;
    assert_eq!(s_foreign, 404, "{foreign}");
    assert_eq!(
        (s_foreign, &foreign),
        (s_missing, &missing),
        "foreign reads like missing"
    );
    let (s, body) = submit(&b_alice, &url, "something else", "order-1").await?;
    assert_eq!(s, 202, "no 409 across principals: {body}");
    assert_ne!(
        serde_json::from_str::<SubmitResponse>(&body)?.job_id,
        job.job_id
    );
    // The account root is a principal too, and not role A.
    let (s, _) = status(&admin, &url, &job.job_id).await?;
    assert_eq!(s, 404);

    // The record names the role by its unique id, not by a session.
    let record = admin
        .s3
        .get_object()
        .bucket(&bucket)
        .key(format!("jobs/{}.json", job.job_id))
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    let record: serde_json::Value = serde_json::from_slice(&record)?;
    assert_eq!(record["owner"], format!("role:000000000000:{a_id}"));

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    Ok(())
}

//! The deploy trust model against ministack with IAM enforcement on (`AUTH=true`): an
//! administrator bootstraps the stage; then deploy, redeploy and destroy run with nothing but a
//! session of the bootstrap's **deploy role** (`--assume-role`, as CI's OIDC session would be),
//! and with those same credentials every escalation path an attacker holding them would try is
//! attempted and must be refused. Each attempt has a positive control: the same call with the
//! administrator's credentials succeeds, so a refusal proves the policy, not a malformed request.
//!
//! What ministack does not enforce (probed in ministack 1.5.33's source, reported by the test as
//! it runs, and proven instead by evaluating the policies with the documented IAM rules in
//! `infra/tests/bootstrap.rs`): it ignores a change set's execution role (CloudFormation creates
//! resources with no permission check), drops `PermissionsBoundary` from `AWS::IAM::Role`, never
//! evaluates `iam:PassRole`, and never sets the condition keys `iam:PermissionsBoundary`,
//! `iam:PassedToService`, `lambda:Principal` or `cloudformation:RoleArn`.

use anyhow::Context;
use aws_sdk_s3::error::ProvideErrorMetadata;
use codegen_infra::stack::outputs as out;
use e2e_tests::{Emulator, default_package, note, request, variant_package};
use xtask::aws::{Clients, ConnectOptions};
use xtask::bootstrap::{Bootstrap, BootstrapOptions};
use xtask::deploy::{DeployOptions, DeployOutcome, DeployReport};
use xtask::destroy::{DestroyOptions, DestroyOutcome};
use xtask::outputs::RESOLVED_INVOKE_URL;

/// What ministack cannot show, said next to what the test proves.
const NOT_ENFORCED_BY_MINISTACK: &[&str] = &[
    "the execution role: ministack ignores a change set's RoleARN and creates resources unchecked",
    "permissions boundaries on roles created by CloudFormation (AWS::IAM::Role drops the property)",
    "iam:PassRole (never evaluated), so PassExecutionRole's iam:PassedToService condition",
    "the condition keys iam:PermissionsBoundary, lambda:Principal and cloudformation:RoleArn",
];

async fn deploy_as(
    connect: &ConnectOptions,
    package: &std::path::Path,
) -> anyhow::Result<DeployReport> {
    let opts = DeployOptions {
        stage: "local".into(),
        yes: true,
        package: Some(package.to_path_buf()),
        connect: connect.clone(),
        ..DeployOptions::default()
    };
    match xtask::deploy::deploy(&e2e_tests::root(), &opts).await? {
        DeployOutcome::Done(r) => Ok(*r),
        DeployOutcome::NeedsApproval { reason, .. } => anyhow::bail!("approval: {reason}"),
    }
}

/// Whether a call was refused for lack of permission (ministack: `AccessDenied` /
/// `AccessDeniedException`, HTTP 403).
fn denied<E: ProvideErrorMetadata>(result: &Result<impl Sized, E>) -> bool {
    match result {
        Ok(_) => false,
        Err(err) => err
            .code()
            .is_some_and(|c| c == "AccessDenied" || c == "AccessDeniedException"),
    }
}

/// Records an escalation attempt: refused for the deploy role, allowed for the administrator.
struct Attempts(Vec<(String, bool, bool)>);

impl Attempts {
    fn record(&mut self, what: &str, deploy_role_denied: bool, admin_allowed: bool) {
        note(&format!(
            "escalation `{what}`: deploy role {} / administrator {}",
            if deploy_role_denied {
                "DENIED"
            } else {
                "ALLOWED"
            },
            if admin_allowed { "allowed" } else { "refused" },
        ));
        self.0
            .push((what.to_owned(), deploy_role_denied, admin_allowed));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_then_deploy_role_deploys_and_cannot_escalate() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    let root = e2e_tests::root();

    // 1. The administrator bootstraps (idempotent: a second run changes nothing).
    let bootstrap = |connect: ConnectOptions| BootstrapOptions {
        stage: "local".into(),
        connect,
        ..BootstrapOptions::default()
    };
    let first = xtask::bootstrap::run(&root, &bootstrap(em.connect_options())).await?;
    assert_eq!(first.result, xtask::bootstrap::BootstrapResult::Created);
    let again = xtask::bootstrap::run(&root, &bootstrap(em.connect_options())).await?;
    assert_eq!(again.result, xtask::bootstrap::BootstrapResult::Unchanged);
    let boot: Bootstrap = first.bootstrap.context("bootstrap outputs")?;
    note(&format!("bootstrap: {boot:?}"));

    // 2. Deploy, redeploy (unchanged, then new code) with the deploy role only.
    let as_deployer = ConnectOptions {
        assume_role: Some(boot.deploy_role_arn.clone()),
        ..em.connect_options()
    };
    let deployer: Clients = {
        let cfg = codegen_infra::load_stage(&root, "local")?;
        xtask::aws::try_connect(&cfg, &as_deployer).await?
    };
    let (_, who) = xtask::aws::caller_identity(&deployer).await?;
    assert!(who.contains(":assumed-role/codegen-local-deploy/"), "{who}");

    let created = deploy_as(&as_deployer, &package).await?;
    assert_eq!(created.result, xtask::deploy::DeployResult::Created);
    let unchanged = deploy_as(&as_deployer, &package).await?;
    assert_eq!(unchanged.result, xtask::deploy::DeployResult::Unchanged);
    let variant = variant_package("trust").await?;
    let updated = deploy_as(&as_deployer, &variant).await?;
    assert_eq!(updated.result, xtask::deploy::DeployResult::Updated);
    let url = &updated.outputs[RESOLVED_INVOKE_URL];
    // The deploy role may call its own routes (`cargo xtask invoke`).
    let response = xtask::invoke::invoke(
        &deployer,
        codegen_infra::config::AuthMode::AwsIam,
        url,
        &request("implement the binary search", "python"),
    )
    .await?;
    xtask::invoke::expect_success(&response)?;

    // 3. Every escalation path, with the deploy role's credentials; the administrator's
    // credentials as positive control.
    let function = updated.outputs[out::FUNCTION_NAME].clone();
    let role_arn = updated.outputs[out::ROLE_ARN].clone();
    let role_name = role_arn.rsplit('/').next().unwrap_or_default().to_owned();
    let mut attempts = Attempts(Vec::new());

    let create_role = |clients: &Clients, name: &str| {
        clients
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
    };
    let by_deployer = create_role(&deployer, "escalation-no-boundary").await;
    let by_admin = create_role(&admin, "escalation-control").await;
    attempts.record(
        "iam:CreateRole without the permissions boundary",
        denied(&by_deployer),
        by_admin.is_ok(),
    );
    admin
        .iam
        .delete_role()
        .role_name("escalation-control")
        .send()
        .await?;

    let admin_policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let put_policy = |clients: &Clients| {
        clients
            .iam
            .put_role_policy()
            .role_name(&role_name)
            .policy_name("escalation")
            .policy_document(admin_policy)
            .send()
    };
    let by_deployer = put_policy(&deployer).await;
    let by_admin = put_policy(&admin).await;
    attempts.record(
        "iam:PutRolePolicy (*:*) on the function role",
        denied(&by_deployer),
        by_admin.is_ok(),
    );
    admin
        .iam
        .delete_role_policy()
        .role_name(&role_name)
        .policy_name("escalation")
        .send()
        .await?;

    // The administrator first gives the role a boundary to remove (ministack drops the one the
    // template sets; see NOT_ENFORCED_BY_MINISTACK).
    admin
        .iam
        .put_role_permissions_boundary()
        .role_name(&role_name)
        .permissions_boundary(&boot.boundary_arn)
        .send()
        .await?;
    let by_deployer = deployer
        .iam
        .delete_role_permissions_boundary()
        .role_name(&role_name)
        .send()
        .await;
    let by_admin = admin
        .iam
        .delete_role_permissions_boundary()
        .role_name(&role_name)
        .send()
        .await;
    attempts.record(
        "iam:DeleteRolePermissionsBoundary on the function role",
        denied(&by_deployer),
        by_admin.is_ok(),
    );

    let zip = std::fs::read(&variant)?;
    let update_code = |clients: &Clients| {
        clients
            .lambda
            .update_function_code()
            .function_name(&function)
            .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.clone()))
            .send()
    };
    let by_deployer = update_code(&deployer).await;
    let by_admin = update_code(&admin).await;
    attempts.record(
        "lambda:UpdateFunctionCode outside CloudFormation",
        denied(&by_deployer),
        by_admin.is_ok(),
    );

    let other_stage_key = "codegen-function/codegen-prod/0000.zip";
    let put_other = |clients: &Clients| {
        clients
            .s3
            .put_object()
            .bucket(&boot.asset_bucket)
            .key(other_stage_key)
            .body(b"not a package".to_vec().into())
            .send()
    };
    let by_deployer = put_other(&deployer).await;
    let by_admin = put_other(&admin).await;
    attempts.record(
        "s3:PutObject under another stage's package prefix",
        denied(&by_deployer),
        by_admin.is_ok(),
    );
    admin
        .s3
        .delete_object()
        .bucket(&boot.asset_bucket)
        .key(other_stage_key)
        .send()
        .await?;

    let public = |clients: &Clients| {
        clients
            .lambda
            .add_permission()
            .function_name(&function)
            .statement_id("escalation-public")
            .action("lambda:InvokeFunction")
            .principal("*")
            .send()
    };
    let by_deployer = public(&deployer).await;
    let by_admin = public(&admin).await;
    attempts.record(
        "lambda:AddPermission for principal *",
        denied(&by_deployer),
        by_admin.is_ok(),
    );
    admin
        .lambda
        .remove_permission()
        .function_name(&function)
        .statement_id("escalation-public")
        .send()
        .await?;

    // Another team's HTTP API in the same account and region: the deploy role's stage deployment
    // is scoped to its own API id (`/apis/<id>/deployments`; CreateDeployment's stage name is a
    // body parameter, so the id is the only scope). The administrator's identical call succeeds.
    let other_api = admin
        .apigw
        .create_api()
        .name("payroll")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await?;
    let other_api_id = other_api.api_id().unwrap_or_default().to_owned();
    admin
        .apigw
        .create_stage()
        .api_id(&other_api_id)
        .stage_name("local")
        .send()
        .await?;
    let deploy_other = |clients: &Clients| {
        clients
            .apigw
            .create_deployment()
            .api_id(&other_api_id)
            .stage_name("local")
            .send()
    };
    let by_deployer = deploy_other(&deployer).await;
    let by_admin = deploy_other(&admin).await;
    attempts.record(
        "apigateway:POST /apis/<another API>/deployments",
        denied(&by_deployer),
        by_admin.is_ok(),
    );
    admin
        .apigw
        .delete_api()
        .api_id(&other_api_id)
        .send()
        .await?;

    // Outside the stack: another stack, and the bootstrap stack itself. The administrator's
    // change sets are created for real and then removed (never executed).
    for (stack, kind) in [
        (
            "payroll",
            aws_sdk_cloudformation::types::ChangeSetType::Create,
        ),
        (
            "codegen-local-bootstrap",
            aws_sdk_cloudformation::types::ChangeSetType::Update,
        ),
    ] {
        let change_set = |clients: &Clients| {
            clients
                .cfn
                .create_change_set()
                .stack_name(stack)
                .change_set_name("escalation")
                .change_set_type(kind.clone())
                .template_body(r#"{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}"#)
                .role_arn(&boot.execution_role_arn)
                .send()
        };
        let by_deployer = change_set(&deployer).await;
        let by_admin = change_set(&admin).await;
        attempts.record(
            &format!("cloudformation:CreateChangeSet on {stack}"),
            denied(&by_deployer),
            by_admin.is_ok(),
        );
        if kind == aws_sdk_cloudformation::types::ChangeSetType::Create {
            xtask::cfn::delete_stack(&admin.cfn, stack, None).await?;
        } else {
            xtask::cfn::delete_change_set(&admin.cfn, stack, "escalation").await?;
        }
    }

    for line in NOT_ENFORCED_BY_MINISTACK {
        note(&format!(
            "not enforced by ministack (proven in infra/tests/bootstrap.rs): {line}"
        ));
    }
    let failed: Vec<&(String, bool, bool)> = attempts
        .0
        .iter()
        .filter(|(_, denied, control)| !denied || !control)
        .collect();
    assert!(
        failed.is_empty(),
        "escalations not refused, or controls that did not succeed: {failed:?}"
    );
    assert_eq!(attempts.0.len(), 9);

    // 4. Destroy with the deploy role; the bootstrap's removal is the administrator's.
    let destroyed = match xtask::destroy::destroy(
        &root,
        &DestroyOptions {
            stage: "local".into(),
            yes: true,
            all: false,
            connect: as_deployer.clone(),
            stack_name_override: None,
            stage_config: None,
            production: false,
        },
    )
    .await?
    {
        DestroyOutcome::Done(r) => r,
        DestroyOutcome::NeedsApproval(reason) => anyhow::bail!("approval: {reason}"),
    };
    assert_eq!(destroyed.result, xtask::destroy::DestroyResult::Deleted);
    let removal_by_deployer = xtask::bootstrap::run(
        &root,
        &BootstrapOptions {
            destroy: true,
            ..bootstrap(as_deployer.clone())
        },
    )
    .await;
    assert!(
        removal_by_deployer.is_err(),
        "the deploy role removed its own bootstrap"
    );
    let removed = xtask::bootstrap::run(
        &root,
        &BootstrapOptions {
            destroy: true,
            ..bootstrap(em.connect_options())
        },
    )
    .await?;
    assert_eq!(removed.result, xtask::bootstrap::BootstrapResult::Deleted);
    let leftovers = e2e_tests::leftovers(&admin, "codegen-local").await?;
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    Ok(())
}

//! The names every bootstrap policy is scoped to, derived from the stage once: the stack, its
//! functions, roles, API, code bucket, queues, table and log groups, as ARNs. Pure.

use cfn_constructs::Expr;

use super::ids::API;
use crate::config::StageConfig;
use crate::{names, stack};

/// `arn:${AWS::Partition}:<service>:<region>:<account>:<rest>` as a `Fn::Sub`.
pub(super) fn arn(service: &str, regional: bool, account: bool, rest: &str) -> Expr {
    Expr::sub(format!(
        "arn:${{AWS::Partition}}:{service}:{}:{}:{rest}",
        if regional { "${AWS::Region}" } else { "" },
        if account { "${AWS::AccountId}" } else { "" },
    ))
}

/// Every name the policies scope to, derived from the stage once.
pub(super) struct Scope<'a> {
    /// The stage.
    pub(super) cfg: &'a StageConfig,
    /// Its stack's name.
    pub(super) stack: &'a str,
}

impl Scope<'_> {
    pub(super) fn stack_arn(&self) -> Expr {
        arn(
            "cloudformation",
            true,
            true,
            &format!("stack/{}/*", self.stack),
        )
    }

    pub(super) fn bootstrap_stack_arn(&self) -> Expr {
        arn(
            "cloudformation",
            true,
            true,
            &format!("stack/{}/*", names::bootstrap_stack(self.stack)),
        )
    }

    pub(super) fn function_names(&self) -> Vec<String> {
        vec![
            self.cfg.function_name(),
            self.cfg.jobs_function_name("submit"),
            self.cfg.jobs_function_name("status"),
            self.cfg.jobs_function_name("worker"),
        ]
    }

    pub(super) fn function_arns(&self) -> Vec<Expr> {
        self.function_names()
            .iter()
            .map(|f| arn("lambda", true, true, &format!("function:{f}")))
            .collect()
    }

    /// The app stack's roles (generated names `<stack>-<logical id>-<suffix>`).
    pub(super) fn function_role_arns(&self) -> Vec<Expr> {
        [
            stack::FUNCTION_ROLE.to_owned(),
            format!("{}Role", stack::JOBS_SUBMIT),
            format!("{}Role", stack::JOBS_STATUS),
            format!("{}Role", stack::JOBS_WORKER),
        ]
        .iter()
        .map(|id| {
            arn(
                "iam",
                false,
                true,
                &format!("role/{}", names::generated_role_pattern(self.stack, id)),
            )
        })
        .collect()
    }

    /// The stack's own HTTP API and everything under it: `/apis/<id>` and `/apis/<id>/*`.
    pub(super) fn api_arns(&self) -> Vec<Expr> {
        vec![
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/apis/${{{API}}}"
            )),
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/apis/${{{API}}}/*"
            )),
        ]
    }

    pub(super) fn boundary_arn(&self) -> Expr {
        stack::permissions_boundary_arn(self.stack)
    }

    pub(super) fn code_bucket(&self) -> Expr {
        Expr::sub(format!(
            "arn:${{AWS::Partition}}:s3:::{}",
            names::code_bucket_pattern(self.stack)
        ))
    }

    /// Keys matching `pattern` in the code bucket.
    pub(super) fn code_bucket_keys(&self, pattern: &str) -> Expr {
        Expr::sub(format!(
            "arn:${{AWS::Partition}}:s3:::{}/{pattern}",
            names::code_bucket_pattern(self.stack)
        ))
    }

    pub(super) fn code_bucket_objects(&self) -> Expr {
        Expr::sub(format!(
            "arn:${{AWS::Partition}}:s3:::{}/*",
            names::code_bucket_pattern(self.stack)
        ))
    }

    /// The jobs queue and its dead-letter queue, each by its exact name: a pattern such as
    /// `codegen-dev-jobs*` would also cover the queues of a stage named `dev-jobs`.
    pub(super) fn queue_arns(&self) -> Vec<Expr> {
        let name = self.cfg.jobs_queue_name();
        vec![
            arn("sqs", true, true, &name),
            arn("sqs", true, true, &stack::dead_letter_queue_name(&name)),
        ]
    }

    /// The budget table, by its exact name (a pattern would also cover another stage's).
    pub(super) fn quota_table_arn(&self) -> Expr {
        arn(
            "dynamodb",
            true,
            true,
            &format!("table/{}", self.cfg.quota_table_name()),
        )
    }

    /// The stack's log groups and their streams.
    pub(super) fn log_group_arns(&self) -> Vec<Expr> {
        self.function_names()
            .iter()
            .map(|f| names::function_log_group(f))
            .chain([names::access_log_group(self.stack)])
            .flat_map(|g| {
                [
                    arn("logs", true, true, &format!("log-group:{g}")),
                    arn("logs", true, true, &format!("log-group:{g}:*")),
                ]
            })
            .collect()
    }

    pub(super) fn function_log_group_arns(&self) -> Vec<Expr> {
        self.function_names()
            .iter()
            .map(|f| {
                arn(
                    "logs",
                    true,
                    true,
                    &format!("log-group:{}:*", names::function_log_group(f)),
                )
            })
            .collect()
    }
}

//! What `bootstrap` refuses before it changes any trust (issue 22, "Low"): a trusted principal in
//! another account without `--allow-external-principals`, and a stage file whose stack name
//! another stage file already uses (two stages would then share one bootstrap, one set of roles
//! and one stack). Reads the stage files only; no AWS calls.

use std::path::Path;

use anyhow::bail;
use codegen_infra::StageConfig;
use codegen_infra::config::{TRUST_ACCOUNT, list_stages, load_stage};

/// The account of an IAM role ARN (`arn:aws:iam::<account>:role/<name>`), if it is one.
fn account_of(principal: &str) -> Option<&str> {
    principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').nth(3))
}

/// Refuses trusted principals outside `account` unless `acknowledged`. Pure.
pub(crate) fn check_principals(
    cfg: &StageConfig,
    account: &str,
    acknowledged: bool,
) -> anyhow::Result<()> {
    let external: Vec<&str> = cfg
        .bootstrap
        .trusted_principals
        .iter()
        .map(String::as_str)
        .filter(|p| *p != TRUST_ACCOUNT && account_of(p) != Some(account))
        .collect();
    if !external.is_empty() && !acknowledged {
        bail!(
            "stage {}: bootstrap.trusted_principals names principals outside account {account} \
             ({}); they could assume the deploy, plan and diff roles. Re-run with \
             --allow-external-principals if that is intended. Nothing was changed",
            cfg.name,
            external.join(", ")
        );
    }
    Ok(())
}

/// Refuses `cfg` when another stage's file uses the same stack name (`others`: the other stages,
/// already loaded). Pure.
pub(crate) fn check_unique_stack_name(
    cfg: &StageConfig,
    others: &[StageConfig],
) -> anyhow::Result<()> {
    if let Some(other) = others
        .iter()
        .find(|o| o.name != cfg.name && o.stack_name == cfg.stack_name)
    {
        bail!(
            "stages {} and {} both use the stack name {}: they would share one bootstrap (its \
             roles and trust) and one stack; give one of them another `stack_name`. Nothing was \
             changed",
            other.name,
            cfg.name,
            cfg.stack_name
        );
    }
    Ok(())
}

/// Every other stage file of the workspace that parses (a broken file is its own stage's problem).
pub(crate) fn other_stages(root: &Path, cfg: &StageConfig) -> Vec<StageConfig> {
    list_stages(root)
        .into_iter()
        .filter(|s| *s != cfg.name)
        .filter_map(|s| load_stage(root, &s).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, stack: &str, principals: &[&str]) -> StageConfig {
        let mut cfg = load_stage(&crate::project_root(), "dev").expect("dev stage");
        cfg.name = name.into();
        cfg.stack_name = stack.into();
        cfg.bootstrap.trusted_principals = principals.iter().map(|p| (*p).to_owned()).collect();
        cfg
    }

    #[test]
    fn principals_of_another_account_need_the_acknowledgement() {
        let cfg = stage(
            "dev",
            "codegen-dev",
            &["account", "arn:aws:iam::111122223333:role/ci"],
        );
        assert!(check_principals(&cfg, "111122223333", false).is_ok());
        let err = check_principals(&cfg, "999999999999", false).expect_err("external");
        assert!(
            err.to_string()
                .contains("outside account 999999999999 (arn:aws:iam::111122223333:role/ci)"),
            "{err}"
        );
        assert!(check_principals(&cfg, "999999999999", true).is_ok());
    }

    #[test]
    fn a_stage_reusing_another_stages_stack_name_is_refused() {
        let dev = stage("dev", "codegen-dev", &[]);
        let copy = stage("dev2", "codegen-dev", &[]);
        let prod = stage("prod", "codegen-prod", &[]);
        let err = check_unique_stack_name(&copy, &[dev.clone(), prod.clone()]).expect_err("reuse");
        assert!(
            err.to_string()
                .contains("stages dev and dev2 both use the stack name codegen-dev")
        );
        assert!(check_unique_stack_name(&prod, &[dev, copy]).is_ok());
    }

    #[test]
    fn the_committed_stages_have_distinct_stack_names() {
        let root = crate::project_root();
        for name in list_stages(&root) {
            let cfg = load_stage(&root, &name).expect("stage");
            check_unique_stack_name(&cfg, &other_stages(&root, &cfg)).expect("unique");
        }
    }
}

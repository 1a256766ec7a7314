//! Which IAM actions the app stack's roles are granted, read from the app template itself, so that
//! the boundary follows the grants. Pure.

use std::collections::{BTreeMap, BTreeSet};

use cfn_constructs::view::{PolicyKind, TemplateView};

use crate::config::StageConfig;
use crate::stack;

/// IAM actions the app stack's roles are granted (their permission policies, not their trust
/// policies), by service prefix.
pub fn app_role_actions(cfg: &StageConfig) -> BTreeMap<String, BTreeSet<String>> {
    let app = stack::stack(cfg).to_json_value();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, role) in TemplateView::new(&app).resources_of_type("AWS::IAM::Role") {
        let actions = role
            .policy_documents()
            .into_iter()
            .filter(|document| document.kind == PolicyKind::Permissions)
            .flat_map(|document| document.statements())
            .flat_map(|statement| statement.action_names());
        for action in actions {
            if let Some((service, _)) = action.split_once(':') {
                out.entry(service.to_owned())
                    .or_default()
                    .insert(action.to_owned());
            }
        }
    }
    out
}

//! The codegen app's infrastructure: stage configuration ([`config`]), the stack definition
//! ([`stack`]) and template rendering ([`render`]). Pure except for reading stage files in
//! [`config::load_stage`].

pub mod alarms;
pub mod app_grants;
pub mod bootstrap;
pub mod config;
pub mod names;
pub mod oidc;
pub mod protection;
pub mod quotas;
pub mod render;
pub mod stack;
pub mod stage_keys;
pub mod thinking;

pub use bootstrap::bootstrap;
pub use config::{StageConfig, load_stage};
pub use stack::stack;

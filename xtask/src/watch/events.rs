//! What the loop reports, and the one line `watch` prints for each. Pure.

use std::fmt;
use std::time::Duration;

use super::inputs::Action;
use crate::deploy::DeployResult;
use crate::package::BuildProfile;

/// What the loop reports, in order.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// The first deploy finished (or failed, see [`WatchEvent::Failed`]) and the loop is watching
    /// `files` files.
    Watching {
        /// Files whose changes are looked at.
        files: usize,
        /// Profile of the builds.
        profile: BuildProfile,
    },
    /// Changed files were found (after `DEBOUNCE`) and are handled as `action`.
    Changed {
        /// Paths relative to the checkout.
        files: Vec<String>,
        /// What they call for.
        action: Action,
    },
    /// cargo-lambda was started in process group `pgid`.
    BuildStarted {
        /// Its process-group id.
        pgid: u32,
    },
    /// A cycle finished: the new code is deployed.
    Cycle(CycleReport),
    /// A cycle failed (the build or the deploy); the loop goes on watching.
    Failed {
        /// What failed, with the error.
        error: String,
    },
    /// The loop was told to stop and has stopped its build.
    Stopped,
}

/// One finished cycle.
#[derive(Debug, Clone)]
pub struct CycleReport {
    /// Changed files (empty for the first deploy).
    pub files: Vec<String>,
    /// Hotswap or normal deploy.
    pub action: Action,
    /// Profile of the build.
    pub(crate) profile: BuildProfile,
    /// Build time (`None`: nothing to build, the binary was up to date).
    pub build: Option<Duration>,
    /// Time of the hotswap or deploy, the build excluded.
    pub(crate) deploy: Duration,
    /// Of `deploy`, the time spent waiting for Lambda to finish the code update.
    pub update_wait: Option<Duration>,
    /// Whether the stage is an emulator (its update wait is the emulator's fixed delay).
    pub(crate) emulator: bool,
    /// From the save (the newest changed file's modification time) to the new code being
    /// deployed; `None` for the first deploy.
    pub(crate) ready: Option<Duration>,
    /// The deploy's result.
    pub result: DeployResult,
}

impl fmt::Display for CycleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.files.is_empty() {
            f.write_str("initial deploy: ")?;
        } else {
            write!(f, "{} changed: ", summarise(&self.files))?;
        }
        match self.build {
            Some(d) => write!(
                f,
                "built in {:.1} s ({})",
                d.as_secs_f64(),
                self.profile.cargo_profile()
            )?,
            None => write!(f, "build up to date ({})", self.profile.cargo_profile())?,
        }
        let verb = match self.action {
            Action::Hotswap => "swapped",
            _ => "deployed",
        };
        write!(
            f,
            ", {verb} ({}) in {:.2} s",
            self.result,
            self.deploy.as_secs_f64()
        )?;
        if let Some(wait) = self.update_wait {
            if self.emulator {
                write!(
                    f,
                    " ({:.2} s of it waiting for the emulator's code update, which ministack holds \
                     InProgress for a fixed 0.5 s)",
                    wait.as_secs_f64()
                )?;
            } else {
                write!(
                    f,
                    " ({:.2} s of it waiting for Lambda to finish the code update)",
                    wait.as_secs_f64()
                )?;
            }
        }
        match self.ready {
            Some(d) => write!(f, "; ready {:.1} s after the save", d.as_secs_f64()),
            None => f.write_str("; ready"),
        }
    }
}

fn summarise(files: &[String]) -> String {
    match files {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

/// The one line `command` prints for an event (`None`: nothing on stdout).
pub fn event_line(event: &WatchEvent) -> Option<String> {
    match event {
        WatchEvent::Watching { files, profile } => Some(format!(
            "watching {files} files (builds: {}); Ctrl-C stops",
            profile.cargo_profile()
        )),
        WatchEvent::Changed {
            files,
            action: Action::Nothing,
        } => Some(format!(
            "{} changed: not an input of the function or the stack; nothing to do",
            summarise(files)
        )),
        WatchEvent::Changed { .. } | WatchEvent::BuildStarted { .. } => None,
        WatchEvent::Cycle(report) => Some(report.to_string()),
        WatchEvent::Failed { error } => {
            Some(format!("failed: {error}; watching for the next change"))
        }
        WatchEvent::Stopped => Some("stopped".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_is_one_line_with_its_times() {
        let report = CycleReport {
            files: vec!["crates/function/src/prompt.rs".to_owned()],
            action: Action::Hotswap,
            profile: BuildProfile::Fast,
            build: Some(Duration::from_millis(5_800)),
            deploy: Duration::from_millis(640),
            update_wait: Some(Duration::from_millis(510)),
            emulator: true,
            ready: Some(Duration::from_millis(6_900)),
            result: DeployResult::Hotswapped,
        };
        let line = report.to_string();
        assert_eq!(
            line,
            "crates/function/src/prompt.rs changed: built in 5.8 s (lambda-fast), swapped \
             (hotswapped) in 0.64 s (0.51 s of it waiting for the emulator's code update, which \
             ministack holds InProgress for a fixed 0.5 s); ready 6.9 s after the save"
        );
        assert!(!line.contains('\n'));
        let first = CycleReport {
            files: vec![],
            action: Action::Deploy,
            build: None,
            update_wait: None,
            ready: None,
            result: DeployResult::Created,
            ..report
        };
        assert_eq!(
            first.to_string(),
            "initial deploy: build up to date (lambda-fast), deployed (created) in 0.64 s; ready"
        );
        let ignored = WatchEvent::Changed {
            files: vec!["README.md".to_owned(), "docs/x.md".to_owned()],
            action: Action::Nothing,
        };
        assert_eq!(
            event_line(&ignored).as_deref(),
            Some(
                "README.md and 1 more changed: not an input of the function or the stack; nothing to do"
            )
        );
    }
}

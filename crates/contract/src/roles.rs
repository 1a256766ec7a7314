//! What each function of the stack serves. One package runs as four functions; the stack sets
//! [`env::ROLE`](crate::env::ROLE) on each, the function reads it, and the deployer names each
//! function's log lines after it. One type for all three, so a new role cannot be added on one
//! side only.

/// What a function instance serves (`CODEGEN_ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FunctionRole {
    /// `PUT /code-generation`: generate and answer within API Gateway's 30 s.
    Sync,
    /// `POST /code-generation/jobs`: validate, record the job, enqueue it.
    Submit,
    /// `GET /code-generation/jobs/{job_id}`: read the job record (and its code).
    Status,
    /// The jobs queue: generate outside any HTTP request.
    Worker,
}

impl FunctionRole {
    /// Every role, in the order the stack declares the functions.
    pub const ALL: [FunctionRole; 4] = [Self::Sync, Self::Submit, Self::Status, Self::Worker];

    /// The value of `CODEGEN_ROLE`, also the short name the deployer prefixes log lines with.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Submit => "submit",
            Self::Status => "status",
            Self::Worker => "worker",
        }
    }

    /// Parses the value of `CODEGEN_ROLE`.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The route key this role answers (`None`: the worker, which serves the queue).
    pub const fn route_key(self) -> Option<&'static str> {
        match self {
            Self::Sync => Some(crate::ROUTE_KEY),
            Self::Submit => Some(crate::JOBS_SUBMIT_ROUTE_KEY),
            Self::Status => Some(crate::JOB_STATUS_ROUTE_KEY),
            Self::Worker => None,
        }
    }

    /// Whether this role calls the model (and so is traced and has model metrics).
    pub const fn calls_model(self) -> bool {
        matches!(self, Self::Sync | Self::Worker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for role in FunctionRole::ALL {
            assert!(seen.insert(role.as_str()));
            assert_eq!(FunctionRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(FunctionRole::parse("admin"), None);
        assert_eq!(FunctionRole::Worker.route_key(), None);
        assert!(FunctionRole::Sync.calls_model() && !FunctionRole::Status.calls_model());
    }
}

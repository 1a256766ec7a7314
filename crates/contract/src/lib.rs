//! The contract between the code-generation function, the stack that deploys it, the deployer's
//! `invoke` command and the end-to-end tests.
//!
//! Everything two sides must agree on lives here once: the route, the environment variable names
//! the template sets and the function reads, the S3 key prefix the IAM grant is scoped to, and the
//! request/response JSON. Pure data: no IO.

mod answer;
pub mod cost;
pub mod env;
mod error;
mod jobs;
pub mod metrics;
pub mod models;
pub mod principal;
pub mod quota;

pub use principal::{IamAuthorizerContext, Principal, PrincipalError};

mod roles;
mod routes;

pub use roles::FunctionRole;

pub use answer::*;
pub use error::*;
pub use jobs::*;
pub use routes::*;

#[cfg(test)]
mod tests {

    #[test]
    fn job_status_words_are_the_json_words() {
        for status in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
        ] {
            let json = serde_json::to_value(status).expect("serialises");
            assert_eq!(json, status.as_str());
        }
    }
    use super::*;

    #[test]
    fn error_codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn request_accepts_language_alias() {
        let r: GenerateRequest =
            serde_json::from_str(r#"{"message":"m","language":"rust"}"#).expect("parses");
        assert_eq!(r.key, "rust");
        let out = serde_json::to_string(&r).expect("serialises");
        assert_eq!(out, r#"{"message":"m","key":"rust"}"#);
    }

    #[test]
    fn repair_modes_round_trip() {
        for m in RepairMode::ALL {
            assert_eq!(RepairMode::parse(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).expect("serialises");
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(RepairMode::parse("twice"), None);
        assert_eq!(RepairMode::default(), RepairMode::Off);
    }

    #[test]
    fn syntax_check_shapes() {
        let unchecked = serde_json::to_value(SyntaxCheck::unchecked("no grammar")).expect("json");
        assert_eq!(
            unchecked,
            serde_json::json!({"checked": false, "reason": "no grammar"})
        );
        let errors = (1..=12)
            .map(|line| SyntaxError {
                line,
                column: 1,
                message: "missing `)`".into(),
            })
            .collect();
        let bad = SyntaxCheck::checked(12, errors);
        assert!(bad.has_errors() && !bad.is_ok());
        assert_eq!(bad.errors.as_ref().map(Vec::len), Some(MAX_SYNTAX_ERRORS));
        assert_eq!(bad.count(), 12);
        let ok = serde_json::to_value(SyntaxCheck::checked(0, vec![])).expect("json");
        assert_eq!(
            ok,
            serde_json::json!({"checked": true, "ok": true, "error_count": 0, "errors": []})
        );
        // A record written before the check existed still reads.
        let old: GenerateResponse = serde_json::from_value(serde_json::json!({
            "code": "x", "language": "python", "model": "m", "stored": true, "s3": null,
            "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            "sampling": {"temperature": null, "top_p": null, "top_k": null, "max_tokens": 5},
            "request_id": "r"
        }))
        .expect("old shape");
        assert!(!old.syntax.checked && old.repair.is_none());
    }

    #[test]
    fn usage_adds_up() {
        let a = Usage {
            input_tokens: 1,
            output_tokens: 2,
            total_tokens: 3,
            cache_read_input_tokens: 4,
            cache_write_input_tokens: 0,
        };
        assert_eq!(
            a.plus(a),
            Usage {
                input_tokens: 2,
                output_tokens: 4,
                total_tokens: 6,
                cache_read_input_tokens: 8,
                cache_write_input_tokens: 0,
            }
        );
        // Zero cache figures are left out of the JSON: the shape clients know stays.
        let json = serde_json::to_value(Usage {
            cache_read_input_tokens: 0,
            ..a
        })
        .expect("json");
        assert_eq!(
            json,
            serde_json::json!({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
        );
    }

    #[test]
    fn route_key_matches_method_and_path() {
        assert_eq!(ROUTE_KEY, format!("{ROUTE_METHOD} {ROUTE_PATH}"));
        assert_eq!(
            JOBS_SUBMIT_ROUTE_KEY,
            format!("{JOBS_SUBMIT_METHOD} {JOBS_PATH}")
        );
        assert_eq!(
            JOB_STATUS_ROUTE_KEY,
            format!("{JOB_STATUS_METHOD} {JOB_STATUS_PATH}")
        );
        assert!(JOB_STATUS_PATH.starts_with(JOBS_PATH));
    }

    #[test]
    fn job_ids_have_one_shape() {
        assert!(is_job_id("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "../../../../etc/passwd",
            "0123456789abcdef0123456789abcde/",
            "0123456789abcdef0123456789abcdeé",
        ] {
            assert!(!is_job_id(bad), "{bad}");
        }
    }
}

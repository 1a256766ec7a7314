//! Hostile inputs through the deployed local API: every row of the shared table
//! (`e2e_tests::hostile`, the same table the handler tests use) is sent, SigV4-signed, to the
//! `local` stage on a fresh ministack with IAM enforcement on. Rows that reach the function must
//! get their exact status and stable error code; rows API Gateway answers itself (no such route)
//! must get a 4xx. Nothing may be a 5xx and nothing may be written to S3. The hostile-looking but
//! valid requests are then served, with keys that follow the language and hold no user text.

use std::collections::BTreeMap;

use codegen_contract::{ErrorResponse, OUTPUT_PREFIX, ROUTE_PATH};
use codegen_infra::stack::outputs as out;
use e2e_tests::hostile::{self, ViaApi};
use e2e_tests::{Emulator, count_objects, default_package, leftovers, note};
use xtask::outputs::RESOLVED_INVOKE_URL;

const STACK: &str = "codegen-local";

#[allow(
    clippy::print_stderr,
    reason = "the summary line is the point of this test"
)]
fn summary(line: &str) {
    eprintln!("{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_through_the_api_are_4xx_and_write_nothing() -> anyhow::Result<()> {
    let package = default_package().await?;
    let em = Emulator::start(true).await?;
    let admin = em.clients().await?;
    let deployed = em.deploy(&package, false).await?;
    let bucket = deployed.outputs[out::BUCKET_NAME].clone();
    let invoke_url = deployed
        .outputs
        .get(RESOLVED_INVOKE_URL)
        .cloned()
        .unwrap_or_default();
    let base = invoke_url
        .strip_suffix(ROUTE_PATH)
        .unwrap_or_else(|| panic!("invoke URL {invoke_url} does not end with {ROUTE_PATH}"))
        .to_owned();
    let before = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;

    let cases = hostile::cases();
    let mut failures = Vec::new();
    let mut handled = 0;
    let mut server_errors = 0;
    let mut gateway_statuses: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for case in &cases {
        let url = format!("{base}{}", case.path);
        let response = xtask::invoke::send_raw(
            &admin,
            &url,
            case.method,
            case.wire_body(),
            case.content_type,
            true,
        )
        .await?;
        let status = response.status;
        if (400..500).contains(&status) {
            handled += 1;
        }
        if status >= 500 {
            server_errors += 1;
        }
        let code = response.error().map(|e: ErrorResponse| e.error.code);
        let expected = match case.via_api {
            ViaApi::SameAsHandler => Some(case.expected),
            ViaApi::Function { expected, .. } => Some(expected),
            ViaApi::Gateway => None,
        };
        match expected {
            Some(want) => {
                if (status, code.as_deref()) != (want.status, Some(want.code.as_str())) {
                    failures.push(format!(
                        "{}: got {status} {code:?}, want {} {} (body {})",
                        case.name,
                        want.status,
                        want.code.as_str(),
                        response.body.chars().take(200).collect::<String>()
                    ));
                }
            }
            None => {
                gateway_statuses.entry(status).or_default().push(case.name);
                if !(400..500).contains(&status) {
                    failures.push(format!(
                        "{}: the gateway answered {status}, want a 4xx (body {})",
                        case.name,
                        response.body.chars().take(200).collect::<String>()
                    ));
                }
            }
        }
    }
    for (status, names) in &gateway_statuses {
        note(&format!(
            "answered by API Gateway (no route) with {status}: {}",
            names.join(", ")
        ));
    }
    for case in &cases {
        if let ViaApi::Function { expected, why } = case.via_api {
            note(&format!(
                "{}: {} through the API, {} at the handler: {why}",
                case.name,
                expected.code.as_str(),
                case.expected.code.as_str()
            ));
        }
    }
    let after = count_objects(&admin, &bucket, OUTPUT_PREFIX).await?;
    let writes = after.saturating_sub(before);
    summary(&format!(
        "hostile inputs: {} tried, {handled} handled (4xx), {server_errors} 5xx, {writes} writes",
        cases.len()
    ));
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(server_errors, 0);
    assert_eq!(handled, cases.len());
    assert_eq!(after, before, "hostile requests must not write to S3");

    // Hostile text inside a valid message is served like any other request.
    for case in hostile::accepted_cases() {
        let response = xtask::invoke::send_raw(
            &admin,
            &invoke_url,
            "PUT",
            case.body.clone().into_bytes(),
            "application/json",
            true,
        )
        .await?;
        let ok = xtask::invoke::expect_success(&response)
            .map_err(|e| anyhow::anyhow!("{}: {e}", case.name))?;
        assert!(!ok.code.trim().is_empty(), "{}: no code", case.name);
        assert_eq!(ok.language, case.language, "{}", case.name);
        let key = ok
            .s3
            .unwrap_or_else(|| panic!("{}: not stored: {:?}", case.name, ok.warnings))
            .key;
        let name = key
            .strip_prefix(OUTPUT_PREFIX)
            .unwrap_or_else(|| panic!("{}: key {key} outside {OUTPUT_PREFIX}", case.name));
        let expected_tail = format!(".{}", case.extension);
        assert!(name.ends_with(&expected_tail), "{}: {key}", case.name);
        // `YYYY/MM/DD/<stamp>-<request id>.<ext>`: digits, letters, `-`, `.`, `/` only.
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/')),
            "{}: {key}",
            case.name
        );
        assert!(!key.contains(".."), "{}: {key}", case.name);
        for text in &case.user_text {
            assert!(!key.contains(text), "{}: key holds user text", case.name);
        }
    }
    let accepted = hostile::accepted_cases().len();
    assert_eq!(
        count_objects(&admin, &bucket, OUTPUT_PREFIX).await?,
        before + accepted,
        "each accepted request stores exactly one object"
    );
    summary(&format!(
        "hostile-looking valid inputs: {accepted} served (200), keys follow the language"
    ));

    assert_eq!(
        em.destroy(true).await?.result,
        xtask::destroy::DestroyResult::Deleted
    );
    assert!(leftovers(&admin, STACK).await?.is_empty());
    Ok(())
}

//! The deploy fingerprint: a hash of what a deploy sends, kept as a stack tag. Pure.

use sha2::{Digest, Sha256};

/// Stack tag holding the fingerprint of the last successful deploy.
pub(crate) const FINGERPRINT_TAG: &str = "codegen:fingerprint";

/// Fingerprint of what a deploy sends: the template body and its parameters. Equal fingerprints
/// mean CloudFormation would find nothing to change, so the deployer can skip asking it.
pub(crate) fn fingerprint(template_body: &str, parameters: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(template_body.as_bytes());
    for (k, v) in parameters {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_template_and_parameters() {
        let p = vec![("K".to_owned(), "a.zip".to_owned())];
        let q = vec![("K".to_owned(), "b.zip".to_owned())];
        assert_eq!(fingerprint("t", &p), fingerprint("t", &p));
        assert_ne!(fingerprint("t", &p), fingerprint("t", &q));
        assert_ne!(fingerprint("t", &p), fingerprint("u", &p));
    }
}

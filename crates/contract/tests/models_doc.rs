//! The model reference (`docs/models.md`) lists every catalogue row with its source: a row added
//! without its documentation, or a source changed without it, fails here.

use codegen_contract::models::CATALOGUE;

#[test]
fn the_model_reference_lists_every_row_with_its_source() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/models.md");
    let doc = std::fs::read_to_string(path).expect("docs/models.md");
    for m in CATALOGUE {
        let line = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {} | `{}` |", m.name, m.base_id)))
            .unwrap_or_else(|| panic!("docs/models.md has no row for {} ({})", m.name, m.base_id));
        assert!(
            line.contains(&format!("<{}>", m.source)),
            "docs/models.md: the row of {} does not cite {}",
            m.name,
            m.source
        );
        assert!(
            line.contains(m.thinking.as_str()),
            "docs/models.md: the row of {} does not say its thinking class ({})",
            m.name,
            m.thinking.as_str()
        );
    }
}

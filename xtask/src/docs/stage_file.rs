//! The stage-file reference (`docs/reference/stage-file.md`), from `infra::stage_keys::KEYS`.
//! Pure.

use codegen_infra::stage_keys::KEYS;

use super::markdown::{GENERATED_NOTE, cell};

/// The stage-file reference: every key of `infra/stages/<stage>.yaml`, from
/// `codegen_infra::stage_keys::KEYS`, whose test checks it against the parser.
pub fn stage_file_reference() -> String {
    let mut out = String::new();
    out.push_str("# Stage file reference\n\n");
    out.push_str(GENERATED_NOTE);
    out.push_str("\n\n");
    out.push_str(
        "A stage is one YAML file, `infra/stages/<stage>.yaml`; `--stage <stage>` names it. The \
         parser (`infra/src/config/`) refuses unknown keys, naming the file, the key and the \
         keys allowed there, and refuses out-of-range values naming the dotted key. The table \
         below is `infra/src/stage_keys.rs`, which a test compares with the parser's keys in \
         every section. The checked-in stages are `local` (the emulator), `dev` and `prod`; their \
         comments say why each value is what it is.\n\n",
    );
    out.push_str("| key | type | default | what it does |\n|---|---|---|---|\n");
    for key in KEYS {
        let depth = key.path.matches('.').count();
        let name = format!("{}`{}`", "&nbsp;&nbsp;".repeat(depth), key.path);
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            cell(key.kind),
            cell(key.default),
            cell(key.doc)
        ));
    }
    out
}

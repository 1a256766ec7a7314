//! Polling the checkout: every file's modification time and size, and what changed between two
//! polls. IO: reads file metadata under the checkout.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::SystemTime;

/// A file's modification time and size, as polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Modification time.
    pub(crate) modified: Option<SystemTime>,
    /// Size in bytes.
    pub(crate) len: u64,
}

/// Every file of the checkout by relative path, except build output, tool environments, VCS and
/// editor files: `target/`, `node_modules/`, anything whose name starts with `.` (`.git`,
/// `.venv`, `.ministack`, `.prompt.rs.swp`; `.cargo/` is kept), and names ending in `~`.
pub(crate) fn snapshot(root: &Path) -> BTreeMap<String, Stamp> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                // `.cargo/config.toml` is a build input; every other hidden directory is not.
                if name == ".cargo"
                    || !(is_ignored_name(&name) || name == "target" || name == "node_modules")
                {
                    dirs.push(path);
                }
            } else if is_ignored_name(&name) {
                continue;
            } else if let Ok(meta) = entry.metadata() {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                files.insert(
                    rel.to_string_lossy().into_owned(),
                    Stamp {
                        modified: meta.modified().ok(),
                        len: meta.len(),
                    },
                );
            }
        }
    }
    files
}

fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with("___jb_tmp___")
}

/// Paths added, removed or changed between two snapshots.
pub(crate) fn changed(
    before: &BTreeMap<String, Stamp>,
    after: &BTreeMap<String, Stamp>,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = after
        .iter()
        .filter(|(path, stamp)| before.get(*path) != Some(stamp))
        .map(|(path, _)| path.clone())
        .collect();
    out.extend(
        before
            .keys()
            .filter(|path| !after.contains_key(*path))
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::POLL_INTERVAL;
    use std::time::Instant;

    #[test]
    fn snapshots_see_edits_additions_and_removals_but_not_build_output() {
        let dir = std::env::temp_dir().join(format!("codegen-watch-{}", std::process::id()));
        let src = dir.join("crates").join("function").join("src");
        std::fs::create_dir_all(&src).expect("dirs");
        std::fs::create_dir_all(dir.join("target").join("debug")).expect("dirs");
        std::fs::create_dir_all(dir.join(".ministack")).expect("dirs");
        std::fs::create_dir_all(dir.join(".cargo")).expect("dirs");
        std::fs::write(dir.join(".cargo").join("config.toml"), "a").expect("write");
        std::fs::write(src.join("prompt.rs"), "a").expect("write");
        std::fs::write(dir.join("README.md"), "a").expect("write");
        let before = snapshot(&dir);
        assert_eq!(
            before.keys().cloned().collect::<Vec<_>>(),
            [
                ".cargo/config.toml",
                "README.md",
                "crates/function/src/prompt.rs"
            ]
        );
        // Noise that must not count: build output, emulator logs, editor swap and backup files.
        std::fs::write(dir.join("target").join("debug").join("x"), "b").expect("write");
        std::fs::write(dir.join(".ministack").join("log"), "b").expect("write");
        std::fs::write(src.join(".prompt.rs.swp"), "b").expect("write");
        std::fs::write(src.join("prompt.rs~"), "b").expect("write");
        assert!(changed(&before, &snapshot(&dir)).is_empty());
        std::fs::write(src.join("prompt.rs"), "ab").expect("write");
        std::fs::write(src.join("new.rs"), "").expect("write");
        std::fs::remove_file(dir.join("README.md")).expect("remove");
        let after = snapshot(&dir);
        assert_eq!(
            changed(&before, &after).into_iter().collect::<Vec<_>>(),
            [
                "README.md",
                "crates/function/src/new.rs",
                "crates/function/src/prompt.rs"
            ]
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    #[allow(clippy::print_stderr)] // The figure quoted in BENCHMARKS.md.
    fn a_snapshot_of_this_checkout_is_cheap_enough_to_poll() {
        let root = crate::project_root();
        let _warm = snapshot(&root);
        let started = Instant::now();
        let files = snapshot(&root);
        let took = started.elapsed();
        eprintln!("snapshot: {} files in {took:?}", files.len());
        assert!(
            files.contains_key("crates/function/src/prompt.rs"),
            "{files:?}"
        );
        assert!(files.contains_key("Cargo.lock"));
        assert!(!files.keys().any(|f| f.starts_with("target/")));
        assert!(
            took < POLL_INTERVAL / 4,
            "{took:?} for {} files: too slow to poll every {POLL_INTERVAL:?}",
            files.len()
        );
    }
}

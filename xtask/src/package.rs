//! The function package: build the `bootstrap` with cargo-lambda (provided.al2023) in the shipped
//! `release` profile or the fast `lambda-fast` profile ([`BuildProfile`]), zip it deterministically
//! (fixed timestamps and modes, so the same binary always gives the same bytes), and name it by
//! content hash. Runs cargo-lambda; reads the sources to fingerprint them; writes under
//! `target/lambda/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use codegen_infra::config::Architecture;
use sha2::{Digest, Sha256};

use crate::local;
use crate::report::progress;

/// Package name of the function crate.
pub(crate) const FUNCTION_PACKAGE: &str = "codegen-function";

/// The cargo profile of [`BuildProfile::Fast`] (`[profile.lambda-fast]` in the workspace manifest).
pub(crate) const FAST_CARGO_PROFILE: &str = "lambda-fast";

/// Which cargo profile the function is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BuildProfile {
    /// `[profile.release]`: what ships (opt-level "s", fat LTO, one codegen unit, stripped).
    #[default]
    Release,
    /// `[profile.lambda-fast]`: compiles an edit in seconds instead of a minute, for a bigger and
    /// slightly slower binary (BENCHMARKS.md, "Fast build profile"). The default for emulator
    /// stages; on AWS stages only when asked for.
    Fast,
}

impl BuildProfile {
    /// The profile a deploy of `cfg` builds with: `explicit` when given, otherwise
    /// [`BuildProfile::Fast`] for emulator stages and [`BuildProfile::Release`] for AWS stages.
    pub(crate) fn for_stage(cfg: &codegen_infra::StageConfig, explicit: Option<Self>) -> Self {
        match explicit {
            Some(profile) => profile,
            None if cfg.emulator.is_some() => Self::Fast,
            None => Self::Release,
        }
    }

    /// The cargo profile name.
    pub(crate) const fn cargo_profile(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Fast => FAST_CARGO_PROFILE,
        }
    }

    /// Deflate level of the zip: 9 for what ships (3 % smaller, ~0.4 s more, BENCHMARKS.md);
    /// 1 for the fast profile, whose zip only travels to the emulator and is rebuilt on every edit.
    const fn zip_level(self) -> i64 {
        match self {
            Self::Release => 9,
            Self::Fast => 1,
        }
    }
}

/// A zip ready to upload.
#[derive(Debug, Clone)]
pub struct Package {
    /// The zip's bytes.
    pub(crate) bytes: Vec<u8>,
    /// Hex SHA-256 of the zip (the asset key).
    pub sha256_hex: String,
    /// Base64 SHA-256 of the zip (what Lambda reports as `CodeSha256`).
    pub sha256_base64: String,
    /// Architecture the binary was built for.
    pub(crate) architecture: Architecture,
    /// Where the zip was written.
    pub path: PathBuf,
}

impl Package {
    /// Asset key of this package for `stack`: `codegen-function/<stack>/<sha256>.zip`, under the
    /// stack's own prefix (the only one its deployer policy may write).
    pub(crate) fn asset_key(&self, stack: &str) -> String {
        format!(
            "{}{}.zip",
            codegen_infra::names::package_prefix(stack),
            self.sha256_hex
        )
    }

    /// Reads an existing zip (for `--package`).
    pub fn from_zip(path: &Path, architecture: Architecture) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read package {}", path.display()))?;
        Ok(Self::new(bytes, architecture, path.to_path_buf()))
    }

    pub(crate) fn new(bytes: Vec<u8>, architecture: Architecture, path: PathBuf) -> Self {
        let digest = Sha256::digest(&bytes);
        Self {
            sha256_hex: hex::encode(digest),
            sha256_base64: base64_encode(&digest),
            bytes,
            architecture,
            path,
        }
    }
}

/// Standard base64 with padding: what Lambda reports as `CodeSha256` and S3 expects in
/// `x-amz-checksum-sha256`. The function already depends on the `base64` crate, so this adds no
/// package to the build.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Zips `bootstrap` deterministically: one entry, mode 0755, the zip epoch as its time.
pub fn zip_bootstrap(binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    zip_bootstrap_at(binary, BuildProfile::Release.zip_level())
}

fn zip_bootstrap_at(binary: &[u8], level: i64) -> anyhow::Result<Vec<u8>> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // Level 9 (zlib-rs) for release: 3 % smaller than the default level for ~0.4 s
            // more, paid only when the binary changed (the zip is cached next to it).
            .compression_level(Some(level))
            .unix_permissions(0o755)
            .last_modified_time(zip::DateTime::default());
        zip.start_file("bootstrap", options)
            .context("failed to start zip entry")?;
        zip.write_all(binary).context("failed to write zip entry")?;
        zip.finish().context("failed to finish zip")?;
    }
    Ok(cursor.into_inner())
}

/// Chooses the architecture to build: the stage's preference when its Rust target is usable,
/// otherwise x86_64 with a message that says why.
pub(crate) fn choose_architecture(preferred: Architecture) -> Architecture {
    if preferred == Architecture::X86_64 || host_arch() == preferred {
        return preferred;
    }
    let target = preferred.rust_target();
    if target_installed(target) {
        return preferred;
    }
    progress(format!(
        "arm64 needs the Rust target {target}; trying `rustup target add {target}`"
    ));
    let added = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .is_ok_and(|s| s.success());
    if added && target_installed(target) {
        return preferred;
    }
    progress(format!(
        "warning: could not install {target} on this machine; building x86_64 instead \
         (the function is deployed as x86_64, which works the same, at a slightly higher price per GB-second)"
    ));
    Architecture::X86_64
}

fn host_arch() -> Architecture {
    if cfg!(target_arch = "aarch64") {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

fn target_installed(target: &str) -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == target)
        })
}

/// Inputs that decide the function binary, hashed by content: every file under `crates/` (the
/// function and every path crate it could depend on; hashing a little more than needed is the safe
/// side), the workspace manifest, lock file and cargo config, the pinned cargo-lambda, the rustc
/// version, the target, the build label and the environment variables that change codegen.
/// For the release profile (what [`source_fingerprint`] gives).
pub fn source_fingerprint(
    root: &Path,
    arch: Architecture,
    label: Option<&str>,
) -> anyhow::Result<String> {
    source_fingerprint_for(root, arch, label, BuildProfile::Release)
}

/// [`source_fingerprint`] of a build in `profile` (the release fingerprint is unchanged by the
/// profile's existence, so earlier release stamps stay valid).
pub(crate) fn source_fingerprint_for(
    root: &Path,
    arch: Architecture,
    label: Option<&str>,
    profile: BuildProfile,
) -> anyhow::Result<String> {
    let mut files = Vec::new();
    collect_files(&root.join("crates"), &mut files)?;
    for extra in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "tools/requirements.txt",
        "rust-toolchain.toml",
    ] {
        let path = root.join(extra);
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for file in &files {
        let rel = file.strip_prefix(root).unwrap_or(file);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(
            std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?,
        );
        h.update([0]);
    }
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    h.update(&rustc);
    h.update(arch.rust_target().as_bytes());
    h.update([0]);
    h.update(label.unwrap_or("").as_bytes());
    if profile != BuildProfile::Release {
        h.update(format!("\0profile={}", profile.cargo_profile()).as_bytes());
    }
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_PROFILE_")
                || k.starts_with("CARGO_BUILD_")
                || k.contains("RUSTFLAGS")
        })
        .collect();
    env.sort();
    for (k, v) in env {
        h.update(format!("\0{k}={v}").as_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("failed to list {}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Where cargo-lambda puts its output for `arch` in `profile`: `target/lambda/<arch>` for release,
/// `target/lambda/lambda-fast/<arch>` for the fast profile (each keeps its own binary and stamp, so
/// switching profiles never rebuilds what is already there).
fn lambda_dir(root: &Path, arch: Architecture, profile: BuildProfile) -> PathBuf {
    let base = root.join("target").join("lambda");
    match profile {
        BuildProfile::Release => base.join(arch.as_str()),
        BuildProfile::Fast => base.join(FAST_CARGO_PROFILE).join(arch.as_str()),
    }
}

/// The release `bootstrap` binary [`build`] packages for `arch`.
pub fn bootstrap_path(root: &Path, arch: Architecture) -> PathBuf {
    bootstrap_path_for(root, arch, BuildProfile::Release)
}

/// The `bootstrap` binary [`build_with_profile`] packages for `arch` in `profile`.
pub fn bootstrap_path_for(root: &Path, arch: Architecture, profile: BuildProfile) -> PathBuf {
    lambda_dir(root, arch, profile)
        .join(FUNCTION_PACKAGE)
        .join("bootstrap")
}

/// Builds the release function with cargo-lambda for `arch` and returns its deterministic zip
/// ([`build_with_profile`] with [`BuildProfile::Release`]).
pub fn build(root: &Path, arch: Architecture, label: Option<&str>) -> anyhow::Result<Package> {
    build_with_profile(root, arch, label, BuildProfile::Release)
}

/// Builds the function with cargo-lambda for `arch` in `profile` and returns its deterministic
/// zip. `label` is compiled into the function (`CODEGEN_BUILD_LABEL`) and reported in its
/// `x-codegen-build` response header; `None` keeps the crate version.
///
/// When the inputs' `source_fingerprint_for` equals the one recorded next to the last binary
/// built here, cargo-lambda is not run at all: even a no-op `cargo lambda build` costs seconds, and
/// any other release build of the crate in between (with different settings) would make it relink
/// with fat LTO for minutes. A changed input never reuses the binary.
pub fn build_with_profile(
    root: &Path,
    arch: Architecture,
    label: Option<&str>,
    profile: BuildProfile,
) -> anyhow::Result<Package> {
    let plan = BuildPlan::new(root, arch, label, profile)?;
    let started = Instant::now();
    if plan.up_to_date {
        progress(format!(
            "{FUNCTION_PACKAGE} for {} ({}) is up to date (inputs {})",
            arch.as_str(),
            profile.cargo_profile(),
            &plan.fingerprint[..12]
        ));
    } else {
        let mut cmd = plan.command()?;
        let status = cmd
            .status()
            .with_context(|| format!("failed to run {}", cmd.get_program().to_string_lossy()))?;
        if !status.success() {
            bail!("cargo lambda build failed ({status})");
        }
    }
    plan.finish(started)
}

/// One build of the function, split so that a caller can run cargo-lambda itself (the watch loop
/// runs it in its own process group, to stop it on Ctrl-C): [`BuildPlan::new`] decides whether a
/// build is needed, [`BuildPlan::command`] is the build, [`BuildPlan::finish`] zips and stamps it.
#[derive(Debug, Clone)]
pub(crate) struct BuildPlan {
    root: PathBuf,
    arch: Architecture,
    label: Option<String>,
    profile: BuildProfile,
    /// The inputs' [`source_fingerprint_for`].
    pub(crate) fingerprint: String,
    /// Whether the binary and zip on disk were built from exactly these inputs.
    pub(crate) up_to_date: bool,
}

impl BuildPlan {
    /// Fingerprints the inputs and compares them with the stamp of the last build. When a build is
    /// needed the stamp is removed first: a failed or interrupted build must not leave a stamp
    /// that vouches for an older binary.
    pub(crate) fn new(
        root: &Path,
        arch: Architecture,
        label: Option<&str>,
        profile: BuildProfile,
    ) -> anyhow::Result<Self> {
        let fingerprint = source_fingerprint_for(root, arch, label, profile)?;
        let binary_path = bootstrap_path_for(root, arch, profile);
        let stamp_path = Self::stamp_path_of(&binary_path);
        let up_to_date = binary_path.is_file()
            && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s.trim() == fingerprint);
        if !up_to_date {
            match std::fs::remove_file(&stamp_path) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(anyhow::Error::new(err)
                        .context(format!("failed to remove {}", stamp_path.display())));
                }
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            arch,
            label: label.map(str::to_owned),
            profile,
            fingerprint,
            up_to_date,
        })
    }

    fn stamp_path_of(binary_path: &Path) -> PathBuf {
        binary_path.with_file_name("bootstrap.inputs-sha256")
    }

    /// The cargo-lambda command that builds the binary (not started).
    pub(crate) fn command(&self) -> anyhow::Result<Command> {
        let cargo_lambda = local::cargo_lambda(&self.root)?;
        progress(format!(
            "building {FUNCTION_PACKAGE} for {} with cargo-lambda ({} profile)",
            self.arch.as_str(),
            self.profile.cargo_profile()
        ));
        let mut cmd = Command::new(&cargo_lambda);
        match &self.label {
            Some(l) => cmd.env(codegen_contract::BUILD_LABEL_ENV, l),
            None => cmd.env_remove(codegen_contract::BUILD_LABEL_ENV),
        };
        cmd.current_dir(&self.root)
            .env("PATH", local::path_with_venv(&self.root))
            .args(["lambda", "build"]);
        match self.profile {
            // `--release` exactly as before: cargo-lambda adds its release settings to it.
            BuildProfile::Release => cmd.arg("--release"),
            BuildProfile::Fast => cmd.args(["--profile", FAST_CARGO_PROFILE]),
        };
        cmd.args(["--package", FUNCTION_PACKAGE])
            .args(["--target", self.arch.rust_target()])
            .arg("--lambda-dir")
            .arg(lambda_dir(&self.root, self.arch, self.profile));
        Ok(cmd)
    }

    /// Zips the built binary (or reuses the zip of an up-to-date one) and records the stamp.
    pub(crate) fn finish(&self, started: Instant) -> anyhow::Result<Package> {
        let binary_path = bootstrap_path_for(&self.root, self.arch, self.profile);
        let stamp_path = Self::stamp_path_of(&binary_path);
        let zip_path = binary_path.with_file_name("bootstrap.zip");
        if self.up_to_date
            && let Ok(bytes) = std::fs::read(&zip_path)
        {
            // The stamp is written only after this zip, so it vouches for both.
            return Ok(Package::new(bytes, self.arch, zip_path));
        }
        let binary = std::fs::read(&binary_path).with_context(|| {
            format!(
                "failed to read the built bootstrap at {}",
                binary_path.display()
            )
        })?;
        let bytes = zip_bootstrap_at(&binary, self.profile.zip_level())?;
        std::fs::write(&zip_path, &bytes)
            .with_context(|| format!("failed to write {}", zip_path.display()))?;
        std::fs::write(&stamp_path, &self.fingerprint)
            .with_context(|| format!("failed to write {}", stamp_path.display()))?;
        let package = Package::new(bytes, self.arch, zip_path);
        progress(format!(
            "packaged {} ({} KiB zip, binary {} KiB) in {:.1}s",
            package.path.display(),
            package.bytes.len() / 1024,
            binary.len() / 1024,
            started.elapsed().as_secs_f64()
        ));
        Ok(package)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_is_deterministic_and_hash_named() {
        let a = zip_bootstrap(b"#!/bin/sh\necho hi\n").expect("zip");
        let b = zip_bootstrap(b"#!/bin/sh\necho hi\n").expect("zip");
        assert_eq!(a, b);
        let c = zip_bootstrap(b"#!/bin/sh\necho bye\n").expect("zip");
        assert_ne!(a, c);
        let p = Package::new(a, Architecture::X86_64, PathBuf::from("x.zip"));
        assert_eq!(
            p.asset_key("codegen-dev"),
            format!("codegen-function/codegen-dev/{}.zip", p.sha256_hex)
        );
        assert_eq!(p.sha256_hex.len(), 64);
    }

    #[test]
    fn zip_entry_is_executable_bootstrap() {
        let bytes = zip_bootstrap(b"binary").expect("zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("archive");
        let entry = archive.by_index(0).expect("entry");
        assert_eq!(entry.name().expect("name"), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn fingerprint_changes_with_any_input() {
        let dir = std::env::temp_dir().join(format!("codegen-fp-{}", std::process::id()));
        let src = dir.join("crates").join("function").join("src");
        std::fs::create_dir_all(&src).expect("dirs");
        std::fs::write(dir.join("Cargo.lock"), "lock v1").expect("write");
        std::fs::write(src.join("lib.rs"), "fn a() {}").expect("write");
        let x86 = Architecture::X86_64;
        let base = source_fingerprint(&dir, x86, None).expect("fingerprint");
        assert_eq!(
            base,
            source_fingerprint(&dir, x86, None).expect("fingerprint"),
            "stable"
        );
        assert_ne!(
            base,
            source_fingerprint(&dir, x86, Some("v2")).expect("fp"),
            "label"
        );
        assert_ne!(
            base,
            source_fingerprint(&dir, Architecture::Arm64, None).expect("fp"),
            "arch"
        );
        std::fs::write(src.join("lib.rs"), "fn b() {}").expect("write");
        let edited = source_fingerprint(&dir, x86, None).expect("fingerprint");
        assert_ne!(base, edited, "a source edit");
        std::fs::write(src.join("new.rs"), "").expect("write");
        assert_ne!(
            edited,
            source_fingerprint(&dir, x86, None).expect("fp"),
            "a new file"
        );
        std::fs::write(dir.join("Cargo.lock"), "lock v2").expect("write");
        let relocked = source_fingerprint(&dir, x86, None).expect("fingerprint");
        assert_ne!(edited, relocked, "a dependency change");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn emulator_stages_build_fast_and_aws_stages_release_unless_asked() {
        let stage = |name: &str| {
            codegen_infra::load_stage(&crate::project_root(), name).expect("stage file")
        };
        let (local, dev) = (stage("local"), stage("dev"));
        assert_eq!(BuildProfile::for_stage(&local, None), BuildProfile::Fast);
        assert_eq!(BuildProfile::for_stage(&dev, None), BuildProfile::Release);
        assert_eq!(
            BuildProfile::for_stage(&dev, Some(BuildProfile::Fast)),
            BuildProfile::Fast
        );
        assert_eq!(
            BuildProfile::for_stage(&local, Some(BuildProfile::Release)),
            BuildProfile::Release
        );
    }

    #[test]
    fn each_profile_has_its_own_binary_and_fingerprint() {
        let root = crate::project_root();
        let x86 = Architecture::X86_64;
        assert_ne!(
            bootstrap_path_for(&root, x86, BuildProfile::Fast),
            bootstrap_path(&root, x86)
        );
        assert!(
            bootstrap_path(&root, x86).ends_with("target/lambda/x86_64/codegen-function/bootstrap"),
            "the release path is unchanged"
        );
        let release = source_fingerprint(&root, x86, None).expect("fingerprint");
        assert_eq!(
            release,
            source_fingerprint_for(&root, x86, None, BuildProfile::Release).expect("fp")
        );
        assert_ne!(
            release,
            source_fingerprint_for(&root, x86, None, BuildProfile::Fast).expect("fp")
        );
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }
}

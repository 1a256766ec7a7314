//! Everything a deploy starts from: the stage, the clients (starting the emulator on emulator
//! stages), the package, the stage's bootstrap, the verified upload and the synthesised template
//! with its parameters and fingerprint.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use codegen_infra::StageConfig;
use codegen_infra::stack::{
    PARAM_ARCHITECTURE, PARAM_CODE_BUCKET, PARAM_CODE_KEY, PARAM_CODE_VERSION,
};

use super::DeployOptions;
use crate::assets::{AssetBucket, PublishedPackage, Verification};
use crate::aws::Clients;
use crate::package::Package;
use crate::report::progress;
use crate::{assets, bootstrap, local, package, plan};

/// Everything needed to plan a deploy: clients, account, package, template and parameters.
pub(crate) struct Prepared {
    /// Stage.
    pub(crate) cfg: StageConfig,
    /// Clients.
    pub(crate) clients: Clients,
    /// Asset bucket.
    pub(crate) asset_bucket: String,
    /// The account that must own the asset bucket (every call to it says so).
    pub(crate) asset_owner: String,
    /// The bootstrap's CloudFormation execution role: every change set and stack deletion runs
    /// with it.
    pub(crate) execution_role_arn: String,
    /// The package.
    pub(crate) package: Package,
    /// Where the package is in the asset bucket: its key and the verified version the template
    /// pins.
    pub(crate) published: PublishedPackage,
    /// Template body sent to CloudFormation (compact JSON).
    pub(crate) template_body: String,
    /// Template parameters.
    pub(crate) parameters: Vec<(String, String)>,
    /// Fingerprint of template + parameters.
    pub(crate) fingerprint: String,
    /// Phase timings so far.
    pub(crate) timings: BTreeMap<String, u128>,
}

/// How package objects are verified at this endpoint: on an emulator, one without a stored
/// checksum may be downloaded and hashed; on AWS only the stored SHA-256 counts.
pub(crate) fn verification_for(clients: &Clients) -> Verification {
    if clients.endpoint.is_some() {
        Verification::StoredChecksumOrDownload
    } else {
        Verification::StoredChecksum
    }
}

/// What every deploy path starts from: the stage, the clients and the package.
pub(crate) struct Loaded {
    /// Stage.
    pub(crate) cfg: StageConfig,
    /// Clients.
    pub(crate) clients: Clients,
    /// The package.
    pub(crate) package: Package,
    /// Phase timings so far.
    pub(crate) timings: BTreeMap<String, u128>,
}

/// Loads the stage, connects (starting the emulator for emulator stages), and builds or reads the
/// package.
pub(crate) async fn load(root: &Path, opts: &DeployOptions) -> anyhow::Result<Loaded> {
    let mut timings = BTreeMap::new();
    let mut cfg = match &opts.stage_config {
        Some(cfg) => cfg.clone(),
        None => codegen_infra::load_stage(root, &opts.stage)?,
    };
    if let Some(name) = &opts.stack_name_override {
        cfg.stack_name = name.clone();
    }
    let clients = local::connect_starting_emulator(root, &cfg, &opts.connect).await?;
    let arch = opts.architecture.unwrap_or(cfg.function.architecture);
    let promoted = match &opts.package_from {
        Some(from) => Some(crate::promote::package_of_stage(root, from, &opts.connect).await?),
        None => None,
    };
    let package = match promoted.as_ref().or(opts.package.as_ref()) {
        Some(path) => {
            let package = Package::from_zip(path, arch)?;
            if let Some(expected) = &opts.package_sha256 {
                crate::promote::check_package_sha256(&package.sha256_hex, expected)?;
            }
            package
        }
        None if cfg.protection.is_production() && !opts.build => anyhow::bail!(
            "stage `{}` is production-class: it deploys the package an earlier stage runs \
             (`--package-from dev`, or `--package ZIP --package-sha256 HEX` with the build \
             job's artifact), not a new build; pass --build to build one here anyway",
            cfg.name
        ),
        None => {
            let arch = package::choose_architecture(arch);
            let profile = package::BuildProfile::for_stage(&cfg, opts.build_profile);
            if cfg.protection.is_production() && profile == package::BuildProfile::Fast {
                anyhow::bail!(
                    "--build-profile fast is refused for stage `{}`: it is production-class, so it \
                     runs only the release build (drop --build-profile)",
                    cfg.name
                );
            }
            let t = Instant::now();
            let p = tokio::task::block_in_place(|| {
                package::build_with_profile(root, arch, opts.build_label.as_deref(), profile)
            })?;
            timings.insert("build".to_owned(), t.elapsed().as_millis());
            p
        }
    };
    Ok(Loaded {
        cfg,
        clients,
        package,
        timings,
    })
}

/// [`load`]s, then reads the stage's bootstrap (creating it on an emulator stage), checks model
/// access, makes sure the bootstrap's asset bucket holds exactly
/// this package under the stack's prefix (uploaded with its SHA-256, or an existing object whose
/// stored SHA-256 matches; anything else fails here, before any stack change), and synthesises the
/// template with the verified object version pinned.
pub(crate) async fn prepare(root: &Path, opts: &DeployOptions) -> anyhow::Result<Prepared> {
    let t = Instant::now();
    let Loaded {
        cfg,
        clients,
        package,
        mut timings,
    } = load(root, opts).await?;
    let t_aws = Instant::now();
    let boot = bootstrap::ensure(&clients, &cfg).await?;
    crate::preflight::check_model_access(&clients, &cfg).await?;
    let bucket = AssetBucket {
        name: boot.asset_bucket.clone(),
        owner: boot.account.clone(),
    };
    assets::require_bucket(&clients.s3, &bucket).await?;
    let published = assets::publish_package(
        &clients.s3,
        &bucket,
        &package.asset_key(&cfg.stack_name),
        &package,
        verification_for(&clients),
    )
    .await?;
    progress(format!(
        "{} s3://{}/{} (version {})",
        if published.uploaded {
            "uploaded"
        } else {
            "verified (SHA-256)"
        },
        bucket.name,
        published.key,
        published.version_id
    ));
    timings.insert("assets".to_owned(), t_aws.elapsed().as_millis());
    let template = codegen_infra::stack(&cfg);
    let template_body =
        serde_json::to_string(&template).context("failed to serialise the template")?;
    let parameters = vec![
        (
            PARAM_ARCHITECTURE.to_owned(),
            package.architecture.as_str().to_owned(),
        ),
        (PARAM_CODE_BUCKET.to_owned(), bucket.name.clone()),
        (PARAM_CODE_KEY.to_owned(), published.key.clone()),
        (PARAM_CODE_VERSION.to_owned(), published.version_id.clone()),
    ];
    let fingerprint = plan::fingerprint(&template_body, &parameters);
    timings.insert("prepare".to_owned(), t.elapsed().as_millis());
    Ok(Prepared {
        cfg,
        clients,
        asset_bucket: bucket.name,
        asset_owner: bucket.owner,
        execution_role_arn: boot.execution_role_arn,
        package,
        published,
        template_body,
        parameters,
        fingerprint,
        timings,
    })
}

//! `manifest inspect|create|annotate|push|rm`: the docker CLI's client-side manifest lists.
//! The CLI talks to the registry itself (berth-registry's `manifests::Repository`, no
//! daemon involved) and keeps the lists being assembled in the config directory's
//! `manifests/` store (`crate::manifest_store`), shared with the docker CLI. Output and
//! error words are the docker CLI 28's.

use berth_image::reference::Reference;
use berth_registry::manifests::{is_list_type, RawManifest, Repository};
use berth_registry::{AuthConfig, RegistryConfig, RegistryError};
use clap::{CommandFactory, Parser};
use serde::Serialize;
use serde_json::Value;
use sha2::Digest as _;

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::manifest_store::{Descriptor, ImageManifest, Platform, Store, StoreError};
use crate::{CmdResult, Ctx, Failure};

const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[derive(Parser)]
struct InspectCmd {
    #[arg(long, help = "Allow communication with an insecure registry")]
    insecure: bool,
    #[arg(
        short = 'v',
        long,
        help = "Output additional info including layers and platform"
    )]
    verbose: bool,
    args: Vec<String>,
}

#[derive(Parser)]
struct CreateCmd {
    #[arg(short = 'a', long, help = "Amend an existing manifest list")]
    amend: bool,
    #[arg(long, help = "Allow communication with an insecure registry")]
    insecure: bool,
    args: Vec<String>,
}

#[derive(Parser)]
struct AnnotateCmd {
    #[arg(long, help = "Set architecture", value_name = "string")]
    arch: Option<String>,
    #[arg(long, help = "Set operating system", value_name = "string")]
    os: Option<String>,
    #[arg(
        long = "os-features",
        help = "Set operating system feature",
        value_name = "strings",
        value_delimiter = ','
    )]
    os_features: Vec<String>,
    #[arg(
        long = "os-version",
        help = "Set operating system version",
        value_name = "string"
    )]
    os_version: Option<String>,
    #[arg(long, help = "Set architecture variant", value_name = "string")]
    variant: Option<String>,
    args: Vec<String>,
}

#[derive(Parser)]
struct PushCmd {
    #[arg(long, help = "Allow push to an insecure registry")]
    insecure: bool,
    #[arg(short = 'p', long, help = "Remove the local manifest list after push")]
    purge: bool,
    args: Vec<String>,
}

#[derive(Parser)]
struct RmCmd {
    args: Vec<String>,
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg, 1)
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        fail(e.to_string())
    }
}

/// docker's normalizeReference: a normalised name with `:latest` unless tagged or digested.
fn normalize(s: &str) -> Result<Reference, String> {
    Reference::parse_tagged(s).map_err(|e| e.to_string())
}

fn store() -> Store {
    Store::new(crate::config::dir())
}

/// The credentials config.json (or its helper) holds for the reference's registry.
fn auth_for(r: &Reference) -> AuthConfig {
    super::registry::credentials(&r.to_string()).unwrap_or_default()
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// Go's json.MarshalIndent / json.Indent with `indent`, and Go's HTML escapes.
fn indent(v: &impl Serialize, indent: &[u8]) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = v.serialize(&mut ser);
    String::from_utf8_lossy(&buf)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// What a reference names in a registry.
enum Fetched {
    Manifest(Box<ImageManifest>),
    List(Vec<ImageManifest>),
}

/// Opens the repository of `r` as the docker CLI's registry client does: unverified https
/// for insecure registries (loopback ones included), plain http only with `--insecure`.
/// A registry only reachable over http without `--insecure` is skipped, which docker
/// reports as the manifest not being there.
fn open_for_pull(r: &Reference, insecure: bool) -> Result<Repository, String> {
    let mut cfg = RegistryConfig::default();
    if insecure {
        cfg.insecure_registries.push(r.domain().to_string());
    } else {
        cfg.plain_http = false;
    }
    match Repository::open(&cfg, r.domain(), r.path(), &auth_for(r), false) {
        Ok(repo) => Ok(repo),
        Err(RegistryError::Transport(t))
            if !insecure && !t.contains("connection refused") && !t.contains("lookup") =>
        {
            Err(format!("no such manifest: {r}"))
        }
        Err(RegistryError::Transport(t)) => Err(format!(
            "failed to configure transport: error pinging v2 registry: {t}"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The tag or digest part of a request path.
fn tag_or_digest(r: &Reference) -> String {
    r.digest().or(r.tag()).unwrap_or("latest").to_string()
}

/// An image manifest as served, with the platform its config declares.
fn image_manifest(repo: &Repository, shown: &str, m: RawManifest) -> Result<ImageManifest, String> {
    let doc: Value =
        serde_json::from_slice(&m.bytes).map_err(|e| format!("{shown}: invalid manifest: {e}"))?;
    let (schema_v2, oci) = match m.media_type.as_str() {
        MT_DOCKER_MANIFEST => (Some(doc.clone()), None),
        MT_OCI_MANIFEST => (None, Some(doc.clone())),
        _ => return Err(format!("{shown} is not a manifest")),
    };
    let config = doc
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{shown}: manifest has no config"))?;
    let config = repo.blob(config).map_err(|e| e.to_string())?;
    let c: Value = serde_json::from_slice(&config).unwrap_or(Value::Null);
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let platform = Platform {
        architecture: s("architecture"),
        os: s("os"),
        os_version: s("os.version"),
        os_features: c
            .get("os.features")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        variant: s("variant"),
    };
    Ok(ImageManifest {
        reference: shown.to_string(),
        descriptor: Descriptor {
            media_type: m.media_type,
            digest: sha256(&m.bytes),
            size: m.bytes.len() as i64,
            platform: Some(platform),
        },
        raw: m.bytes,
        schema_v2,
        oci,
    })
}

/// The manifest or manifest list `r` names in its registry.
fn fetch(r: &Reference, insecure: bool) -> Result<Fetched, String> {
    let repo = open_for_pull(r, insecure)?;
    let m = repo
        .manifest(&tag_or_digest(r))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no such manifest: {r}"))?;
    if let Some(want) = r.digest() {
        if sha256(&m.bytes) != want {
            return Err(format!("manifest verification failed for digest {want}"));
        }
    }
    if !is_list_type(&m.media_type) {
        return image_manifest(&repo, &r.to_string(), m).map(|m| Fetched::Manifest(Box::new(m)));
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        digest: String,
        #[serde(default)]
        platform: Platform,
    }
    #[derive(serde::Deserialize)]
    struct List {
        #[serde(default)]
        manifests: Vec<Entry>,
    }
    let list: List =
        serde_json::from_slice(&m.bytes).map_err(|e| format!("{r}: invalid manifest list: {e}"))?;
    let mut out = Vec::new();
    for e in list.manifests {
        let raw = repo
            .manifest(&e.digest)
            .map_err(|x| x.to_string())?
            .ok_or_else(|| format!("no such manifest: {r}@{}", e.digest))?;
        let shown = match r.digest() {
            Some(_) => format!("{}@{}", r.name(), e.digest),
            None => format!("{r}@{}", e.digest),
        };
        let mut im = image_manifest(&repo, &shown, raw)?;
        // The list's platform replaces the config's, as docker's pullManifestList does.
        im.descriptor.platform = Some(e.platform);
        out.push(im);
    }
    Ok(Fetched::List(out))
}

fn print_manifest(m: &ImageManifest, verbose: bool) -> Result<(), Failure> {
    if verbose {
        println!("{}", indent(m, b"\t"));
        return Ok(());
    }
    let payload = m.payload();
    if payload.is_empty() {
        return Err(fail(format!("{} has no payload", m.reference)));
    }
    let v: Value = serde_json::from_slice(&payload).map_err(|e| fail(e.to_string()))?;
    println!("{}", indent(&v, b"\t"));
    Ok(())
}

/// One entry of a manifest list as distribution's manifestlist writes it.
#[derive(Serialize)]
struct ListEntry<'a> {
    #[serde(rename = "mediaType", skip_serializing_if = "str::is_empty")]
    media_type: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    size: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    digest: &'a str,
    platform: Platform,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct ManifestList<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: Vec<ListEntry<'a>>,
}

/// The manifest list `target` is made of, as docker builds it (manifestlist.FromDescriptors:
/// an OCI index when the first entry is an OCI manifest, three-space indented); with its
/// media type. Every entry must come from the target's registry and carry a digest.
fn build_list(
    target: &Reference,
    list: &[ImageManifest],
) -> Result<(String, &'static str), String> {
    let mut entries = Vec::new();
    for m in list {
        let r = Reference::parse_normalized(&m.reference).map_err(|e| e.to_string())?;
        if r.domain() != target.domain() {
            return Err(format!(
                "cannot use source images from a different registry than the target image: {} != {}",
                r.domain(),
                target.domain()
            ));
        }
        let d = &m.descriptor.digest;
        let valid = d
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            return Err(format!(
                "digest parse of image \"{}\" failed: invalid checksum digest format",
                m.reference
            ));
        }
        entries.push(ListEntry {
            media_type: &m.descriptor.media_type,
            size: m.descriptor.size,
            digest: d,
            platform: m.descriptor.platform.clone().unwrap_or_default(),
        });
    }
    let media_type = match entries.first() {
        Some(e) if e.media_type == MT_OCI_MANIFEST => MT_OCI_INDEX,
        _ => MT_DOCKER_LIST,
    };
    let doc = ManifestList {
        schema_version: 2,
        media_type,
        manifests: entries,
    };
    Ok((indent(&doc, b"   "), media_type))
}

fn print_list(target: &Reference, list: &[ImageManifest], verbose: bool) -> Result<(), Failure> {
    if verbose {
        println!("{}", indent(&list, b"\t"));
        return Ok(());
    }
    let (text, _) = build_list(target, list)
        .map_err(|e| fail(format!("failed to assemble ManifestDescriptor: {e}")))?;
    println!("{text}");
    Ok(())
}

fn cmd_inspect(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.range(&o.args, 1, 2)?;
    let (list, name) = match o.args.len() {
        2 => (Some(&o.args[0]), &o.args[1]),
        _ => (None, &o.args[0]),
    };
    let named = normalize(name).map_err(fail)?;
    if let Some(l) = list {
        let list_ref = normalize(l).map_err(fail)?;
        let m = store().get(&list_ref.to_string(), &named.to_string())?;
        print_manifest(&m, o.verbose)?;
        return Ok(0);
    }
    if let Ok(local) = store().get_list(&named.to_string()) {
        print_list(&named, &local, o.verbose)?;
        return Ok(0);
    }
    match fetch(&named, o.insecure).map_err(fail)? {
        Fetched::Manifest(m) => print_manifest(&m, o.verbose)?,
        Fetched::List(l) => print_list(&named, &l, o.verbose)?,
    }
    Ok(0)
}

fn cmd_create(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CreateCmd = parse(inv, args)?;
    inv.at_least(&o.args, 2)?;
    let target = normalize(&o.args[0]).map_err(|e| {
        fail(format!(
            "error parsing name for manifest list {}: {e}",
            o.args[0]
        ))
    })?;
    let st = store();
    let list_key = target.to_string();
    match st.get_list(&list_key) {
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
        Ok(_) if !o.amend => {
            return Err(fail(
                "refusing to amend an existing manifest list with no --amend flag",
            ))
        }
        Ok(_) => {}
    }
    for m in &o.args[1..] {
        let named = normalize(m).map_err(fail)?;
        let key = named.to_string();
        let image = match st.get(&list_key, &key) {
            Ok(local) if !local.raw.is_empty() => local,
            Ok(_) | Err(StoreError::NotFound(_)) => {
                match fetch(&named, o.insecure).map_err(fail)? {
                    Fetched::Manifest(im) => *im,
                    Fetched::List(_) => return Err(fail(format!("{named} is a manifest list"))),
                }
            }
            Err(e) => return Err(e.into()),
        };
        st.save(&list_key, &key, &image)?;
    }
    println!("Created manifest list {target}");
    Ok(0)
}

/// The os/arch pairs docker accepts (its validOSArches: Go's GOOS/GOARCH list and s390x).
const VALID_OS_ARCH: &[(&str, &str)] = &[
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm"),
    ("darwin", "arm64"),
    ("dragonfly", "amd64"),
    ("freebsd", "386"),
    ("freebsd", "amd64"),
    ("freebsd", "arm"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("linux", "mips64"),
    ("linux", "mips64le"),
    ("linux", "riscv64"),
    ("linux", "s390x"),
    ("netbsd", "386"),
    ("netbsd", "amd64"),
    ("netbsd", "arm"),
    ("openbsd", "386"),
    ("openbsd", "amd64"),
    ("openbsd", "arm"),
    ("plan9", "386"),
    ("plan9", "amd64"),
    ("solaris", "amd64"),
    ("windows", "386"),
    ("windows", "amd64"),
];

fn cmd_annotate(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: AnnotateCmd = parse(inv, args)?;
    inv.exactly(&o.args, 2)?;
    let (target_arg, image_arg) = (&o.args[0], &o.args[1]);
    let target = normalize(target_arg).map_err(|e| {
        fail(format!(
            "annotate: error parsing name for manifest list {target_arg}: {e}"
        ))
    })?;
    let image = normalize(image_arg).map_err(|e| {
        fail(format!(
            "annotate: error parsing name for manifest {image_arg}: {e}"
        ))
    })?;
    let st = store();
    let mut m = match st.get(&target.to_string(), &image.to_string()) {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => {
            return Err(fail(format!(
                "manifest for image {image_arg} does not exist in {target_arg}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let p = m.descriptor.platform.get_or_insert_with(Platform::default);
    let set = |field: &mut String, v: &Option<String>| {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            *field = v.clone();
        }
    };
    set(&mut p.os, &o.os);
    set(&mut p.architecture, &o.arch);
    for f in &o.os_features {
        if !p.os_features.contains(f) {
            p.os_features.push(f.clone());
        }
    }
    set(&mut p.variant, &o.variant);
    set(&mut p.os_version, &o.os_version);
    if !VALID_OS_ARCH.contains(&(p.os.as_str(), p.architecture.as_str())) {
        return Err(fail(format!(
            "manifest entry for image has unsupported os/arch combination: {}/{}",
            o.os.as_deref().unwrap_or(""),
            o.arch.as_deref().unwrap_or("")
        )));
    }
    st.save(&target.to_string(), &image.to_string(), &m)?;
    Ok(0)
}

fn cmd_push(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PushCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let target = normalize(&o.args[0]).map_err(fail)?;
    let st = store();
    let manifests = st.get_list(&target.to_string())?;
    if manifests.is_empty() {
        return Err(fail(format!("{target} not found")));
    }
    for m in &manifests {
        let ok = m
            .descriptor
            .platform
            .as_ref()
            .is_some_and(|p| !p.architecture.is_empty() && !p.os.is_empty());
        if !ok {
            return Err(fail(format!(
                "manifest {} must have an OS and Architecture to be pushed to a registry",
                m.reference
            )));
        }
    }
    let (list_bytes, list_type) = build_list(&target, &manifests).map_err(fail)?;
    let mut cfg = RegistryConfig::default();
    if o.insecure {
        cfg.insecure_registries.push(target.domain().to_string());
    }
    let repo = Repository::open(
        &cfg,
        target.domain(),
        target.path(),
        &auth_for(&target),
        true,
    )
    .map_err(|e| fail(e.to_string()))?;
    // Images from another repository of the registry: their blobs are mounted into the
    // target repository and their manifests put there by digest, before the list.
    for m in &manifests {
        let src = Reference::parse_normalized(&m.reference).map_err(|e| fail(e.to_string()))?;
        if src.name() == target.name() {
            continue;
        }
        let windows = m
            .descriptor
            .platform
            .as_ref()
            .is_some_and(|p| p.os == "windows");
        for blob in m.blobs() {
            let mounted = repo
                .mount_blob(&blob, src.path())
                .map_err(|e| fail(e.to_string()))?;
            if !mounted && !windows {
                return Err(fail(format!(
                    "error mounting {}@{blob} to {target}",
                    src.name()
                )));
            }
        }
        let digest = &m.descriptor.digest;
        let got = repo
            .put_manifest(digest, &m.descriptor.media_type, &m.payload())
            .map_err(|e| fail(e.to_string()))?;
        println!("Pushed ref {}@{digest} with digest: {got}", target.name());
    }
    let digest = repo
        .put_manifest(&tag_or_digest(&target), list_type, list_bytes.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    println!("{digest}");
    if o.purge {
        st.remove(&target.to_string())?;
    }
    Ok(0)
}

fn cmd_rm(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let st = store();
    let mut errs = Vec::new();
    for t in &o.args {
        let r = match normalize(t) {
            Ok(r) => r,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        if let Err(e) = st.get_list(&r.to_string()) {
            errs.push(e.to_string());
            continue;
        }
        if let Err(e) = st.remove(&r.to_string()) {
            errs.push(e.to_string());
        }
    }
    super::join_errors(errs)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "manifest annotate",
        "[OPTIONS] MANIFEST_LIST MANIFEST",
        "Add additional information to a local image manifest",
        AnnotateCmd::command,
        cmd_annotate,
    ),
    Command::new(
        "manifest create",
        "MANIFEST_LIST MANIFEST [MANIFEST...]",
        "Create a local manifest list for annotating and pushing to a registry",
        CreateCmd::command,
        cmd_create,
    ),
    Command::new(
        "manifest inspect",
        "[OPTIONS] [MANIFEST_LIST] MANIFEST",
        "Display an image manifest, or manifest list",
        InspectCmd::command,
        cmd_inspect,
    ),
    Command::new(
        "manifest push",
        "[OPTIONS] MANIFEST_LIST",
        "Push a manifest list to a repository",
        PushCmd::command,
        cmd_push,
    ),
    Command::new(
        "manifest rm",
        "MANIFEST_LIST [MANIFEST_LIST...]",
        "Delete one or more manifest lists from local storage",
        RmCmd::command,
        cmd_rm,
    ),
];

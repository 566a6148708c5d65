//! `pull`, `push`, `login`, `logout`. Credentials live where the docker CLI keeps them:
//! `$DOCKER_CONFIG/config.json` (default `~/.docker`), `auths` entries or a credential helper
//! (`credsStore`, `credHelpers`: `docker-credential-NAME get|store|erase`). They travel to
//! the daemon in `X-Registry-Auth`, as docker sends them.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use berth_api::models::{AuthConfig, AuthResponse};
use clap::{CommandFactory, Parser};
use serde_json::{json, Map, Value};

use super::{parse, Invocation};
use crate::catalog::Command as CatalogCommand;
use crate::client::{q, Body, Client};
use crate::{CmdResult, Ctx, Failure};

const HUB_KEY: &str = "https://index.docker.io/v1/";

fn config_path() -> PathBuf {
    crate::config::path()
}

fn read_config() -> Map<String, Value> {
    std::fs::read(config_path())
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

fn write_config(cfg: &Map<String, Value>) -> Result<(), Failure> {
    let p = config_path();
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| Failure::new(e.to_string(), 1))?;
    }
    let tmp = p.with_extension("json.tmp");
    let data = serde_json::to_vec_pretty(&Value::Object(cfg.clone()))
        .map_err(|e| Failure::new(e.to_string(), 1))?;
    std::fs::write(&tmp, data)
        .and_then(|_| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        })
        .and_then(|_| std::fs::rename(&tmp, &p))
        .map_err(|e| Failure::new(format!("Error saving credentials: {e}"), 1))
}

/// The registry host of an image name (docker.io's key is the v1 index URL).
fn registry_key(image: &str) -> String {
    let first = image.split('/').next().unwrap_or("");
    if image.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
        && first != "docker.io"
        && first != "index.docker.io"
    {
        first.to_string()
    } else {
        HUB_KEY.to_string()
    }
}

/// A server argument of login/logout as config.json keys it.
fn server_key(server: Option<&str>) -> String {
    match server {
        None => HUB_KEY.to_string(),
        Some(s) => {
            let h = s
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            let h = h.split('/').next().unwrap_or(h);
            if matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io") {
                HUB_KEY.to_string()
            } else {
                h.to_string()
            }
        }
    }
}

fn helper_for(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    cfg.get("credHelpers")
        .and_then(|h| h.get(key))
        .and_then(Value::as_str)
        .or_else(|| cfg.get("credsStore").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn run_helper(helper: &str, action: &str, input: &str) -> Result<String, String> {
    let prog = format!("docker-credential-{helper}");
    let mut child = Command::new(&prog)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("error getting credentials - err: {e}, out: `{prog}`"))?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(stdout);
    }
    Ok(stdout)
}

/// The stored credentials for a registry, as the Engine API's AuthConfig.
fn get_auth(key: &str) -> Option<AuthConfig> {
    let cfg = read_config();
    if let Some(h) = helper_for(&cfg, key) {
        let out = run_helper(&h, "get", key).ok()?;
        let v: Value = serde_json::from_str(&out).ok()?;
        return Some(helper_auth(key, &v));
    }
    entry_auth(key, cfg.get("auths")?.get(key)?)
}

/// A credential helper's answer (`{"Username", "Secret"}`; user `<token>`: an identity
/// token) as the AuthConfig sent for `key`.
fn helper_auth(key: &str, v: &Value) -> AuthConfig {
    let user = v.get("Username").and_then(Value::as_str).unwrap_or("");
    let secret = v.get("Secret").and_then(Value::as_str).unwrap_or("");
    if user == "<token>" {
        AuthConfig {
            identitytoken: secret.to_string(),
            serveraddress: key.to_string(),
            ..Default::default()
        }
    } else {
        AuthConfig {
            username: user.to_string(),
            password: secret.to_string(),
            serveraddress: key.to_string(),
            ..Default::default()
        }
    }
}

/// config.json's `auths` entry for `key` (`auth`: base64 of `user:password`,
/// `identitytoken`) as the AuthConfig sent for it; `None` when `auth` does not decode.
fn entry_auth(key: &str, e: &Value) -> Option<AuthConfig> {
    let mut out = AuthConfig {
        serveraddress: key.to_string(),
        ..Default::default()
    };
    if let Some(a) = e.get("auth").and_then(Value::as_str) {
        let raw = base64::engine::general_purpose::STANDARD.decode(a).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        out.username = u.to_string();
        out.password = p.to_string();
    }
    if let Some(t) = e.get("identitytoken").and_then(Value::as_str) {
        out.identitytoken = t.to_string();
    }
    Some(out)
}

/// Every stored credential, as the docker CLI's ConfigFile.GetAllCredentials: the default
/// store's (config.json's `auths`, or the `credsStore` helper's `list`), then each
/// `credHelpers` registry's, which win; a registry helper that fails is skipped (docker
/// warns and goes on).
pub fn all_credentials() -> Result<std::collections::BTreeMap<String, AuthConfig>, String> {
    let cfg = read_config();
    let mut out = std::collections::BTreeMap::new();
    let store = cfg
        .get("credsStore")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(auths) = cfg.get("auths").and_then(Value::as_object) {
        for (k, e) in auths {
            if let Some(a) = entry_auth(k, e) {
                out.insert(k.clone(), a);
            }
        }
    }
    if let Some(h) = store {
        let list = run_helper(h, "list", "")?;
        let listed: Map<String, Value> = serde_json::from_str(&list).unwrap_or_default();
        for k in listed.keys() {
            let got = run_helper(h, "get", k)?;
            let v: Value = serde_json::from_str(&got).map_err(|e| e.to_string())?;
            out.insert(k.clone(), helper_auth(k, &v));
        }
    }
    if let Some(helpers) = cfg.get("credHelpers").and_then(Value::as_object) {
        for (k, h) in helpers {
            let Some(h) = h.as_str() else { continue };
            let Ok(got) = run_helper(h, "get", k) else {
                continue;
            };
            if let Ok(v) = serde_json::from_str::<Value>(&got) {
                out.insert(k.clone(), helper_auth(k, &v));
            }
        }
    }
    Ok(out)
}

/// The stored credentials for the registry of an image reference (`None`: anonymous).
pub(crate) fn credentials(image: &str) -> Option<AuthConfig> {
    get_auth(&registry_key(image))
}

/// The client with the image's registry credentials attached (an empty `{}` otherwise).
pub fn authed(c: &Client, image: &str) -> Client {
    let a = get_auth(&registry_key(image)).unwrap_or_default();
    c.with_header("X-Registry-Auth", &a.to_header())
}

/// Prints a pull/push progress stream as docker's jsonmessage does (see
/// [`crate::jsonmessage`]); `quiet` shows nothing but the error the stream ends with.
fn print_stream(r: &mut dyn Read, quiet: bool, to_stderr: bool) -> Result<(), String> {
    let tty = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let mut out: Box<dyn Write> = match (quiet, to_stderr) {
        (true, _) => Box::new(std::io::sink()),
        (false, true) => Box::new(std::io::stderr().lock()),
        (false, false) => Box::new(std::io::stdout().lock()),
    };
    crate::jsonmessage::Display::new(&mut out, tty && !quiet)
        .run(r, &mut |_| {})
        .map_err(|e| e.message)
}

/// Splits `name[:tag|@digest]` into the name and the tag or digest.
fn split_ref(r: &str) -> (String, Option<String>) {
    if let Some((n, d)) = r.split_once('@') {
        return (n.to_string(), Some(d.to_string()));
    }
    let last = r.rsplit('/').next().unwrap_or(r);
    match last.rsplit_once(':') {
        Some((_, t)) => (r[..r.len() - t.len() - 1].to_string(), Some(t.to_string())),
        None => (r.to_string(), None),
    }
}

/// The fully qualified form docker prints after a pull: `docker.io/library/busybox:latest`.
fn qualified(name: &str) -> String {
    let first = name.split('/').next().unwrap_or("");
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_domain {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    }
}

/// Pulls for `run`/`create` (progress on stderr, as docker run shows it).
pub fn pull_quietly(
    c: &Client,
    image: &str,
    platform: Option<&str>,
    quiet: bool,
) -> Result<(), String> {
    let (name, tag) = split_ref(image);
    let tag = tag.unwrap_or_else(|| "latest".into());
    let mut path = format!("/images/create?fromImage={}&tag={}", q(&name), q(&tag));
    if let Some(p) = platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    let resp = authed(c, &name)
        .call("POST", &path, Body::None)
        .map_err(|e| e.to_string())?;
    let mut body = resp.body;
    print_stream(&mut body, quiet, true)
}

/// The raw JSON message stream of a pull (`POST /images/create`), for a caller that shows
/// the messages its own way (compose's progress events), or the call's own error.
pub fn pull_stream(
    c: &Client,
    image: &str,
    platform: Option<&str>,
) -> crate::client::Result<Box<dyn Read + Send>> {
    let (name, tag) = split_ref(image);
    let tag = tag.unwrap_or_else(|| "latest".into());
    let mut path = format!("/images/create?fromImage={}&tag={}", q(&name), q(&tag));
    if let Some(p) = platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    Ok(authed(c, &name).call("POST", &path, Body::None)?.body)
}

/// The raw JSON message stream of a push of `image` (its tag, `latest` when it names
/// none), as [`pull_stream`].
pub fn push_stream(c: &Client, image: &str) -> crate::client::Result<Box<dyn Read + Send>> {
    let (name, tag) = split_ref(image);
    let tag = tag.unwrap_or_else(|| "latest".into());
    let path = format!("/images/{}/push?tag={}", q(&name), q(&tag));
    Ok(authed(c, &name).call("POST", &path, Body::None)?.body)
}

/// `pull`'s flags.
#[derive(Parser)]
struct PullCmd {
    #[arg(
        short = 'a',
        long = "all-tags",
        help = "Download all tagged images in the repository"
    )]
    all_tags: bool,
    #[arg(short = 'q', long, help = "Suppress verbose output")]
    quiet: bool,
    #[arg(
        long,
        help = "Set platform if server is multi-platform capable",
        value_name = "string"
    )]
    platform: Option<String>,
    // Content trust is refused when asked for (DOCKER_CONTENT_TRUST); skipping it is a no-op.
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Skip image verification (default true)", value_name = "bool")]
    _dct: bool,
    args: Vec<String>,
}

/// `push`'s flags.
#[derive(Parser)]
struct PushCmd {
    #[arg(
        short = 'a',
        long = "all-tags",
        help = "Push all tags of an image to the repository"
    )]
    all_tags: bool,
    #[arg(short = 'q', long, help = "Suppress verbose output")]
    quiet: bool,
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Skip image signing (default true)", value_name = "bool")]
    _dct: bool,
    /// API 1.46 (docker 27): the image must be of that platform (the daemon checks).
    #[arg(
        long,
        help = "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
        value_name = "string"
    )]
    platform: Option<String>,
    args: Vec<String>,
}

/// The docker CLI's note when `push --platform` is given (tui's PrintNote, not a terminal).
const PUSH_PLATFORM_NOTE: &str = "Using --platform pushes only the specified platform manifest of a multi-platform image index.\nOther components, like attestations, will not be included.\nTo push the complete multi-platform image, remove the --platform flag.\n";

/// `push --platform`'s value as the docker CLI sends it: containerd's platforms.Parse
/// (normalised), as a JSON OCI platform.
fn push_platform(p: &str) -> Result<String, Failure> {
    // containerd knows these architectures (and their aliases); berth_registry's parser
    // takes any word as one.
    const ARCHES: &[&str] = &[
        "386", "amd64", "arm", "arm64", "ppc64", "ppc64le", "s390x", "riscv64", "mips", "mipsle",
        "mips64", "mips64le", "loong64", "wasm", "x86_64", "x86-64", "aarch64", "armhf", "armel",
        "i386", "i486", "i586", "i686",
    ];
    let known = |s: &str| ARCHES.contains(&s.to_ascii_lowercase().as_str());
    let parsed = berth_registry::parse_platform(p).map_err(|e| e.to_string());
    let parsed = match parsed {
        Ok(t) if p.contains('/') || known(p) || p == "linux" => Ok(t),
        Ok(_) => Err(format!(
            "\"{p}\": unknown operating system or architecture: invalid argument"
        )),
        Err(e) => Err(e),
    };
    let (os, arch, variant) = parsed.map_err(|e| {
        // The docker CLI writes this line without a newline before the error itself.
        eprint!("Invalid platform {p}");
        Failure::new(e, 1)
    })?;
    let mut v = serde_json::json!({ "architecture": arch, "os": os });
    if let Some(var) = variant {
        v["variant"] = serde_json::json!(var);
    }
    Ok(v.to_string())
}

/// The `tag` query of pull and push: the reference's tag or digest, none for `-a`, else
/// `latest`.
fn tag_query(tag: Option<&str>, all_tags: bool) -> Result<String, Failure> {
    match (tag, all_tags) {
        (Some(_), true) => Err(Failure::new("tag can't be used with --all-tags/-a", 1)),
        (Some(t), false) => Ok(t.to_string()),
        (None, true) => Ok(String::new()),
        (None, false) => Ok("latest".to_string()),
    }
}

pub fn cmd_pull(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PullCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let image = &o.args[0];
    let (name, tag) = split_ref(image);
    let tag_q = tag_query(tag.as_deref(), o.all_tags)?;
    let mut path = format!("/images/create?fromImage={}&tag={}", q(&name), q(&tag_q));
    if let Some(p) = &o.platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    let c = authed(ctx.client()?, &name);
    let resp = c.call("POST", &path, Body::None)?;
    let mut body = resp.body;
    // A stream error is printed as is (docker adds no prefix to it).
    print_stream(&mut body, o.quiet, false).map_err(|e| Failure::new(e, 1))?;
    let shown = match (&tag, o.all_tags) {
        (Some(t), _) if t.starts_with("sha256:") => format!("{}@{t}", qualified(&name)),
        (Some(t), _) => format!("{}:{t}", qualified(&name)),
        (None, true) => qualified(&name),
        (None, false) => format!("{}:latest", qualified(&name)),
    };
    println!("{shown}");
    Ok(0)
}

/// `push`: `--platform` (API 1.46) prints the docker CLI's note and sends the platform as
/// JSON; the daemon refuses an image of another platform with moby's 404.
pub fn cmd_push(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PushCmd = parse(inv, args)?;
    if o.platform.is_some() {
        super::require_api(ctx, "platform", (1, 46))?;
    }
    inv.exactly(&o.args, 1)?;
    let platform = match o.platform.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            let json = push_platform(p)?;
            crate::jsonmessage::print_note(PUSH_PLATFORM_NOTE);
            Some(json)
        }
        None => None,
    };
    let image = &o.args[0];
    let (name, tag) = split_ref(image);
    let tag_q = tag_query(tag.as_deref(), o.all_tags)?;
    if tag.is_none() && !o.all_tags && !o.quiet {
        println!("Using default tag: latest");
    }
    let mut path = format!("/images/{}/push?tag={}", q(&name), q(&tag_q));
    if let Some(p) = &platform {
        path.push_str(&format!("&platform={}", q(p)));
    }
    let c = authed(ctx.client()?, &name);
    let resp = c.call("POST", &path, Body::None)?;
    let mut body = resp.body;
    // A stream error is printed as is (docker adds no prefix to it).
    print_stream(&mut body, o.quiet, false).map_err(|e| Failure::new(e, 1))?;
    if o.quiet {
        println!("{image}");
    }
    Ok(0)
}

#[derive(Parser)]
struct LoginCmd {
    #[arg(short = 'u', long, help = "Username", value_name = "string")]
    username: Option<String>,
    #[arg(
        short = 'p',
        long,
        help = "Password or Personal Access Token (PAT)",
        value_name = "string"
    )]
    password: Option<String>,
    #[arg(
        long = "password-stdin",
        help = "Take the Password or Personal Access Token (PAT) from stdin"
    )]
    password_stdin: bool,
    args: Vec<String>,
}

pub fn cmd_login(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LoginCmd = parse(inv, args)?;
    if o.args.len() > 1 {
        return Err(inv.needs("at most", 1));
    }
    let key = server_key(o.args.first().map(String::as_str));
    let mut password = o.password.clone();
    if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        if o.password_stdin {
            return Err(Failure::new(
                "--password and --password-stdin are mutually exclusive",
                1,
            ));
        }
    }
    if o.password_stdin {
        if o.username.is_none() {
            return Err(Failure::new(
                "Must provide --username with --password-stdin",
                1,
            ));
        }
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::new(e.to_string(), 1))?;
        password = Some(s.trim_end_matches(['\n', '\r']).to_string());
    }
    let username = match o.username.clone() {
        Some(u) => u,
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(Failure::new(
                    "Error: Cannot perform an interactive login from a non TTY device",
                    1,
                ));
            }
            eprint!("Username: ");
            let mut s = String::new();
            let _ = std::io::stdin().lock().read_line(&mut s);
            s.trim().to_string()
        }
    };
    let password = match password {
        Some(p) => p,
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(Failure::new(
                    "Error: Cannot perform an interactive login from a non TTY device",
                    1,
                ));
            }
            eprint!("Password: ");
            let mut s = String::new();
            let _ = std::io::stdin().lock().read_line(&mut s);
            s.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if username.is_empty() {
        return Err(Failure::new("Error: Non-null Username Required", 1));
    }
    if password.is_empty() {
        return Err(Failure::new("Error: Password Required", 1));
    }
    let body = AuthConfig {
        username: username.clone(),
        password: password.clone(),
        serveraddress: key.clone(),
        ..Default::default()
    };
    let resp = ctx
        .client()?
        .post_json(
            "/auth",
            Body::typed(&body).map_err(|e| Failure::new(e.to_string(), 1))?,
        )
        .map_err(|e| Failure::new(e.to_string(), 1))?;
    let token = serde_json::from_value::<AuthResponse>(resp)
        .map(|r| r.identity_token)
        .unwrap_or_default();
    let mut cfg = read_config();
    if let Some(h) = helper_for(&cfg, &key) {
        let (u, secret) = if token.is_empty() {
            (username.clone(), password.clone())
        } else {
            ("<token>".to_string(), token.clone())
        };
        let input = json!({ "ServerURL": key, "Username": u, "Secret": secret }).to_string();
        run_helper(&h, "store", &input)
            .map_err(|e| Failure::new(format!("Error saving credentials: {e}"), 1))?;
    } else {
        let auths = cfg.entry("auths".to_string()).or_insert_with(|| json!({}));
        if !auths.is_object() {
            *auths = json!({});
        }
        let raw = format!("{username}:{password}");
        let mut entry = json!({ "auth": base64::engine::general_purpose::STANDARD.encode(raw) });
        if !token.is_empty() {
            entry = json!({ "identitytoken": token });
        }
        auths[key.as_str()] = entry;
        write_config(&cfg)?;
        eprintln!(
            "WARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
            config_path().display()
        );
    }
    println!("Login Succeeded");
    Ok(0)
}

#[derive(Parser)]
struct LogoutCmd {
    args: Vec<String>,
}

pub fn cmd_logout(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LogoutCmd = parse(inv, args)?;
    if o.args.len() > 1 {
        return Err(inv.needs("at most", 1));
    }
    let key = server_key(o.args.first().map(String::as_str));
    let shown = o.args.first().cloned().unwrap_or_else(|| key.clone());
    let mut cfg = read_config();
    let in_file = cfg.get("auths").and_then(|a| a.get(&key)).is_some();
    let helper = helper_for(&cfg, &key);
    if !in_file && helper.is_none() {
        println!("Not logged in to {shown}");
        return Ok(0);
    }
    println!("Removing login credentials for {shown}");
    if let Some(h) = helper {
        let _ = run_helper(&h, "erase", &key);
    }
    if let Some(a) = cfg.get_mut("auths").and_then(Value::as_object_mut) {
        a.remove(&key);
    }
    write_config(&cfg)?;
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[CatalogCommand] = &[
    CatalogCommand::new(
        "image pull",
        "[OPTIONS] NAME[:TAG|@DIGEST]",
        "Download an image from a registry",
        PullCmd::command,
        cmd_pull,
    )
    .aliases(&["pull"]),
    CatalogCommand::new(
        "image push",
        "[OPTIONS] NAME[:TAG]",
        "Upload an image to a registry",
        PushCmd::command,
        cmd_push,
    )
    .aliases(&["push"]),
    CatalogCommand::new(
        "login",
        "[OPTIONS] [SERVER]",
        "Authenticate to a registry",
        LoginCmd::command,
        cmd_login,
    )
    .long("Authenticate to a registry.\nDefaults to Docker Hub if no server is specified."),
    CatalogCommand::new(
        "logout",
        "[SERVER]",
        "Log out from a registry",
        LogoutCmd::command,
        cmd_logout,
    )
    .long("Log out from a registry.\nIf no server is specified, the default is defined by the daemon."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_and_qualify() {
        assert_eq!(split_ref("busybox"), ("busybox".into(), None));
        assert_eq!(
            split_ref("127.0.0.1:5000/a/b:v1"),
            ("127.0.0.1:5000/a/b".into(), Some("v1".into()))
        );
        assert_eq!(
            split_ref("localhost:5000/x"),
            ("localhost:5000/x".into(), None)
        );
        assert_eq!(qualified("busybox"), "docker.io/library/busybox");
        assert_eq!(qualified("user/app"), "docker.io/user/app");
        assert_eq!(qualified("127.0.0.1:5000/x"), "127.0.0.1:5000/x");
        assert_eq!(registry_key("127.0.0.1:5000/x"), "127.0.0.1:5000");
        assert_eq!(registry_key("busybox"), HUB_KEY);
        assert_eq!(server_key(Some("http://127.0.0.1:5000/")), "127.0.0.1:5000");
    }

    /// The AuthConfig values as json! built them before the typed model.
    fn helper_auth_before(key: &str, v: &Value) -> Value {
        let user = v.get("Username").and_then(Value::as_str).unwrap_or("");
        let secret = v.get("Secret").and_then(Value::as_str).unwrap_or("");
        if user == "<token>" {
            json!({ "identitytoken": secret, "serveraddress": key })
        } else {
            json!({ "username": user, "password": secret, "serveraddress": key })
        }
    }

    fn entry_auth_before(key: &str, e: &Value) -> Option<Value> {
        let mut out = json!({ "serveraddress": key });
        if let Some(a) = e.get("auth").and_then(Value::as_str) {
            let raw = base64::engine::general_purpose::STANDARD.decode(a).ok()?;
            let s = String::from_utf8(raw).ok()?;
            let (u, p) = s.split_once(':')?;
            out["username"] = json!(u);
            out["password"] = json!(p);
        }
        if let Some(t) = e.get("identitytoken").and_then(Value::as_str) {
            out["identitytoken"] = json!(t);
        }
        Some(out)
    }

    /// The typed credentials carry what the json! ones did: the daemon decodes both
    /// headers to the same AuthConfig. The bytes are moby's (its field order, empty
    /// fields left out: what the docker CLI sends), so they differ from the old ones where
    /// `serveraddress` came first or a field was empty; the login body is the same bytes.
    #[test]
    fn typed_credentials_read_as_before() {
        let key = "127.0.0.1:5000";
        let header = |v: &Value| base64::engine::general_purpose::URL_SAFE.encode(v.to_string());
        let login_before =
            json!({ "username": "u", "password": "p", "serveraddress": key }).to_string();
        let login = AuthConfig {
            username: "u".into(),
            password: "p".into(),
            serveraddress: key.into(),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&login).unwrap(), login_before);
        for helper in [
            json!({"Username": "u", "Secret": "s"}),
            json!({"Username": "<token>", "Secret": "tok"}),
            json!({"Username": "", "Secret": ""}),
            json!({}),
        ] {
            let (now, before) = (helper_auth(key, &helper), helper_auth_before(key, &helper));
            assert_eq!(now, serde_json::from_value(before.clone()).unwrap());
            assert_eq!(now, AuthConfig::from_header(&header(&before)), "{helper}");
            assert_eq!(AuthConfig::from_header(&now.to_header()), now);
        }
        let auth = base64::engine::general_purpose::STANDARD.encode("u:p:w");
        for entry in [
            json!({"auth": auth}),
            json!({"auth": auth, "identitytoken": "tok"}),
            json!({"identitytoken": "tok"}),
            json!({}),
            json!({"auth": "!!"}),
        ] {
            let (now, before) = (entry_auth(key, &entry), entry_auth_before(key, &entry));
            assert_eq!(now.is_some(), before.is_some(), "{entry}");
            if let (Some(now), Some(before)) = (now, before) {
                assert_eq!(now, AuthConfig::from_header(&header(&before)), "{entry}");
            }
        }
        // No credentials: `{}`, the same header as before.
        assert_eq!(AuthConfig::default().to_header(), header(&json!({})));
    }
}

//! `berth`: the CLI. Invoked as `docker-compose` or `berth-compose` (a symlink, or the
//! docker CLI plugin) it is `berth compose`. `berth daemon ARGS` becomes `berthd ARGS` (the
//! daemon's own binary, `src/bin/berthd.rs`; see `berth_cli::daemon_binary` for why two).

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    berth_cli::register_external(vec![
        ("compose", berth_compose::cli::main),
        ("stack", berth_compose::stack::main),
    ]);
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if invoked_as == "docker-compose" || invoked_as == "berth-compose" {
        std::process::exit(compose_entry(args));
    }
    let code = match args.get(1).and_then(|a| a.to_str()) {
        Some("daemon") => berth_cli::daemon_binary::exec_daemon(&args[2..]),
        _ => berth_cli::run(args),
    };
    std::process::exit(code);
}

/// The binary as `docker-compose`/`berth-compose`: the docker CLI plugin protocol
/// (`docker-cli-plugin-metadata`, then `docker-compose [GLOBAL FLAGS] compose ARGS`) or the
/// v1 spelling (`docker-compose ARGS`). The daemon is DOCKER_HOST's when set.
fn compose_entry(args: Vec<OsString>) -> i32 {
    if args.get(1).and_then(|a| a.to_str()) == Some("docker-cli-plugin-metadata") {
        println!(
            "{{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"berth\",\"Version\":\"v{}\",\"ShortDescription\":\"Docker Compose (berth)\",\"URL\":\"https://github.com/berth\"}}",
            env!("CARGO_PKG_VERSION")
        );
        return 0;
    }
    let as_plugin = std::env::var_os("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND").is_some()
        || args.iter().skip(1).any(|a| a == "compose")
            && args
                .get(1)
                .is_some_and(|a| a == "compose" || a.to_string_lossy().starts_with('-'))
            && std::env::var_os("DOCKER_CLI_PLUGIN_SOCKET").is_some();
    let mut argv: Vec<OsString> = vec![args[0].clone()];
    let has_host = args
        .iter()
        .any(|a| a == "-H" || a.to_string_lossy().starts_with("--host"));
    if !has_host && std::env::var_os("BERTH_HOST").is_none() {
        if let Some(h) = std::env::var_os("DOCKER_HOST").filter(|h| !h.is_empty()) {
            argv.push("-H".into());
            argv.push(h);
        }
    }
    if as_plugin {
        argv.extend(args[1..].iter().cloned());
    } else {
        argv.push("compose".into());
        argv.extend(args[1..].iter().cloned());
    }
    berth_cli::run(argv)
}

//! `berth`: the CLI, `berth daemon`, and the hidden `berth shim` in one binary.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = match args.get(1).and_then(|a| a.to_str()) {
        Some("daemon") => {
            let mut rest = vec![args[0].clone()];
            rest.extend(args[2..].iter().cloned());
            berth_daemon::run(rest)
        }
        Some("shim") => {
            let rest: Vec<String> = args[2..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            berth_runtime::shim::main(&rest)
        }
        Some("shim-zygote") => berth_runtime::shim::zygote_main(),
        _ => berth_cli::run(args),
    };
    std::process::exit(code);
}

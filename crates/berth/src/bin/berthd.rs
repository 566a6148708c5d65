//! `berthd`: the daemon (what `berth daemon` runs), and the hidden `berthd shim` and
//! `berthd shim-zygote` that the daemon starts from its own binary for each container.

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = match args.get(1).and_then(|a| a.to_str()) {
        Some("shim") => {
            let rest: Vec<String> = args[2..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            berth_runtime::shim::main(&rest)
        }
        Some("shim-zygote") => berth_runtime::shim::zygote_main(),
        _ => berth_daemon::run(args),
    };
    std::process::exit(code);
}

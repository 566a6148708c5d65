//! Stand-alone entry to the CLI, used by tests/oracle_compare.sh while the `berth` binary
//! is developed in parallel.
fn main() {
    std::process::exit(berth_cli::run(std::env::args_os().collect()));
}

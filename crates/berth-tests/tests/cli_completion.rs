//! Shell completion (prefix `clicomp_`): the scripts `berth completion SHELL` prints, installed
//! by `scripts/install-completion.sh` and loaded into bash and zsh, asked for commands,
//! flags, flag values and the names of a test daemon's containers (running ones only for
//! exec/stop), images, networks and volumes.
//!
//! bash runs its real completion function (`__start_berth`, with bash-completion loaded) on
//! a prepared `COMP_WORDS`; zsh sources the script and calls `_berth` with `words`/`CURRENT`
//! set, `_describe` and `compadd` standing in for zle's (completion widgets need a terminal),
//! so what is checked is the list the script hands zsh.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_tests::remote::ScratchDir;
use berth_tests::{berth_bin, run_command, workspace_root, TestDaemon};

/// The lines: `berth WORDS...` then the case's output lines, "--- WORDS" after each case.
const CASES: &[&str] = &[
    "berth ex",
    "berth exec --",
    "berth exec ''",
    "berth stop ''",
    "berth start ''",
    "berth rm ''",
    "berth rm -f ''",
    "berth run --restart ''",
    "berth run ''",
    "berth network inspect ''",
    "berth volume rm ''",
    "berth network ''",
];

/// Runs `script` in `shell` with berth on PATH and the daemon as DOCKER_HOST; returns each
/// case's completions.
fn complete(shell: &str, script: &str, d: &TestDaemon, cfg: &Path) -> HashMap<String, Vec<String>> {
    let bin_dir = berth_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(shell);
    c.arg("-c")
        .arg(script)
        .env("PATH", path)
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", cfg)
        .env("BERTH_NO_AUTOSTART", "1")
        .env_remove("BERTH_HOST")
        .env_remove("DOCKER_CONTEXT");
    let out = run_command(c, None, Duration::from_secs(60));
    out.success();
    let mut cases = HashMap::new();
    let mut cur = Vec::new();
    for line in out.stdout.lines() {
        match line.strip_prefix("--- ") {
            Some(case) => {
                cases.insert(case.trim().to_string(), std::mem::take(&mut cur));
            }
            None => cur.push(line.to_string()),
        }
    }
    assert_eq!(
        cases.len(),
        CASES.len(),
        "{shell}: every case answered: {}\n{}",
        out.stdout,
        out.stderr
    );
    cases
}

/// The value of one answer line: zsh's carry ":description" after the value, whose own
/// colons are escaped (`busybox\:latest`); bash's are the value.
fn candidate(shell: &str, line: &str) -> String {
    if shell != "zsh" {
        return line.to_string();
    }
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            ':' => break,
            c => out.push(c),
        }
    }
    out
}

/// Checks one shell's answers. zsh's candidates carry ":description"; bash's do not.
fn check(shell: &str, cases: &HashMap<String, Vec<String>>) {
    let values = |case: &str| -> Vec<String> {
        cases
            .get(case.replace("''", "").trim())
            .unwrap_or_else(|| panic!("{shell}: no case {case}: {cases:?}"))
            .iter()
            .map(|l| candidate(shell, l))
            .collect()
    };
    let has = |case: &str, want: &[&str], unwanted: &[&str]| {
        let v = values(case);
        for w in want {
            assert!(
                v.iter().any(|x| x == w),
                "{shell}: `{case}` offers {w}: {v:?}"
            );
        }
        for u in unwanted {
            assert!(
                !v.iter().any(|x| x == u),
                "{shell}: `{case}` does not offer {u}: {v:?}"
            );
        }
    };
    has("berth ex", &["exec", "export"], &["run", "ps"]);
    has(
        "berth exec --",
        &["--detach", "--interactive", "--tty", "--user"],
        &["--rm"],
    );
    has("berth exec ''", &["comp-running"], &["comp-stopped"]);
    has("berth stop ''", &["comp-running"], &["comp-stopped"]);
    has("berth start ''", &["comp-stopped"], &["comp-running"]);
    // As docker 28: rm offers running containers only with -f.
    has("berth rm ''", &["comp-stopped"], &["comp-running"]);
    has("berth rm -f ''", &["comp-running", "comp-stopped"], &[]);
    has(
        "berth run --restart ''",
        &["no", "always", "on-failure", "unless-stopped"],
        &[],
    );
    has("berth run ''", &["busybox:latest"], &["comp-running"]);
    has(
        "berth network inspect ''",
        &["comp-net", "bridge"],
        &["comp-vol"],
    );
    has("berth volume rm ''", &["comp-vol"], &["comp-net"]);
    has(
        "berth network ''",
        &["connect", "create", "inspect", "ls", "rm"],
        &["comp-net"],
    );
}

#[test]
fn clicomp_bash_and_zsh_complete_commands_flags_and_names() {
    let d = TestDaemon::start();
    d.berth([
        "run",
        "-d",
        "--name",
        "comp-running",
        "busybox",
        "sleep",
        "300",
    ])
    .run()
    .success();
    d.berth(["create", "--name", "comp-stopped", "busybox", "true"])
        .run()
        .success();
    d.berth(["network", "create", "comp-net"]).run().success();
    d.berth(["volume", "create", "comp-vol"]).run().success();

    // The project's install script puts the scripts where the shells look for them.
    let cfg = ScratchDir::new("comp-cfg");
    let root = ScratchDir::new("comp-root");
    let mut inst = Command::new("bash");
    inst.arg(workspace_root().join("scripts/install-completion.sh"))
        .arg(berth_bin())
        .env("DESTDIR", root.path());
    run_command(inst, None, Duration::from_secs(60))
        .success()
        .stdout_contains("install-completion: bash");
    let bash_script = root
        .path()
        .join("usr/share/bash-completion/completions/berth");
    let zsh_script = root.path().join("usr/share/zsh/vendor-completions/_berth");
    let fish_script = root
        .path()
        .join("usr/share/fish/vendor_completions.d/berth.fish");
    for f in [&bash_script, &zsh_script, &fish_script] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        assert!(
            text.contains("__complete"),
            "{} asks berth __complete",
            f.display()
        );
    }

    let case_calls = |call: &str| -> String {
        CASES
            .iter()
            .map(|c| format!("{call} {c}; echo \"--- {}\"\n", c.replace("''", "")))
            .collect()
    };
    // bash: bash-completion's helpers, the installed script, then the completion function on
    // each prepared command line (compopt only works inside a real completion: a no-op).
    let bash = format!(
        r#"
source /usr/share/bash-completion/bash_completion
source {script}
compopt() {{ :; }}
comp() {{
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
    COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
    __start_berth berth "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    printf '%s\n' "${{COMPREPLY[@]}}"
}}
{cases}"#,
        script = bash_script.display(),
        cases = case_calls("comp"),
    );
    check("bash", &complete("bash", &bash, &d, cfg.path()));

    // zsh: the script as installed (it calls compdef, which compinit provides), _berth with
    // the words set, and the candidates zsh's _describe would list.
    let zsh = format!(
        r#"
compdef() {{ : }}
_describe() {{ print -rl -- "${{completions[@]}}" }}
compadd() {{ print -rl -- "compadd $*" }}
_arguments() {{ print -rl -- "_arguments $*" }}
source {script}
comp() {{ words=("$@"); CURRENT=${{#words}}; _berth }}
{cases}"#,
        script = zsh_script.display(),
        cases = case_calls("comp"),
    );
    check("zsh", &complete("zsh", &zsh, &d, cfg.path()));

    // fish and PowerShell: the scripts register berth's completer and ask __complete.
    d.berth(["completion", "fish"])
        .run()
        .success()
        .stdout_contains("complete -c berth")
        .stdout_contains("__complete");
    d.berth(["completion", "powershell"])
        .run()
        .success()
        .stdout_contains("Register-ArgumentCompleter")
        .stdout_contains("__complete");
    // A shell berth has no script for: cobra's unknown command.
    d.berth(["completion", "tcsh"])
        .run()
        .code(1)
        .stderr_contains("unknown command: berth completion tcsh");

    // One installer (issue 19): install.sh delegates to install-completion.sh, whose
    // --uninstall removes exactly the files it installed.
    let install_sh = std::fs::read_to_string(workspace_root().join("scripts/install.sh"))
        .expect("scripts/install.sh");
    assert!(
        install_sh.contains("scripts/install-completion.sh \"$PREFIX/bin/berth\"")
            && install_sh.contains("scripts/install-completion.sh --uninstall")
            && !install_sh.contains("completion zsh"),
        "install.sh installs completions through install-completion.sh only"
    );
    let mut un = Command::new("bash");
    un.arg(workspace_root().join("scripts/install-completion.sh"))
        .arg("--uninstall")
        .env("DESTDIR", root.path());
    run_command(un, None, Duration::from_secs(60)).success();
    for f in [&bash_script, &zsh_script, &fish_script] {
        assert!(!f.exists(), "{} removed by --uninstall", f.display());
    }
}

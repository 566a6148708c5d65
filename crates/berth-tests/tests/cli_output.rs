//! Output for people (prefix `clioutput_`): `load` shows moby's "Loading layer" bars redrawn
//! in place on a terminal (a pty from `script`) and plain lines elsewhere, through berth's
//! CLI and the docker CLI against the berth daemon.

use std::process::{Command, Stdio};

use berth_tests::{busybox_tar, Client, TestDaemon};

/// `args` through `client` on a terminal: what the terminal showed.
fn on_a_terminal(d: &TestDaemon, client: Client, args: &[&str]) -> String {
    let line = d.shell_line(client, args);
    let out = Command::new("timeout")
        .args(["60", "script", "-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn clioutput_load_redraws_layer_bars_on_a_terminal_only() {
    let tar = busybox_tar();
    let tar = tar.to_string_lossy();
    for c in Client::BOTH {
        let d = TestDaemon::start_empty();
        let out = on_a_terminal(&d, c, &["load", "-i", &tar]);
        // The layer's line: a new line, then cursor up, clear line, the bar, back down.
        // (the `[==>  ]` box only on terminals wider than 110 columns, as docker's).
        assert!(out.contains(": Loading layer "), "{c:?}: {out:?}");
        assert!(out.contains("2.14MB/2.14MB\r"), "{c:?}: {out:?}");
        assert!(out.contains("\x1b[1A\x1b[2K\r"), "{c:?}: {out:?}");
        assert!(out.contains("\r\x1b[1B"), "{c:?}: {out:?}");
        assert!(
            out.contains("Loaded image: busybox:latest"),
            "{c:?}: {out:?}"
        );
        // A layer the store has is not loaded again: no bar (moby's load skips it).
        let again = on_a_terminal(&d, c, &["load", "-i", &tar]);
        assert!(!again.contains("Loading layer"), "{c:?}: {again:?}");
        assert!(
            again.contains("Loaded image: busybox:latest"),
            "{c:?}: {again:?}"
        );

        // Without a terminal: plain lines, no escape sequences, no bars.
        let p = TestDaemon::start_empty();
        let plain = p.run(c, &["load", "-i", &tar]).success().out();
        assert_eq!(plain, "Loaded image: busybox:latest", "{c:?}");
        // -q on a terminal: nothing but the result either.
        let q = TestDaemon::start_empty();
        let quiet = on_a_terminal(&q, c, &["load", "-q", "-i", &tar]);
        assert!(!quiet.contains("Loading layer"), "{c:?}: {quiet:?}");
        assert!(
            quiet.contains("Loaded image: busybox:latest"),
            "{c:?}: {quiet:?}"
        );
    }
}

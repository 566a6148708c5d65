//! Differential tests (prefix `compat_`): each scenario runs the same command lines against a
//! private real dockerd and a private berth daemon and compares the normalised outputs
//! (`berth_tests::differential`). A new difference is found by adding a scenario.

use berth_tests::differential::{Differ, Scenario};

const S: Scenario = Scenario::DEFAULT;

/// The harness itself: plain commands whose outputs already agree.
#[test]
fn compat_harness() {
    Differ::start().check(&[
        Scenario {
            name: "run prints the command's output",
            run: "docker run --rm busybox echo hello; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "exit codes pass through",
            run: "docker run --rm busybox sh -c 'exit 3'",
            ..S
        },
        Scenario {
            name: "a missing container is reported",
            run: "docker inspect nosuch",
            ..S
        },
        Scenario {
            name: "ids and names",
            setup: "docker create --name c1 busybox true",
            run: "docker ps -a --format '{{.ID}} {{.Names}} {{.Image}} {{.Status}}'\n\
                  docker inspect -f '{{.Id}} {{.Name}} {{.Config.Hostname}}' c1",
            ..S
        },
        Scenario {
            name: "default bridge addresses",
            setup: "docker run -d --name web busybox sleep 60",
            run: "docker inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}' web",
            ..S
        },
        Scenario {
            name: "raw API: version prefix and status",
            run: "api GET /v1.41/containers/nosuch/json",
            berth_cli: false,
            ..S
        },
    ]);
}

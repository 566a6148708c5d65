//! Differential tests (prefix `compat_`): each scenario runs the same command lines against a
//! private real dockerd and a private berth daemon and compares the normalised outputs
//! (`berth_tests::differential`). A new difference is found by adding a scenario.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;
const M: Moby28 = Moby28::DEFAULT;

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

/// Answers shaped per API version (the `/v1.NN` prefix): moby 28's gates. dockerd 20.10
/// speaks up to 1.41, so versions above it carry moby 28's expectation.
#[test]
fn compat_api_versions() {
    Differ::start().check(&[
        Scenario {
            name: "volume prune below 1.42 removes named volumes too",
            setup: "docker volume create named",
            run: "api POST /v1.41/volumes/prune 2>/dev/null | jq -c .VolumesDeleted\n\
                  docker volume ls -q",
            ..S
        },
        Scenario {
            name: "volume prune from 1.42 keeps named volumes",
            setup: "docker volume create named",
            run: "api POST /v1.44/volumes/prune 2>/dev/null | jq -c .VolumesDeleted\n\
                  docker volume ls -q",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("null\nnamed"),
                stderr: Some(""),
                why: "API 1.42 made prune remove only anonymous volumes; 20.10 speaks 1.41",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "image inspect fields at 1.24 and 1.41",
            run: "for v in 1.24 1.41; do api GET /v$v/images/busybox/json 2>/dev/null | \
                  jq -c '[keys, (.Config|keys), (.ContainerConfig|keys), .VirtualSize == .Size]'; done",
            berth_cli: false,
            moby28: Some(Moby28 {
                stdout: Some(concat!(
                    r#"[["Architecture","Author","Comment","Config","ContainerConfig","Created","DockerVersion","GraphDriver","Id","Metadata","Os","Parent","RepoDigests","RepoTags","RootFS","Size","VirtualSize"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"],true]"#, "\n",
                    r#"[["Architecture","Author","Comment","Config","ContainerConfig","Created","DockerVersion","GraphDriver","Id","Metadata","Os","Parent","RepoDigests","RepoTags","RootFS","Size","VirtualSize"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"],true]"#,
                )),
                why: "moby 25+ omits an empty Container (omitempty); the fixture's config has none",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "image inspect drops VirtualSize at 1.44, ContainerConfig at 1.45",
            run: "for v in 1.44 1.45 1.47; do api GET /v$v/images/busybox/json 2>/dev/null | \
                  jq -c '[keys, (.Config|keys)]'; done",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stderr: Some(""),
                stdout: Some(concat!(
                    r#"[["Architecture","Author","Comment","Config","ContainerConfig","Created","DockerVersion","GraphDriver","Id","Metadata","Os","Parent","RepoDigests","RepoTags","RootFS","Size"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"]]"#, "\n",
                    r#"[["Architecture","Author","Comment","Config","Created","DockerVersion","GraphDriver","Id","Metadata","Os","Parent","RepoDigests","RepoTags","RootFS","Size"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"]]"#, "\n",
                    r#"[["Architecture","Author","Comment","Config","Created","DockerVersion","GraphDriver","Id","Metadata","Os","Parent","RepoDigests","RepoTags","RootFS","Size"],["AttachStderr","AttachStdin","AttachStdout","Cmd","Domainname","Entrypoint","Env","Hostname","Image","Labels","OnBuild","OpenStdin","StdinOnce","Tty","User","Volumes","WorkingDir"]]"#,
                )),
                why: "VirtualSize is gone from 1.44, Container/ContainerConfig from 1.45; 20.10 speaks 1.41",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "image list: untagged images as <none> below 1.43",
            setup: "docker create --name c1 busybox true && docker commit c1",
            run: "api GET /v1.41/images/json 2>/dev/null | \
                  jq -c '[.[] | [.RepoTags, .RepoDigests, .VirtualSize == .Size]] | sort'",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "image list: empty lists and no VirtualSize from 1.44",
            setup: "docker create --name c1 busybox true && docker commit c1",
            run: "api GET /v1.44/images/json 2>/dev/null | \
                  jq -c '[.[] | [.RepoTags, .RepoDigests, has(\"VirtualSize\")]] | sort'",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stderr: Some(""),
                stdout: Some(r#"[[[],[],false],[["busybox:latest"],[],false]]"#),
                why: "1.43 dropped <none>:<none>, 1.44 VirtualSize; 20.10 speaks 1.41",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "container inspect: Aliases hold the short id below 1.45",
            setup: "docker network create n1 && \
                    docker run -d --name c1 --network n1 --network-alias web busybox sleep 60",
            run: "api GET /v1.41/containers/c1/json 2>/dev/null | jq -c '.NetworkSettings.Networks.n1.Aliases'",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "container inspect: Aliases only as asked from 1.45",
            setup: "docker network create n1 && \
                    docker run -d --name c1 --network n1 --network-alias web busybox sleep 60",
            run: "api GET /v1.45/containers/c1/json 2>/dev/null | jq -c '.NetworkSettings.Networks.n1.Aliases'",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stderr: Some(""),
                stdout: Some(r#"["web"]"#),
                why: "1.45 stopped adding the short id and hostname; 20.10 speaks 1.41",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "info: legacy fields at 1.41",
            run: "api GET /v1.41/info 2>/dev/null | jq -c '[(.ContainerdCommit|keys), (.RegistryConfig|keys), has(\"BridgeNfIptables\"), has(\"BridgeNfIp6tables\"), has(\"ExecutionDriver\")]'",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "info: names-only security options and ExecutionDriver at 1.24",
            run: "api GET /v1.24/info 2>/dev/null | jq -c '[.ExecutionDriver, (.SecurityOptions | map(select(contains(\"=\"))))]'",
            berth_cli: false,
            ..S
        },
    ]);
}

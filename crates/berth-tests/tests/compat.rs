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

/// The container's and an exec's environment, users, signals.
#[test]
fn compat_environment_and_signals() {
    Differ::start().check(&[
        Scenario {
            name: "container environment in Docker's order",
            // Raw API bodies: the docker CLI 28 does not keep the order of several `-e`.
            run: "apij POST '/containers/create?name=c2' '{\"Image\":\"busybox\",\"Cmd\":[\"env\"],\"Env\":[\"ZZ=1\",\"AA=2\",\"HOME=/x\"]}' >/dev/null 2>&1\n\
                  docker inspect -f '{{json .Config.Env}}' c2; docker start -a c2\n\
                  apij POST '/containers/create?name=c3' '{\"Image\":\"busybox\",\"Cmd\":[\"env\"],\"Env\":[\"PATH=/bin\",\"A=1\"]}' >/dev/null 2>&1\n\
                  docker inspect -f '{{json .Config.Env}}' c3; docker start -a c3\n\
                  apij POST '/containers/create?name=c4' '{\"Image\":\"busybox\",\"Cmd\":[\"env\"],\"Tty\":true,\"Env\":[\"B=2\"]}' >/dev/null 2>&1\n\
                  docker start -a c4 | tr -d '\\r'\n\
                  docker run --rm -e FOO=bar busybox env",
            ..S
        },
        Scenario {
            name: "exec environment: HOME of the exec's user",
            setup: "docker run -d --name cc -e FOO=bar busybox sleep 60",
            run: "docker exec cc env\n\
                  docker exec -u nobody cc env\n\
                  docker exec -e FOO=baz -e X=1 cc env",
            ..S
        },
        Scenario {
            name: "exec -u nosuchuser: the user error, exit 126",
            setup: "docker run -d --name cc busybox sleep 60",
            run: "docker exec -u nosuchuser cc true; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "kill returns once the container has exited",
            setup: "docker run -d --name cc busybox sleep 60",
            run: "docker kill cc\n\
                  docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}' cc",
            ..S
        },
        Scenario {
            name: "stop past its timeout returns once the container has exited",
            setup: "docker run -d --name cc busybox sleep 60",
            run: "docker stop -t 1 cc\n\
                  docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' cc",
            ..S
        },
    ]);
}

/// Options and values Docker refuses (berth used to accept or ignore them).
#[test]
fn compat_refused_options() {
    Differ::start().check(&[
        Scenario {
            name: "a relative working directory",
            run: "docker run --rm -w rel busybox pwd",
            ..S
        },
        Scenario {
            name: "an isolation other than default",
            run: "docker run --rm --isolation hyperv busybox true\n\
                  docker run --rm --isolation default busybox echo ok",
            ..S
        },
        Scenario {
            name: "--ipc and --pid naming a missing container",
            run: "docker create --ipc container:missing busybox true >/dev/null; echo \"create $?\"\n\
                  docker run --rm --ipc container:missing busybox true\n\
                  docker run --rm --pid container:missing busybox true",
            ..S
        },
        Scenario {
            name: "--oom-score-adj out of range",
            run: "docker run --rm --oom-score-adj 1001 busybox true\n\
                  docker run --rm --oom-score-adj -1001 busybox true\n\
                  docker run --rm --oom-score-adj 1000 busybox cat /proc/self/oom_score_adj",
            ..S
        },
        Scenario {
            name: "--network container:X with published ports",
            setup: "docker run -d --name web busybox sleep 60",
            run: "docker run --rm --network container:web -p 8080:80 busybox true",
            ..S
        },
        Scenario {
            name: "the default /dev",
            run: "docker run --rm busybox ls /dev",
            ..S
        },
    ]);
}

/// Error messages as Docker words them.
#[test]
fn compat_messages() {
    Differ::start().check(&[
        Scenario {
            name: "cpu options",
            run: "docker run --rm --cpuset-cpus 99 busybox true\n\
                  docker run --rm --cpus 1 --cpu-quota 50000 busybox true\n\
                  docker run --rm --cpus 1 --cpu-period 50000 busybox true",
            ..S
        },
        Scenario {
            name: "--log-opt max-size=bad",
            run: "docker run --rm --log-opt max-size=bad busybox true",
            ..S
        },
        Scenario {
            name: "-p 127.0.0.1::0 is accepted",
            run: "docker run -d --name web -p 127.0.0.1::80 busybox sleep 30 >/dev/null; echo $?\n\
                  docker run --rm -p 127.0.0.1::0 busybox true; echo $?",
            ..S
        },
        Scenario {
            name: "kill, rename, exec, rm: missing, invalid, paused",
            setup: "docker run -d --name p1 busybox sleep 60 && docker pause p1",
            run: "docker kill nosuch\n\
                  docker rename p1 'bad name'\n\
                  docker rename p1 -x\n\
                  docker exec p1 true\n\
                  docker rm p1\n\
                  docker kill p1 >/dev/null; echo $?",
            moby28: Some(Moby28 {
                stderr: Some(concat!(
                    "Error response from daemon: cannot kill container: nosuch: No such container: nosuch\n",
                    "Error response from daemon: Error when allocating new name: Invalid container name (/bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n",
                    "Error: failed to rename container named p1\n",
                    "unknown shorthand flag: 'x' in -x\n\n",
                    "Usage:  docker rename CONTAINER NEW_NAME\n\n",
                    "Run 'docker rename --help' for more information\n",
                    "Error response from daemon: Container p1 is paused, unpause the container before exec\n",
                    "Error response from daemon: cannot remove container \"/p1\": container is paused: stop the container before removing or force remove",
                )),
                why: "moby 23+ words kill and rm errors in lower case (\"cannot kill container\", \"cannot remove container ...: container is paused\")",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "truncated and invalid archives",
            setup: "docker create --name cc busybox true",
            run: "head -c 1500 \"$BUSYBOX_TAR\" > trunc.tar; echo notatar > junk.tar\n\
                  docker load -i trunc.tar\n\
                  docker load -i junk.tar\n\
                  docker import trunc.tar imp:1\n\
                  docker cp - cc:/ < trunc.tar",
            moby28: Some(Moby28 {
                stderr: Some(concat!(
                    "unexpected EOF\n",
                    "unexpected EOF\n",
                    "Error response from daemon: unexpected EOF\n",
                    "Error response from daemon: unexpected EOF",
                )),
                why: "moby 24+ unpacks in process: no \"Error processing tar file(exit status 1)\" prefix",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "network address errors",
            setup: "docker network create --subnet $SUBA.0/24 n1 && \
                    docker run -d --name a1 --network n1 --ip $SUBA.5 busybox sleep 60",
            run: "docker run --rm --network n1 --ip $SUBA.5 busybox true\n\
                  docker network create --subnet 10.1.2.3/33 bad\n\
                  docker network create --subnet nonsense bad",
            moby28: Some(Moby28 {
                stderr: Some(concat!(
                    "docker: Error response from daemon: Address already in use\n\n",
                    "Run 'docker run --help' for more information\n",
                    "Error response from daemon: invalid network config:\n",
                    "invalid subnet 10.1.2.3/33: invalid CIDR block notation\n",
                    "Error response from daemon: invalid network config:\n",
                    "invalid subnet nonsense: invalid CIDR block notation",
                )),
                why: "moby 25 validates IPAM configs up front (ValidateIPAM)",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "dockerfile parse error",
            run: "mkdir ctx && printf 'FROM busybox\\nRUN true\\nNOPE x\\n' > ctx/Dockerfile\n\
                  docker build -q ctx 2>&1 | grep -v -e DEPRECATED -e BuildKit -e environment-variable -e 'Sending build context' -e '^$'",
            ..S
        },
    ]);
}

/// Namespaces and mounts: `--ipc`/`--pid` modes joined as moby joins them, the NIS domain,
/// `exec` into a container that joined another's PID namespace (`--pid container:X`): the
/// exec's output and exit code come back and it returns (it used to hang: the exec was
/// re-parented to X's init, which never reaps, and the shim waited for the wrong pid).
#[test]
fn compat_exec_in_a_pid_namespace_joiner() {
    Differ::start().check(&[Scenario {
        name: "exec into a --pid container:X joiner",
        setup: "docker run -d --name pa busybox sleep 1000 && \
                docker run -d --name pb --pid container:pa busybox sleep 1000",
        run: "docker exec pb echo hi; echo \"exit $?\"\n\
              docker exec pb sh -c 'exit 3'; echo \"exit $?\"\n\
              docker exec pb ps -o comm | sort\n\
              docker exec pa ps -o comm | sort\n\
              docker exec pb sh -c 'sleep 1 & wait; echo waited'",
        timeout: 30,
        ..S
    }]);
}

/// Docker's default sysctls, custom masked/read-only paths, the working directory cleaned,
/// anonymous volumes labelled.
#[test]
fn compat_namespaces_and_mounts() {
    Differ::start().check(&[
        Scenario {
            name: "ipc: private by default, shown in inspect",
            setup: "docker create --name c1 busybox true",
            run: "docker inspect -f '{{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}}' c1",
            ..S
        },
        Scenario {
            name: "ipc container:X joins a shareable container's namespace and /dev/shm",
            setup: "docker run -d --name don --ipc shareable busybox sleep 60 && \
                    docker exec don sh -c 'echo shared > /dev/shm/x'",
            run: "a=$(docker exec don readlink /proc/self/ns/ipc)\n\
                  b=$(docker run --rm --ipc container:don busybox sh -c 'readlink /proc/self/ns/ipc; cat /dev/shm/x' | tr '\\n' ' ')\n\
                  [ \"$a $(docker exec don cat /dev/shm/x) \" = \"$b\" ] && echo joined || echo \"$a / $b\"\n\
                  docker inspect -f '{{.HostConfig.IpcMode}}' don",
            ..S
        },
        Scenario {
            name: "ipc container:X refuses a private donor",
            setup: "docker run -d --name don busybox sleep 60",
            run: "docker run --rm --ipc container:don busybox true",
            moby28: Some(Moby28 {
                stderr: Some("docker: Error response from daemon: failed to join IPC namespace: container <ID1>: non-shareable IPC (hint: use IpcMode:shareable for the donor container)\n\nRun 'docker run --help' for more information"),
                why: "moby 23+ words the donor check in setupIPCDirs (\"failed to join IPC namespace\")",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "ipc container:X refuses a stopped donor",
            setup: "docker create --name don --ipc shareable busybox true",
            run: "docker run --rm --ipc container:don busybox true",
            moby28: Some(Moby28 {
                stderr: Some("docker: Error response from daemon: failed to join IPC namespace: container <ID1> is not running\n\nRun 'docker run --help' for more information"),
                why: "moby 23+ words the donor check in setupIPCDirs (\"failed to join IPC namespace\")",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "ipc none has no /dev/shm, private and shareable their own",
            run: "docker run --rm --ipc none busybox ls /dev/shm; echo \"exit $?\"\n\
                  for m in private shareable; do \
                  docker run --rm --ipc $m busybox sh -c '[ \"$(readlink /proc/self/ns/ipc)\" != \"$(readlink /proc/1/ns/ipc)\" ]; df /dev/shm | tail -1 | cut -c1-5'; done",
            ..S
        },
        Scenario {
            name: "ipc: an unknown mode is refused",
            run: "docker run --rm --ipc bogus busybox true",
            moby28: Some(Moby28 {
                stderr: Some("docker: Error response from daemon: invalid IPC mode: bogus\n\nRun 'docker run --help' for more information"),
                why: "moby 20.10+ refuses it at create (verifyPlatformContainerSettings, lower case); 20.10 still reached the start-time check",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "pid container:X sees the other container's processes",
            setup: "docker run -d --name pd busybox sleep 61",
            run: "docker run --rm --pid container:pd busybox ps -o args | grep -c 'sleep 61'\n\
                  a=$(docker exec pd readlink /proc/self/ns/pid)\n\
                  b=$(docker run --rm --pid container:pd busybox readlink /proc/self/ns/pid)\n\
                  [ \"$a\" = \"$b\" ] && echo joined",
            ..S
        },
        Scenario {
            name: "pid container:X refuses a stopped container",
            setup: "docker create --name pd busybox true",
            run: "docker run --rm --pid container:pd busybox true",
            moby28: Some(Moby28 {
                stderr: Some("docker: Error response from daemon: failed to join PID namespace: container <ID1> is not running\n\nRun 'docker run --help' for more information"),
                why: "moby 25+ wraps the donor check (its integration test TestPIDModeContainer expects \"failed to join PID namespace\")",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "domainname sets the NIS domain",
            run: "docker run --rm --domainname example.org busybox cat /proc/sys/kernel/domainname",
            ..S
        },
        Scenario {
            name: "default sysctls for a container's own network namespace",
            run: "docker run --rm busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range\n\
                  docker run --rm --network none busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start\n\
                  docker run --rm -u 1000 busybox sh -c 'nc -l -p 80 & sleep 0.3; netstat -ltn | grep -c :80'",
            ..S
        },
        Scenario {
            name: "workdir with a trailing slash is cleaned",
            run: "docker run --name wd -w /tmp/ busybox pwd\n\
                  docker inspect -f '{{.Config.WorkingDir}}' wd",
            ..S
        },
        Scenario {
            name: "custom masked and read-only paths",
            run: "apij POST /v1.41/containers/create?name=mp '{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"cat /etc/shadow | wc -c; mkdir /tmp/d; touch /srv/x 2>&1; cat /proc/cpuinfo | wc -c\"],\"HostConfig\":{\"MaskedPaths\":[\"/etc/shadow\"],\"ReadonlyPaths\":[\"/srv\"]}}' >/dev/null 2>&1\n\
                  docker start -a mp\n\
                  docker inspect -f '{{.HostConfig.MaskedPaths}} {{.HostConfig.ReadonlyPaths}}' mp",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "default masked and read-only paths stored at create, none when privileged",
            run: "docker create --name dflt busybox true >/dev/null\n\
                  docker create --name priv --privileged busybox true >/dev/null\n\
                  docker create --name unconf --security-opt systempaths=unconfined busybox true >/dev/null\n\
                  docker create --name both --security-opt systempaths=unconfined --privileged busybox true >/dev/null\n\
                  docker inspect -f '{{.Name}} {{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}} {{json .HostConfig.SecurityOpt}}' dflt priv unconf both",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(
                    "/dflt [\"/proc/asound\",\"/proc/acpi\",\"/proc/interrupts\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/proc/scsi\",\"/sys/firmware\",\"/sys/devices/virtual/powercap\"] [\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"] null\n\
                     /priv null null [\"label=disable\"]\n\
                     /unconf [] [] []\n\
                     /both [] [] [\"label=disable\"]",
                ),
                stderr: Some(""),
                why: "moby 28's default masked paths add /proc/interrupts and \
                      /sys/devices/virtual/powercap (GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p; and each \
                      CPU's thermal_throttle directory where the host has one, none on this VM)",
            }),
            ..S
        },
        Scenario {
            name: "anonymous volumes are labelled",
            setup: "docker run --name vc -v /data busybox true",
            run: "docker volume ls -q --filter label=com.docker.volume.anonymous | wc -l\n\
                  docker volume inspect -f '{{.Labels}}' $(docker volume ls -q)",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("1\nmap[com.docker.volume.anonymous:]"),
                stderr: Some(""),
                why: "moby 23 labels anonymous volumes (volume prune removes only those from API 1.42)",
            }),
            ..S
        },
    ]);
}

/// Images: list filters by time, `save` dates and tags, `commit`'s Env, `--platform`.
#[test]
fn compat_images() {
    Differ::start().check(&[
        Scenario {
            name: "images --filter before/since/until",
            setup: "docker create --name c1 busybox true && sleep 1.1 && docker commit c1 one && \
                    sleep 1.1 && docker commit c1 two",
            run: "docker images --format '{{.Repository}}' --filter since=busybox\n\
                  docker images --format '{{.Repository}}' --filter before=two\n\
                  docker images --format '{{.Repository}}' --filter since=one --filter before=two | wc -l\n\
                  docker images --format '{{.Repository}}' --filter until=2000-01-01T00:00:00Z | wc -l\n\
                  docker images --format '{{.Repository}}' --filter until=1h | grep -c busybox\n\
                  docker images --filter since=nosuch",
            moby28: Some(Moby28 {
                code: Some(1),
                stdout: Some("two\none\none\nbusybox\n0\n0\n1"),
                stderr: Some("Error response from daemon: No such image: nosuch:latest"),
                why: "the image list's until filter is newer than 20.10, which refuses it",
            }),
            ..S
        },
        Scenario {
            name: "save dates the config with the image's created time",
            run: "id=$(docker inspect -f '{{.Id}}' busybox | cut -d: -f2)\n\
                  day=$(docker inspect -f '{{.Created}}' busybox | cut -c1-10)\n\
                  docker save busybox | tar -tvf - --full-time | grep -E \"$id(\\.json)?\\$\" | \
                  awk -v d=$day '{print ($4 == d) ? \"dated\" : $4}'",
            ..S
        },
        Scenario {
            name: "save of several tags of one repository",
            setup: "docker tag busybox bb:1 && docker tag busybox bb:2",
            run: "docker save bb:1 bb:2 -o both.tar\n\
                  tar -xOf both.tar manifest.json | jq -c '[.[].RepoTags | sort]'\n\
                  docker rmi bb:1 bb:2 >/dev/null && docker load -i both.tar\n\
                  docker images bb --format '{{.Tag}}' | sort",
            ..S
        },
        Scenario {
            name: "commit keeps the image's Env",
            setup: "docker run --name c1 -e FOO=bar busybox true",
            run: "docker commit c1 one >/dev/null && docker inspect -f '{{json .Config.Env}}' one\n\
                  docker commit --change 'CMD [\"sh\"]' c1 two >/dev/null && docker inspect -f '{{json .Config.Env}} {{json .Config.Cmd}}' two\n\
                  docker commit --change 'ENV X=1' c1 three >/dev/null && docker inspect -f '{{json .Config.Env}}' three",
            ..S
        },
        Scenario {
            name: "create and import with --platform",
            run: "docker create --platform linux/amd64 --name ok busybox true >/dev/null && echo created\n\
                  apij POST '/v1.41/containers/create?platform=linux/s390x' '{\"Image\":\"busybox\"}' | jq -r .message\n\
                  docker export ok | docker import --platform linux/arm64 - imp >/dev/null\n\
                  docker inspect -f '{{.Os}}/{{.Architecture}}' imp",
            moby28: Some(Moby28 {
                stdout: Some("created\nimage with reference busybox was found but does not match the specified platform: wanted linux/s390x, actual: linux/amd64\nlinux/arm64"),
                why: "moby records import's --platform in the image config; 20.10 recorded the host's",
                ..M
            }),
            ..S
        },
    ]);
}

/// Bind propagation as moby's setMounts: `rslave` binds see the host's later mounts under
/// the source, `rshared` ones give the host the container's, the source mount must be
/// shared (or slave) for them, and a bind of the data root is made rslave. Each script
/// makes its own shared mount (a bind of a scratch directory onto itself, never one of the
/// host's mounts) and takes it down on exit.
#[test]
fn compat_bind_propagation() {
    Differ::start().check(&[
        Scenario {
            name: "propagation: rslave sees the host's mounts made after start",
            run: "trap 'docker rm -f p >/dev/null 2>&1; umount -R src 2>/dev/null' EXIT\n\
                  mkdir src && mount --bind src src && mount --make-shared src\n\
                  docker run -d --name p -v \"$SCRATCH/src:/m:rslave\" busybox sleep 60 >/dev/null\n\
                  mkdir src/sub && mount -t tmpfs -o size=1m tmpfs src/sub && echo hi > src/sub/f\n\
                  docker exec p cat /m/sub/f\n\
                  umount src/sub\n\
                  docker exec p ls /m/sub | wc -l\n\
                  docker inspect -f '{{range .Mounts}}{{.Propagation}}{{end}}' p",
            ..S
        },
        Scenario {
            name: "propagation: rshared gives the host a privileged container's mounts",
            run: "trap 'docker rm -f p >/dev/null 2>&1; umount -R src 2>/dev/null' EXIT\n\
                  mkdir src && mount --bind src src && mount --make-shared src\n\
                  docker run -d --privileged --name p -v \"$SCRATCH/src:/m:rshared\" busybox sleep 60 >/dev/null\n\
                  docker exec p sh -c 'mkdir /m/in && mount -t tmpfs tmpfs /m/in && echo from-c > /m/in/f'\n\
                  cat src/in/f\n\
                  docker exec p umount /m/in\n\
                  ls src/in | wc -l\n\
                  docker run --rm -v \"$SCRATCH/src:/m:rprivate\" busybox sh -c 'grep -c \" /m \" /proc/self/mountinfo'",
            ..S
        },
        Scenario {
            name: "propagation: shared and slave need a shared source mount",
            run: "mkdir priv\n\
                  docker run --rm -v \"$SCRATCH/priv:/m:shared\" busybox true; echo \"exit $?\"\n\
                  docker run --rm -v \"$SCRATCH/priv:/m:rslave\" busybox true; echo \"exit $?\"\n\
                  docker run --rm --mount \"type=bind,src=$SCRATCH/priv,dst=/m,bind-propagation=slave\" busybox true; echo \"exit $?\"\n\
                  docker run --rm -v \"$SCRATCH/priv:/m:rprivate\" busybox true; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "propagation: a bind of the data root is made rslave",
            run: "docker create --name dr -v \"$ROOT:/r\" busybox true >/dev/null\n\
                  docker inspect -f '{{range .Mounts}}{{.Propagation}}{{end}}' dr\n\
                  docker start -a dr; echo \"exit $?\"\n\
                  docker create -v \"$ROOT:/r:rprivate\" busybox true; echo \"exit $?\"\n\
                  docker create --mount \"type=bind,src=$ROOT,dst=/r,bind-propagation=private\" busybox true; echo \"exit $?\"\n\
                  docker run --rm -v \"$ROOT:/r:rslave\" busybox true; echo \"exit $?\"",
            ..S
        },
    ]);
}

/// Lifecycle: `restart` of an AutoRemove container, `update --restart` refused for one,
/// stop and restart carried through when the client goes away, `update --pids-limit`.
#[test]
fn compat_lifecycle() {
    Differ::start().check(&[
        Scenario {
            name: "lifecycle: an --rm container restarts while it runs",
            run: "docker run -d --rm --name rr busybox sleep 60 >/dev/null\n\
                  docker restart -t 1 rr\n\
                  docker inspect -f '{{.State.Running}} {{.HostConfig.AutoRemove}}' rr\n\
                  docker update --restart always rr; echo \"exit $?\"\n\
                  docker update --restart no rr >/dev/null; echo \"exit $?\"\n\
                  docker rm -f rr >/dev/null",
            // dockerd 20.10's restart races its own auto-remove: now and then the restart
            // answers "container is marked for removal and cannot be started" (the suite
            // failed on it once in session 14). moby 28's containerRestart
            // (daemon/restart.go) marks the container HasBeenManuallyRestarted and
            // Restarting before it stops it, and its exit handler (daemon/monitor.go)
            // skips autoRemove for a manual restart: the restart always succeeds. That
            // answer is pinned; berth's side is compared with it as before.
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("rr\ntrue true\nexit 1\nexit 0"),
                stderr: Some(
                    "Error response from daemon: Cannot update container <ID1>: Restart policy cannot be updated because AutoRemove is enabled for the container",
                ),
                why: "20.10's restart of an --rm container races its auto-remove (\"marked for removal\")",
            }),
            ..S
        },
        Scenario {
            name: "lifecycle: a restart whose client goes away still restarts",
            // Not `rr`: on dockerd 20.10 the scenario before can leave its `rr` being
            // auto-removed (its restart raced the removal), which made this `run` collide
            // with it in the s15 suite. An oracle-side leftover, not a berth difference.
            run: "docker run -d --name rq busybox sleep 60 >/dev/null\n\
                  s1=$(docker inspect -f '{{.State.StartedAt}}' rq); sleep 1; since=$(date +%s)\n\
                  api POST '/v1.41/containers/rq/restart?t=2' --max-time 0.5 2>/dev/null\n\
                  for i in $(seq 60); do s2=$(docker inspect -f '{{.State.StartedAt}}' rq); [ \"$s1\" != \"$s2\" ] && break; sleep 0.5; done; sleep 1\n\
                  [ \"$s1\" != \"$s2\" ] && echo restarted\n\
                  docker inspect -f '{{.State.Running}}' rq\n\
                  docker events --since $since --until $(date +%s) --filter container=rq --format '{{.Action}}'",
            ..S
        },
        Scenario {
            name: "lifecycle: a stop whose client goes away still stops",
            run: "docker run -d --name ss busybox sleep 60 >/dev/null\n\
                  api POST '/v1.41/containers/ss/stop?t=2' --max-time 0.5 2>/dev/null\n\
                  for i in $(seq 60); do [ \"$(docker inspect -f '{{.State.Running}}' ss)\" = false ] && break; sleep 0.5; done\n\
                  docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' ss",
            ..S
        },
        Scenario {
            name: "lifecycle: update --pids-limit",
            run: "docker run -d --name pp --pids-limit 32 busybox sleep 60 >/dev/null\n\
                  lim() { echo \"$(docker inspect -f '{{.HostConfig.PidsLimit}}' pp) $(docker exec pp cat /sys/fs/cgroup/pids/pids.max)\"; }\n\
                  lim\n\
                  docker update --pids-limit 16 pp >/dev/null && lim\n\
                  docker update --pids-limit 0 pp >/dev/null && lim\n\
                  docker update --pids-limit 32 pp >/dev/null && docker update --pids-limit -1 pp >/dev/null && lim\n\
                  docker update --pids-limit 32 pp >/dev/null && docker update --pids-limit -2 pp >/dev/null && lim\n\
                  docker update --memory 64m pp >/dev/null && lim\n\
                  for l in 0 -1; do docker run --rm --pids-limit $l busybox cat /sys/fs/cgroup/pids/pids.max; done\n\
                  docker create --name qq --pids-limit -1 busybox true >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.PidsLimit}}' qq",
            ..S
        },
    ]);
}

/// Terminals: the size a container's or an exec's terminal starts with (ConsoleSize, API
/// 1.42+), and an exec with a terminal streamed raw to the SDK's clients.
#[test]
fn compat_terminals() {
    Differ::start().check(&[
        Scenario {
            name: "terminals: run -t starts at ConsoleSize",
            run: "apij POST '/v1.43/containers/create?name=tt' '{\"Image\":\"busybox\",\"Tty\":true,\"Cmd\":[\"stty\",\"size\"],\"HostConfig\":{\"ConsoleSize\":[30,100]}}' >/dev/null 2>&1\n\
                  docker start tt >/dev/null; docker wait tt >/dev/null\n\
                  docker logs tt | tr -d '\\r'",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("30 100"),
                stderr: Some(""),
                why: "ConsoleSize is API 1.42 (moby 23); dockerd 20.10 refuses the 1.43 request and the container does not exist",
            }),
            ..S
        },
        Scenario {
            name: "terminals: exec with a tty through the Python SDK",
            setup: "docker run -d --name xx busybox sleep 60 >/dev/null",
            run: "python3 - <<'PY'\n\
import docker, time\n\
cl = docker.from_env()\n\
c = cl.containers.get('xx')\n\
r = c.exec_run('sh -c \"echo one; echo two\"', tty=True)\n\
print(r.exit_code, repr(r.output))\n\
ex = cl.api.exec_create(c.id, 'sh -c \"echo sock\"', tty=True)\n\
s = cl.api.exec_start(ex['Id'], tty=True, socket=True)\n\
sock = getattr(s, '_sock', s)\n\
data = b''.join(iter(lambda: sock.recv(4096), b''))\n\
print(repr(data))\n\
ex = cl.api.exec_create(c.id, 'sh -c \"echo det > /tmp/f\"', tty=True)\n\
print(repr(cl.api.exec_start(ex['Id'], detach=True, tty=True)))\n\
time.sleep(0.5)\n\
print(c.exec_run('cat /tmp/f').output)\n\
ex = cl.api.exec_create(c.id, 'stty size', tty=True)\n\
print(repr(cl.api.exec_start(ex['Id'], tty=True)))\n\
PY",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "terminals: exec ConsoleSize and resize",
            setup: "docker run -d --name xx busybox sleep 60 >/dev/null",
            run: "id=$(apij POST /v1.43/containers/xx/exec '{\"Cmd\":[\"sh\",\"-c\",\"stty size; sleep 2; stty size\"],\"Tty\":true,\"AttachStdout\":true,\"ConsoleSize\":[20,60]}' 2>/dev/null | jq -r .Id)\n\
                  (for i in $(seq 100); do [ \"$(api GET /v1.43/exec/$id/json 2>/dev/null | jq -r .Running)\" = true ] && break; sleep 0.1; done; api POST \"/v1.43/exec/$id/resize?h=25&w=70\" 2>/dev/null) &\n\
                  python3 - \"$id\" <<'PY'\n\
import os, socket, sys\n\
s = socket.socket(socket.AF_UNIX)\n\
s.connect(os.environ['SOCK'])\n\
body = b'{\"Tty\":true,\"ConsoleSize\":[20,60]}'\n\
s.sendall(b'POST /v1.43/exec/' + sys.argv[1].encode() + b'/start HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nConnection: Upgrade\\r\\nUpgrade: tcp\\r\\nContent-Length: ' + str(len(body)).encode() + b'\\r\\n\\r\\n' + body)\n\
data = b''.join(iter(lambda: s.recv(4096), b''))\n\
print(data.partition(b'\\r\\n\\r\\n')[2].decode().replace('\\r', ''), end='')\n\
PY\n\
                  wait",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("20 60\n25 70"),
                stderr: Some(""),
                why: "exec ConsoleSize is API 1.42 (moby 23); dockerd 20.10 refuses 1.43 requests",
            }),
            ..S
        },
    ]);
}

/// The rest of issue 15's list, as found on main: `ps` COMMAND quoting, the plugin list.
#[test]
fn compat_audit() {
    Differ::start().check(&[
        Scenario {
            name: "ps COMMAND quotes arguments with spaces",
            setup: "docker create --name c1 busybox sh -c 'exit 3' >/dev/null",
            run: "docker ps -a --format '{{.Command}}'\n\
                  docker ps -a --no-trunc --format '{{.Command}}'\n\
                  api GET '/v1.41/containers/json?all=1' 2>/dev/null | jq -r '.[0].Command'",
            ..S
        },
        Scenario {
            name: "events: network connect and disconnect around a run",
            setup: "docker network create n1 >/dev/null",
            run: "sleep 1; since=$(date +%s)\n\
                  docker run --rm --network n1 busybox true\n\
                  docker run --rm busybox true\n\
                  docker run -d --name ww busybox sleep 60 >/dev/null\n\
                  docker network connect n1 ww && docker network disconnect n1 ww\n\
                  docker rm -f ww >/dev/null\n\
                  docker events --since $since --until $(( $(date +%s) + 1 )) --filter type=network --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'",
            moby28: Some(Moby28 {
                stdout: Some("connect n1 bridge\ndisconnect n1 bridge\nconnect bridge bridge\ndisconnect bridge bridge\nconnect bridge bridge\nconnect n1 bridge\ndisconnect n1 bridge\ndisconnect bridge bridge"),
                why: "20.10's DisconnectFromNetwork logged a second disconnect besides tryDetachContainerFromClusterNetwork's; moby 28 logs one per disconnect",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "events: volume create, mount, unmount, destroy",
            run: "sleep 1; since=$(date +%s)\n\
                  docker volume create v1 >/dev/null\n\
                  docker run --rm -v v1:/d busybox true\n\
                  docker run --rm -v /anon busybox true\n\
                  docker volume rm v1 >/dev/null\n\
                  docker events --since $since --until $(( $(date +%s) + 1 )) --filter type=volume --format '{{.Action}} {{.Actor.Attributes.driver}} {{.Actor.Attributes.destination}} {{index .Actor.Attributes \"read/write\"}}'",
            moby28: Some(Moby28 {
                stdout: Some("create local <no value> \nmount local /d true\nunmount local <no value> \ncreate local <no value> \nmount local /anon true\nunmount local <no value> \ndestroy local <no value> \ndestroy local <no value>"),
                why: "moby 21's volume store publishes create only when it creates the volume (moby#42028); 20.10 published it again for an existing named volume a container uses",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "inspect: HostConfig.Links is null on a user network",
            setup: "docker network create n1 >/dev/null && docker run -d --name db --network n1 busybox sleep 60 >/dev/null && \
                    docker run -d --name db2 busybox sleep 60 >/dev/null",
            run: "docker create --name app --network n1 --link db:database busybox true >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.Links}} {{json .NetworkSettings.Networks.n1.Links}}' app\n\
                  docker create --name app2 --link db2:d2 busybox true >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.Links}}' app2",
            ..S
        },
        Scenario {
            name: "validation: a destination with a mode is no volume",
            run: "docker run --rm -v /anon:ro busybox true",
            ..S
        },
        Scenario {
            name: "validation: create with a wrong Content-Type",
            run: "api POST '/v1.41/containers/create' -H 'Content-Type: text/plain' --data-binary '{\"Image\":\"busybox\"}'",
            berth_cli: false,
            moby28: Some(Moby28 {
                stdout: Some("{\"message\":\"unsupported Content-Type header (text/plain): must be 'application/json'\"}"),
                why: "newer moby's httputils.matchesContentType words it so; 20.10 said \"Content-Type specified (text/plain) must be 'application/json'\"",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "validation: create with data after the JSON body",
            run: "apij POST '/v1.41/containers/create?name=tt' '{\"Image\":\"busybox\"} x' | jq -c .message\n\
                  docker ps -aq | wc -l",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("\"unexpected content after JSON\"\n0"),
                stderr: Some("HTTP 400"),
                why: "moby 24's loadJSON refuses content after the JSON value; 20.10 decoded the first value and created the container",
            }),
            ..S
        },
        Scenario {
            name: "rename: a running container answers its new name on a user network",
            setup: "docker network create n1 >/dev/null && docker run -d --name a1 --network n1 busybox sleep 60 >/dev/null && \
                    docker run -d --name b1 --network n1 busybox sleep 60 >/dev/null",
            run: "docker rename a1 a2\n\
                  docker exec b1 nslookup a2 127.0.0.11 >/dev/null 2>&1 && echo new name resolves\n\
                  docker exec b1 nslookup a1 127.0.0.11 >/dev/null 2>&1 || echo old name gone",
            ..S
        },
        Scenario {
            name: "plugins: an empty list, none by name",
            run: "api GET /v1.41/plugins\n\
                  docker plugin ls --format '{{.Name}}'\n\
                  api GET /v1.41/plugins/foo/json",
            berth_cli: false,
            ..S
        },
    ]);
}

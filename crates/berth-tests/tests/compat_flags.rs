//! Differential tests (prefix `compat_`) for docker CLI 28 flags berth's CLI lacked:
//! `run`/`create` `--storage-opt`, `--volume-driver`, `--cpu-rt-period`/`--cpu-rt-runtime`
//! (also on `update`) and `--use-api-socket`; the cluster-volume flags of `volume create`;
//! Go templates naming a missing map key. Each scenario runs against a private dockerd and a
//! private berth daemon (`berth_tests::differential`); where dockerd 20.10 and moby 28
//! differ, `Moby28` carries moby 28's output and why.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;

/// `--storage-opt`: the CLI's own `KEY=VALUE` check, then overlay2's refusal of `size` on a
/// backing filesystem without xfs project quotas (this host's), and its unknown-option
/// error; through both CLIs and the raw API. (`SIZE=1G` is left out: dockerd's overlay2
/// dereferences its missing quota control and the request dies with EOF; berth refuses it
/// as `size`, see the engine's unit test.)
#[test]
fn compat_storage_opt() {
    Differ::start().check(&[
        Scenario {
            name: "create --storage-opt",
            run: "for o in size=1G size=abc foo=bar nosign; do docker create --storage-opt \"$o\" busybox true >/dev/null; echo \"$o: $?\"; done\n\
                  docker create --name so busybox true >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.StorageOpt}}' so\n\
                  docker ps -aq | wc -l",
            ..S
        },
        Scenario {
            name: "create with StorageOpt (API)",
            run: "apij POST /v1.41/containers/create '{\"Image\":\"busybox\",\"HostConfig\":{\"StorageOpt\":{\"size\":\"1G\"}}}'; echo\n\
                  apij POST /v1.41/containers/create '{\"Image\":\"busybox\",\"HostConfig\":{\"StorageOpt\":{\"foo\":\"bar\"}}}'; echo\n\
                  apij POST '/v1.41/containers/create?name=so2' '{\"Image\":\"busybox\",\"HostConfig\":{\"StorageOpt\":{}}}' >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.StorageOpt}}' so2",
            berth_cli: false,
            ..S
        },
    ]);
}

/// `--volume-driver`: the driver of the `-v NAME:/dst` volumes and the image's anonymous
/// ones (not `--mount`'s, not binds), kept in HostConfig; an unknown driver is refused
/// only when a volume needs it.
#[test]
fn compat_volume_driver() {
    Differ::start().check(&[Scenario {
        name: "create --volume-driver",
        run: "docker create --name vd --volume-driver local -v vdv:/data busybox true >/dev/null\n\
              docker inspect -f '{{.HostConfig.VolumeDriver}}|{{range .Mounts}}{{.Name}} {{.Driver}}{{end}}' vd\n\
              docker create --name vdb --volume-driver bogus busybox true >/dev/null; echo \"exit $?\"\n\
              docker inspect -f '{{.HostConfig.VolumeDriver}}|{{len .Mounts}}' vdb\n\
              docker create --name vdbind --volume-driver bogus -v /tmp:/data busybox true >/dev/null; echo \"exit $?\"\n\
              docker create --name vdm --volume-driver bogus --mount type=volume,src=vdmv,dst=/data busybox true >/dev/null; echo \"exit $?\"\n\
              docker inspect -f '{{range .Mounts}}{{.Name}} {{.Driver}}{{end}}' vdm\n\
              docker create --pull never --volume-driver bogus -v vdx:/data busybox true; echo \"exit $?\"\n\
              docker volume ls -q",
        timeout: 150,
        ..S
    }]);
}

/// `--cpu-rt-period`/`--cpu-rt-runtime` on create and update: dockerd's create-time check
/// (a 500; an update stores what it is given), both kept in HostConfig; this host's cgroup
/// v1 cpu controller has cpu.rt_runtime_us, so they are applied, and a runtime above the
/// daemon's parent cgroup's (0) fails the start with the kernel's EINVAL.
#[test]
fn compat_cpu_rt() {
    Differ::start().check(&[Scenario {
        name: "create/update --cpu-rt-*",
        run: "docker create --cpu-rt-runtime 2000 --cpu-rt-period 1000 busybox true; echo \"exit $?\"\n\
              docker create --name rt --cpu-rt-period 1000000 --cpu-rt-runtime 0 busybox true >/dev/null\n\
              docker inspect -f '{{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.CpuRealtimeRuntime}}' rt\n\
              docker create --cpu-rt-runtime abc busybox true; echo \"exit $?\"\n\
              docker run --rm --cpu-rt-period 500000 busybox true; echo \"exit $?\"\n\
              docker run --rm --cpu-rt-runtime 950000 busybox true 2>&1 | grep -o 'cpu.rt_runtime_us: invalid argument'; echo \"exit ${PIPESTATUS[0]}\"\n\
              docker update --cpu-rt-runtime 2000 --cpu-rt-period 1000 rt; echo \"exit $?\"\n\
              docker update --cpu-rt-period 900000 rt >/dev/null; echo \"exit $?\"\n\
              docker inspect -f '{{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.CpuRealtimeRuntime}}' rt\n\
              apij POST /v1.41/containers/create '{\"Image\":\"busybox\",\"HostConfig\":{\"CpuRealtimePeriod\":100,\"CpuRealtimeRuntime\":200}}'; echo",
        ..S
    }]);
}

/// `--use-api-socket` (docker CLI 28): the socket the CLI talks to bound at
/// /var/run/docker.sock and, when the user has credentials, DOCKER_CONFIG pointing at the
/// config file (their `auths` only) the CLI copies into the container after the create; a
/// non-unix endpoint is refused before any request.
#[test]
fn compat_use_api_socket() {
    Differ::start().check(&[Scenario {
        name: "run --use-api-socket",
        run: "docker run --rm --use-api-socket busybox sh -c 'test -S /var/run/docker.sock && echo socket; echo \"${DOCKER_CONFIG:-unset}\"; ls /run/secrets 2>&1'\n\
              mkdir cfg && echo '{\"auths\":{\"127.0.0.1:5999\":{\"auth\":\"dXNlcjpwYXNz\"},\"reg.example:5000\":{\"identitytoken\":\"tok\"}}}' > cfg/config.json\n\
              DOCKER_CONFIG=$PWD/cfg docker run --rm --use-api-socket -e A=1 busybox sh -c 'env | grep -e ^A= -e ^DOCKER_CONFIG= | sort; stat -c \"%a %u %g %s\" /run/secrets/docker/config.json; cat /run/secrets/docker/config.json; echo'\n\
              DOCKER_CONFIG=$PWD/cfg docker create --name sk --use-api-socket busybox true >/dev/null\n\
              docker inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}} {{.RW}} {{.Propagation}}{{end}}|{{range .HostConfig.Mounts}}{{.Type}} {{.Target}} {{json .BindOptions}}{{end}}|{{json .Config.Env}}' sk\n\
              docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' sk | grep -cx \"$SOCK\"\n\
              DOCKER_HOST=tcp://127.0.0.1:1 docker create --use-api-socket busybox true; echo \"exit $?\"\n\
              docker ps -aq | wc -l",
        ..S
    }]);
}

/// `volume create` with cluster-volume flags outside a swarm: moby 28 routes a create with
/// ClusterVolumeSpec (API 1.42+) to the swarm, which answers 503; `--secret` and the
/// topology flags alone do not make a cluster volume (docker CLI 28's
/// hasClusterVolumeOptionSet).
#[test]
fn compat_volume_cluster_flags() {
    Differ::start().check(&[
        Scenario {
            name: "volume create cluster flags",
            run: "docker volume create --group g cv1; echo \"exit $?\"\n\
                  docker volume create --type mount cv2; echo \"exit $?\"\n\
                  docker volume create --limit-bytes 1x cv3; echo \"exit $?\"\n\
                  docker volume create --secret k=v cv4; echo \"exit $?\"\n\
                  docker volume create --topology-required a=b cv5; echo \"exit $?\"\n\
                  docker volume ls -q",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("exit 1\nexit 1\nexit 125\ncv4\nexit 0\ncv5\nexit 0\ncv4\ncv5"),
                stderr: Some(concat!(
                    "Error response from daemon: This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.\n",
                    "Error response from daemon: This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.\n",
                    "invalid argument \"1x\" for \"--limit-bytes\" flag: invalid suffix: 'x'\n",
                    "\n",
                    "Usage:  docker volume create [OPTIONS] [VOLUME]\n",
                    "\n",
                    "Run 'docker volume create --help' for more information",
                )),
                why: "dockerd 20.10 serves API 1.41, below the cluster-volume flags' 1.42: the docker CLI refuses them; moby 28 routes a ClusterVolumeSpec to the swarm (503 outside one), and --secret/--topology-* alone make a plain volume",
            }),
            ..S
        },
        Scenario {
            name: "volume create with ClusterVolumeSpec (API)",
            run: "apij POST /v1.42/volumes/create '{\"Name\":\"cva\",\"ClusterVolumeSpec\":{\"Group\":\"g\"}}'; echo\n\
                  apij POST /v1.41/volumes/create '{\"Name\":\"cvb\",\"ClusterVolumeSpec\":{\"Group\":\"g\"}}' | jq -r .Name\n\
                  docker volume ls -q",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(concat!(
                    "{\"message\":\"This node is not a swarm manager. Use \\\"docker swarm init\\\" or \\\"docker swarm join\\\" to connect this node to swarm and try again.\"}\n",
                    "\n",
                    "cvb\n",
                    "cvb",
                )),
                stderr: Some("HTTP 503\nHTTP 201"),
                why: "dockerd 20.10 has no API 1.42; moby 28 sends a ClusterVolumeSpec at 1.42+ to the swarm (errNoManager, 503) and ignores it below",
            }),
            ..S
        },
    ]);
}

/// Go templates: a missing key of a map, through the typed and the raw inspect paths.
#[test]
fn compat_template_missing_key() {
    Differ::start().check(&[
        Scenario {
        name: "inspect -f with a missing map key",
        run: "docker create --name t -l a=1 busybox true >/dev/null\n\
              docker create --name t2 busybox true >/dev/null\n\
              docker volume create v >/dev/null\n\
              docker inspect -f '{{.Config.Labels.nokey}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{index .Config.Labels \"nokey\"}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.Config.Labels.a}}' t; echo \"exit $?\"\n\
              docker container inspect -f '{{.Config.Labels.nokey}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.Config.Labels.nokey}}' t2; echo \"exit $?\"\n\
              docker inspect -f '{{.NoSuchField}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.Config.NoSuch}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.HostConfig.LogConfig.Config.nokey}}' t; echo \"exit $?\"\n\
              docker image inspect -f '{{.Config.Labels.nokey}}' busybox; echo \"exit $?\"\n\
              docker network inspect -f '{{.Labels.nokey}}' bridge; echo \"exit $?\"\n\
              docker volume inspect -f '{{.Labels.nokey}}' v; echo \"exit $?\"\n\
              docker volume inspect -f '{{index .Labels \"nokey\"}}' v; echo \"exit $?\"\n\
              docker ps -a --format '{{.Label \"nokey\"}}|{{.Names}}'",
        ..S
    }, Scenario {
        // The docker CLI runs the template on its Go struct first; a field the struct lacks
        // (or one of a nil pointer) fails that run, and the run on the raw JSON with
        // missingkey=error names the missing key. A Go map's missing key does not fail.
        name: "inspect -f naming a field the Go struct lacks",
        run: "docker create --name t -l a=1 busybox true >/dev/null\n\
              docker volume create v >/dev/null\n\
              docker inspect -f '{{.State.nokey}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.NoSuch.x}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.State.Health.Status}}' t; echo \"exit $?\"\n\
              docker inspect -f 'x{{.Config.Healthcheck.Test}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{with .State}}{{.nokey}}{{end}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.Name}} {{.HostConfig.nokey}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{if .State.nokey}}y{{end}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.Config.Labels.a.b}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.NetworkSettings.Networks.nonet.IPAddress}}' t; echo \"exit $?\"\n\
              docker inspect -f '{{.State.Health}} {{.State.Status}}' t; echo \"exit $?\"\n\
              docker network inspect -f '{{.IPAM.nokey}}' bridge; echo \"exit $?\"\n\
              docker volume inspect -f '{{.nokey}}' v; echo \"exit $?\"\n\
              docker image inspect -f '{{.Config.nokey}}' busybox; echo \"exit $?\"\n\
              docker container inspect -f '{{.GraphDriver.nokey}}' t; echo \"exit $?\"",
        ..S
    }]);
}

/// The image commands' `--platform` (docker CLI 28): the docker CLI refuses each against a
/// daemon whose API version is older than the flag's (push 1.46, load/save/history 1.48,
/// image inspect 1.49, rmi 1.50), before anything is sent; berth's CLI does the same
/// rather than sending a flag the daemon would ignore. Pinned to API 1.41, so both
/// daemons are the same age to the CLIs.
#[test]
fn compat_platform_flags_by_api_version() {
    Differ::start().check(&[Scenario {
        name: "image --platform flags refused below their API version",
        run: "export DOCKER_API_VERSION=1.41\n\
              docker rmi --platform linux/amd64 busybox; echo \"exit $?\"\n\
              docker rmi --platform linux/amd64; echo \"exit $?\"\n\
              docker image inspect --platform linux/amd64 busybox; echo \"exit $?\"\n\
              docker history --platform linux/amd64 busybox; echo \"exit $?\"\n\
              docker load --platform linux/amd64 -i \"$BUSYBOX_TAR\"; echo \"exit $?\"\n\
              docker save --platform linux/amd64 busybox >/dev/null; echo \"exit $?\"\n\
              docker push --platform linux/amd64 127.0.0.1:9/bb; echo \"exit $?\"\n\
              docker images -q busybox | wc -l",
        ..S
    }]);
}

/// `push --platform` (API 1.46, which berth serves and dockerd 20.10 does not): the image
/// must be of that platform, checked by the daemon before anything reaches the registry
/// (moby's GetImage with the platform: a 404 naming the full reference), after the docker
/// CLI's note; a bad platform is the CLI's error. Nothing listens on 127.0.0.1:9, and
/// nothing is sent there: every push here is refused first.
#[test]
fn compat_push_platform() {
    Differ::start().check(&[Scenario {
        name: "push --platform",
        setup: "docker tag busybox 127.0.0.1:9/bb",
        run: "docker push --platform linux/arm64 127.0.0.1:9/bb; echo \"exit $?\"\n\
              docker push --platform linux/arm64 127.0.0.1:9/bb:nosuch; echo \"exit $?\"\n\
              docker push --platform foo 127.0.0.1:9/bb; echo \"exit $?\"",
        moby28: Some(Moby28 {
            code: Some(0),
            stdout: Some(PUSH_PLATFORM_STDOUT),
            stderr: Some(concat!(
                "Error response from daemon: image with reference 127.0.0.1:9/bb:latest was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64\n",
                "Error response from daemon: No such image: 127.0.0.1:9/bb:nosuch\n",
                "Invalid platform foo\"foo\": unknown operating system or architecture: invalid argument",
            )),
            why: "dockerd 20.10 serves API 1.41, below push --platform's 1.46: the docker CLI refuses the flag; moby 28 checks the image's platform",
        }),
        ..S
    }]);
}

/// The docker CLI's note for `push --platform` (not a terminal) and its default-tag line,
/// the note again, then the exit codes.
const PUSH_PLATFORM_STDOUT: &str = concat!(
    "\n",
    " Info -> Using --platform pushes only the specified platform manifest of a multi-platform image index.\n",
    "         Other components, like attestations, will not be included.\n",
    "         To push the complete multi-platform image, remove the --platform flag.\n",
    "         \n",
    "Using default tag: latest\n",
    "exit 1\n",
    "\n",
    " Info -> Using --platform pushes only the specified platform manifest of a multi-platform image index.\n",
    "         Other components, like attestations, will not be included.\n",
    "         To push the complete multi-platform image, remove the --platform flag.\n",
    "         \n",
    "exit 1\n",
    "exit 1",
);

/// `POST /images/load?platform=`: honoured (moby 28 reads it from API 1.48 and ignores it
/// below; berth never ignores it): an archive's images of that platform are loaded, one of
/// another platform is skipped (nothing loaded, no error: moby 28's graphdriver
/// tarexporter), a bad JSON platform is moby's 400.
#[test]
fn compat_load_platform() {
    Differ::start().check(&[Scenario {
        name: "load with the archive's platform (API)",
        setup: "docker rmi busybox >/dev/null",
        run: "api POST '/v1.41/images/load?quiet=1&platform=linux/amd64' -H 'Content-Type: application/x-tar' --data-binary \"@$BUSYBOX_TAR\"\n\
              docker images --format '{{.Repository}}:{{.Tag}}'",
        berth_cli: false,
        ..S
    }]);
    let d = berth_tests::TestDaemon::start();
    let tar = berth_tests::busybox_tar();
    let load = |platform: &str| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-w", "\n%{http_code}", "-X", "POST", "--unix-socket"])
            .arg(&d.socket)
            .args(["-H", "Content-Type: application/x-tar", "--data-binary"])
            .arg(format!("@{}", tar.display()))
            .arg(format!(
                "http://localhost/v1.47/images/load?quiet=1&platform={platform}"
            ))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    d.run(berth_tests::Client::Docker, &["rmi", "busybox"])
        .success();
    // moby 28's tarexporter skips an image of another platform: an empty 200 answer.
    let out = load("linux%2Farm64");
    assert_eq!(out.trim(), "200", "{out}");
    d.run(berth_tests::Client::Berth, &["images", "-q"])
        .success()
        .stdout_is("");
    let out = load("%7B%22os%22%3A%22linux%22%7D");
    assert!(
        out.contains("both OS and Architecture must be provided") && out.ends_with("400"),
        "{out}"
    );
    let out = load("%7B%22os%22%3A%22linux%22%2C%22architecture%22%3A%22amd64%22%7D");
    assert!(out.contains("Loaded image: busybox:latest"), "{out}");
}

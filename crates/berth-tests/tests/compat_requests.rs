//! Differential tests (prefix `compat_`) for request validation and the answers around it:
//! create-time validation wording (environment, tmpfs, PID mode, image references, memory
//! sizes), terminal resize, every `ps` filter, image events (and their labels), raw
//! `SecurityOpt` values, uploads refused early, JSON bodies ending with a newline, the
//! default MemorySwap, the generic `inspect` and `rm -f` of a missing container.
//! Each scenario runs against a private dockerd and a private berth daemon
//! (`berth_tests::differential`); where dockerd 20.10 and moby 28 differ, `Moby28` carries
//! moby 28's output and why.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;
const M: Moby28 = Moby28::DEFAULT;

/// Values moby refuses at create, in its words, through both CLIs and the raw API.
#[test]
fn compat_create_validation() {
    Differ::start().check(&[
        Scenario {
            name: "validation: environment entries without a name (API)",
            run: "for e in '\"=foo\"' '\"\"' '\"=\"'; do apij POST /v1.41/containers/create \"{\\\"Image\\\":\\\"busybox\\\",\\\"Env\\\":[$e]}\" | jq -c .; done\n\
                  apij POST '/v1.41/containers/create?name=nv' '{\"Image\":\"busybox\",\"Env\":[\"NOVALUE\"]}' >/dev/null 2>&1\n\
                  docker inspect -f '{{json .Config.Env}}' nv\n\
                  docker ps -aq | wc -l",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "validation: -e without a name",
            run: "docker run --rm -e =x busybox true\n\
                  docker run --rm -e '' busybox true\n\
                  docker create --env-file /dev/null busybox true >/dev/null; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "validation: tmpfs destinations and options",
            run: "docker run --rm --tmpfs / busybox true\n\
                  docker run --rm --tmpfs rel busybox true\n\
                  docker run --rm --tmpfs /x:bogus busybox true\n\
                  docker run --rm --tmpfs /x:size=1m busybox sh -c 'df /x | tail -1 | cut -c1-5'\n\
                  docker create --mount type=tmpfs,dst=rel busybox true",
            ..S
        },
        Scenario {
            name: "validation: tmpfs (API)",
            run: "for t in '{\"/\":\"\"}' '{\"rel\":\"\"}' '{\"/x\":\"bogus\"}'; do apij POST /v1.41/containers/create \"{\\\"Image\\\":\\\"busybox\\\",\\\"HostConfig\\\":{\\\"Tmpfs\\\":$t}}\" | jq -c .; done",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "validation: --pid and --uts modes (CLI)",
            run: "docker run --rm --pid bogus busybox true\n\
                  docker run --rm --pid host:x busybox true\n\
                  docker run --rm --pid container: busybox true\n\
                  docker run --rm --uts bogus busybox true",
            ..S
        },
        Scenario {
            name: "validation: PID modes (API)",
            run: "for m in bogus container: 'host:x'; do apij POST /v1.41/containers/create \"{\\\"Image\\\":\\\"busybox\\\",\\\"HostConfig\\\":{\\\"PidMode\\\":\\\"$m\\\"}}\" | jq -c .; done",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(concat!(
                    "{\"message\":\"invalid PID mode: bogus\"}\n",
                    "{\"message\":\"invalid PID mode: container:\"}\n",
                    "{\"message\":\"invalid PID mode: host:x\"}",
                )),
                stderr: Some("HTTP 400\nHTTP 400\nHTTP 400"),
                why: "moby 23+ checks PidMode.Valid() at create (verifyPlatformContainerSettings); 20.10 created the container",
            }),
            ..S
        },
        Scenario {
            name: "validation: image references (API)",
            run: "d=$(printf '0%.0s' $(seq 64))\n\
                  for i in 'busybox@sha256:abc' \"busybox@sha256:$d\" \"sha256:$d\" 'sha256:abc' 'busybox:sha256' 'BusyBox' 'busybox@md5:abc' \"busybox@foo:$d\" ':x'; do apij POST /v1.41/containers/create \"{\\\"Image\\\":\\\"$i\\\"}\" | jq -c .; done",
            berth_cli: false,
            moby28: Some(Moby28 {
                stdout: Some(concat!(
                    "{\"message\":\"invalid reference format\"}\n",
                    "{\"message\":\"No such image: busybox@sha256:<ID1>\"}\n",
                    "{\"message\":\"No such image: sha256:<ID1>\"}\n",
                    "{\"message\":\"No such image: sha256:abc\"}\n",
                    "{\"message\":\"No such image: busybox:sha256\"}\n",
                    "{\"message\":\"invalid reference format: repository name (library/BusyBox) must be lowercase\"}\n",
                    "{\"message\":\"invalid reference format\"}\n",
                    "{\"message\":\"unsupported digest algorithm\"}\n",
                    "{\"message\":\"invalid reference format\"}",
                )),
                why: "distribution/reference 0.5+ (moby 25+) names the repository in the lower-case error, as the docker CLI 28 does",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "validation: image references (CLI)",
            run: "d=$(printf '0%.0s' $(seq 64))\n\
                  docker create busybox@sha256:abc\n\
                  docker create --pull never \"busybox@sha256:$d\"\n\
                  docker create --pull never BusyBox\n\
                  docker create --pull never 'busybox@md5:abc'",
            ..S
        },
        Scenario {
            name: "validation: memory sizes",
            run: "for m in 1x 1.2.3 -5 -1 10mbb 10MBB 4kib 1KiB 10xb '' 3b 6m; do docker create -m \"$m\" busybox true >/dev/null; echo \"$m: $?\"; done\n\
                  for m in 1x -1 ''; do docker create -m 64m --memory-swap \"$m\" busybox true >/dev/null; echo \"swap $m: $?\"; done\n\
                  docker create --memory-reservation 1x busybox true\n\
                  docker create --shm-size 1x busybox true",
            ..S
        },
    ]);
}

/// `POST /containers/{id}/resize` and `/exec/{id}/resize`: h and w as moby 28's
/// `httputils.Uint32Value` reads them, the container's terminal resized, a `resize` event.
#[test]
fn compat_resize() {
    Differ::start().check(&[
        Scenario {
            name: "resize: container, bad and good sizes",
            setup: "docker run -d -t --name tt busybox sh -c 'while :; do stty size > /tmp/s; sleep 0.1; done' >/dev/null && \
                    docker run -d --name nn busybox sleep 60 >/dev/null && docker create --name cc busybox true >/dev/null",
            run: "sleep 1; since=$(date +%s)\n\
                  for q in '' 'h=10' 'w=10' 'h=&w=10' 'h=x&w=10' 'h=-1&w=10' 'h=%2B1&w=10' 'h=4294967296&w=10' 'h=10&w=4294967296' 'h=10&w=-0'; do api POST \"/v1.41/containers/tt/resize?$q\" | jq -c .; done\n\
                  api POST '/v1.41/containers/tt/resize?h=12&w=34' | jq -c .; sleep 0.5\n\
                  docker exec tt cat /tmp/s\n\
                  api POST '/v1.41/containers/nn/resize?h=10&w=20' | jq -c .\n\
                  api POST '/v1.41/containers/cc/resize?h=10&w=20' | jq -c .\n\
                  api POST '/v1.41/containers/nosuch/resize?h=10&w=20' | jq -c .\n\
                  docker events --since $since --until $(( $(date +%s) + 1 )) --filter event=resize --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.height}} {{.Actor.Attributes.width}}'",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(concat!(
                    r#"{"message":"invalid resize height \"\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize width \"\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"x\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"-1\": value out of range"}"#, "\n",
                    r#"{"message":"invalid resize height \"+1\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"4294967296\": value out of range"}"#, "\n",
                    r#"{"message":"invalid resize width \"4294967296\": value out of range"}"#, "\n",
                    r#"{"message":"invalid resize width \"-0\": value out of range"}"#, "\n",
                    "12 34\n",
                    r#"{"message":"container <ID1> is not running"}"#, "\n",
                    r#"{"message":"No such container: nosuch"}"#, "\n",
                    "resize tt 12 34\n",
                    "resize nn 10 20",
                )),
                stderr: Some("HTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 200\nHTTP 200\nHTTP 409\nHTTP 404"),
                why: "moby 25+ reads h and w with httputils.Uint32Value (moby's TestResize wording) and GetRunningTask says \"container ... is not running\"; 20.10 used strconv.Atoi",
            }),
            ..S
        },
        Scenario {
            name: "resize: exec, bad and good sizes",
            setup: "docker run -d --name tt busybox sleep 60 >/dev/null",
            run: "id=$(apij POST /v1.41/containers/tt/exec '{\"Cmd\":[\"sh\",\"-c\",\"while :; do stty size > /tmp/e; sleep 0.1; done\"],\"Tty\":true}' 2>/dev/null | jq -r .Id)\n\
                  apij POST \"/v1.41/exec/$id/start\" '{\"Detach\":true,\"Tty\":true}' | jq -c .; sleep 0.5\n\
                  for q in '' 'h=10' 'h=x&w=10' 'h=-1&w=10' 'h=10&w=4294967296'; do api POST \"/v1.41/exec/$id/resize?$q\" | jq -c .; done\n\
                  api POST \"/v1.41/exec/$id/resize?h=23&w=45\" | jq -c .; sleep 0.5\n\
                  docker exec tt cat /tmp/e\n\
                  api POST '/v1.41/exec/nosuch/resize?h=10&w=20'; echo",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(concat!(
                    r#"{"message":"invalid resize height \"\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize width \"\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"x\": invalid syntax"}"#, "\n",
                    r#"{"message":"invalid resize height \"-1\": value out of range"}"#, "\n",
                    r#"{"message":"invalid resize width \"4294967296\": value out of range"}"#, "\n",
                    "23 45\n",
                    r#"{"message":"No such exec instance: nosuch"}"#,
                )),
                stderr: Some("HTTP 200\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 400\nHTTP 200\nHTTP 404"),
                why: "moby 25+ reads h and w with httputils.Uint32Value; 20.10 used strconv.Atoi",
            }),
            ..S
        },
    ]);
}

/// Every filter moby 28's `ps` accepts, and its errors for unknown keys and bad values.
#[test]
fn compat_ps_filters() {
    const SETUP: &str = "docker network create n1 >/dev/null && docker volume create v1 >/dev/null && \
        docker run -d --name a1 --label k=v --network n1 -v v1:/data -p 127.0.0.1:$PORT:80 --expose 90 busybox sleep 60 >/dev/null && \
        docker run -d --name b2 --label k=w --health-cmd true --health-interval 1s busybox sleep 60 >/dev/null && \
        docker create --name c3 --label other busybox true >/dev/null && \
        { docker run --name d4 busybox sh -c 'exit 3' || true; } && \
        docker run --name e5 -v /anon -v \"$SCRATCH:/bound\" busybox true && \
        sleep 3";
    Differ::start().check(&[
        Scenario {
            name: "ps filters: before, since",
            setup: SETUP,
            run: "f() { echo \"-- $*\"; docker ps --format '{{.Names}}' \"$@\"; echo \"exit $?\"; }\n\
                  f -a --filter before=c3\n\
                  f -a --filter since=b2\n\
                  f --filter since=a1\n\
                  f -a --filter before=e5 --filter since=a1\n\
                  f -a --filter before=nosuch\n\
                  f -a --filter since=$(docker inspect -f '{{.Id}}' b2 | cut -c1-12)",
            ..S
        },
        Scenario {
            name: "ps filters: volume, network",
            setup: SETUP,
            run: "f() { echo \"-- $*\"; docker ps --format '{{.Names}}' \"$@\"; echo \"exit $?\"; }\n\
                  f -a --filter volume=v1\n\
                  f -a --filter volume=/anon\n\
                  f -a --filter volume=/data\n\
                  f -a --filter volume=\"$SCRATCH\"\n\
                  f -a --filter volume=nosuch\n\
                  f -a --filter network=n1\n\
                  f -a --filter network=bridge\n\
                  echo '-- network id prefix'; docker ps -a --format '{{.Names}}' --filter network=$(docker network inspect -f '{{.Id}}' n1 | cut -c1-6)\n\
                  f -a --filter network=nosuch",
            ..S
        },
        Scenario {
            name: "ps filters: publish, expose",
            setup: SETUP,
            run: "f() { echo \"-- $*\"; docker ps --format '{{.Names}}' \"$@\"; echo \"exit $?\"; }\n\
                  f -a --filter publish=$PORT\n\
                  f -a --filter publish=$PORT/tcp\n\
                  f -a --filter publish=$PORT/udp\n\
                  f -a --filter publish=80\n\
                  f -a --filter expose=80\n\
                  f -a --filter expose=90\n\
                  f -a --filter expose=85-95/tcp\n\
                  f -a --filter publish=1:2\n\
                  f -a --filter expose=abc",
            ..S
        },
        Scenario {
            name: "ps filters: health, is-task, isolation",
            setup: SETUP,
            run: "f() { echo \"-- $*\"; docker ps --format '{{.Names}}' \"$@\"; echo \"exit $?\"; }\n\
                  f -a --filter health=healthy\n\
                  f -a --filter health=none\n\
                  f -a --filter health=starting\n\
                  f -a --filter health=bogus\n\
                  f -a --filter is-task=false\n\
                  f -a --filter is-task=true\n\
                  f -a --filter is-task=maybe\n\
                  f -a --filter isolation=default\n\
                  f -a --filter isolation=hyperv",
            moby28: Some(Moby28 {
                stderr: Some("Error response from daemon: Unrecognised filter value for health: bogus\nError response from daemon: invalid filter 'is-task=[maybe]'"),
                why: "moby 28's filter errors are lower case (api/types/filters errors.go: \"invalid filter\"); 20.10 said \"Invalid filter\"",
                ..M
            }),
            ..S
        },
        Scenario {
            name: "ps filters: id, name, label, status, exited, ancestor, unknown keys",
            setup: SETUP,
            run: "f() { echo \"-- $*\"; docker ps --format '{{.Names}}' \"$@\"; echo \"exit $?\"; }\n\
                  echo '-- id prefix'; docker ps -a --format '{{.Names}}' --filter id=$(docker inspect -f '{{.Id}}' b2 | cut -c1-10)\n\
                  f -a --filter name=^a --filter name=c3\n\
                  f -a --filter name='[bd][24]'\n\
                  f -a --filter name=/e5\n\
                  f -a --filter label=k\n\
                  f -a --filter label=k=v --filter label=other\n\
                  f -a --filter label=k --filter label=k=w\n\
                  f -a --filter 'label!=k=v'\n\
                  f --filter exited=3\n\
                  f -a --filter exited=3\n\
                  f -a --filter exited=0\n\
                  f -a --filter exited=x\n\
                  f --filter status=exited\n\
                  f -a --filter status=created --filter status=running\n\
                  f -a --filter status=run\n\
                  f -a --filter ancestor=busybox\n\
                  f -a --filter ancestor=nosuch\n\
                  f -a --filter bogus=1",
            moby28: Some(Moby28 {
                stderr: Some(concat!(
                    "Error response from daemon: invalid filter 'label!'\n",
                    "Error response from daemon: strconv.Atoi: parsing \"x\": invalid syntax\n",
                    "Error response from daemon: invalid filter 'status=run'\n",
                    "Error response from daemon: invalid filter 'bogus'",
                )),
                why: "moby 28's filter errors are lower case (api/types/filters errors.go: \"invalid filter\"); 20.10 said \"Invalid filter\"",
                ..M
            }),
            ..S
        },
    ]);
}

/// Image events as moby 28's graphdriver image service logs them.
#[test]
fn compat_image_events() {
    Differ::start().check(&[Scenario {
        name: "events: tag, import, save, load, untag, delete",
        run: "mkdir d && echo hi > d/f && tar -C d -cf fs.tar .\n\
              sleep 1; since=$(date +%s)\n\
              docker tag busybox t1:a\n\
              docker import fs.tar imp:1 >/dev/null\n\
              docker import fs.tar >/dev/null\n\
              docker save -o s.tar t1:a\n\
              docker rmi t1:a >/dev/null\n\
              docker load -i s.tar >/dev/null\n\
              docker create --name c1 busybox true >/dev/null\n\
              docker commit c1 chain:1 >/dev/null && docker rm c1 >/dev/null\n\
              docker rmi chain:1 imp:1 t1:a >/dev/null\n\
              docker events --since $since --until $(( $(date +%s) + 1 )) --filter type=image --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'",
        ..S
    }, Scenario {
        // moby's LogImageEvent copies the image's labels into the attributes (`name` wins
        // over a label of that name); a deleted image has none left to copy. `rmi imp:1`
        // also deletes its layer: listed in the answer, no event.
        name: "events: image labels in the attributes",
        run: "sleep 1; since=$(date +%s)\n\
              printf 'FROM busybox\\nLABEL team=blue name=shadow\\n' | docker build -q -t lab:1 - >/dev/null 2>&1\n\
              docker tag lab:1 lab:2\n\
              docker save -o s.tar lab:1\n\
              docker rmi lab:2 >/dev/null\n\
              docker load -i s.tar >/dev/null\n\
              docker import --change 'LABEL imp=yes' s.tar imp:1 >/dev/null\n\
              docker create --name c1 busybox true >/dev/null\n\
              docker commit --change 'LABEL com=mit' c1 com:1 >/dev/null && docker rm c1 >/dev/null\n\
              docker rmi lab:1 imp:1 com:1\n\
              docker events --since $since --until $(( $(date +%s) + 1 )) --filter type=image --format '{{.Action}} {{json .Actor.Attributes}}'",
        ..S
    }]);
}

/// `HostConfig.SecurityOpt` sent raw: moby's daemon knows no `systempaths` option (the
/// docker CLI turns `--security-opt systempaths=unconfined` into empty MaskedPaths and
/// ReadonlyPaths).
#[test]
fn compat_security_opt_raw() {
    Differ::start().check(&[Scenario {
        name: "security opt: systempaths=unconfined sent raw",
        run: "apij POST '/v1.41/containers/create?name=sp' '{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{\"SecurityOpt\":[\"systempaths=unconfined\"]}}' | jq -c .\n\
              docker inspect -f '{{json .HostConfig.MaskedPaths}} {{json .HostConfig.SecurityOpt}}' sp\n\
              apij POST '/v1.41/containers/create?name=sq' '{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{\"MaskedPaths\":[],\"ReadonlyPaths\":[]}}' >/dev/null 2>&1\n\
              docker inspect -f '{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}' sq\n\
              docker run --rm --security-opt systempaths=unconfined busybox sh -c 'grep -c /proc/kcore /proc/self/mountinfo'",
        berth_cli: false,
        ..S
    }]);
}

/// Uploads a handler refuses before reading them: the server reads up to 256 KiB of the
/// unread body (Go's maxPostHandlerReadBytes), so a client still sending it reads the error
/// instead of failing on a broken pipe. Each request is repeated: without the drain the
/// outcome is a race.
#[test]
fn compat_upload_refused_early() {
    Differ::start().check(&[
        Scenario {
            name: "uploads: import with a bad change, through the docker CLI",
            run: "head -c 256000 /dev/urandom > big.tar\n\
                  n=0; for i in $(seq 10); do docker import --change 'BOGUS x' big.tar >/dev/null 2>e; grep -q '^Error response from daemon' e && n=$((n+1)); done; echo \"daemon errors: $n/10\"",
            ..S
        },
        Scenario {
            name: "uploads: early errors through the API, body unread",
            run: "head -c 256000 /dev/urandom > big.tar\n\
                  up() { api \"$@\" --data-binary @big.tar -H 'Content-Type: application/x-tar' -H 'Expect:' | jq -c 'has(\"message\")'; }\n\
                  for i in 1 2 3; do up PUT '/v1.41/containers/nosuch/archive?path=/'; done\n\
                  for i in 1 2 3; do up POST '/v1.41/images/create?fromSrc=-&changes=BOGUS%20x'; done\n\
                  for i in 1 2 3; do up POST '/v1.41/build?ulimits=x'; done\n\
                  docker images -q | wc -l",
            berth_cli: false,
            ..S
        },
    ]);
}

/// moby writes every JSON answer with a json.Encoder: the body ends with a newline, errors
/// included (a text answer such as `/_ping`'s does not).
#[test]
fn compat_json_newline() {
    Differ::start().check(&[Scenario {
        name: "json bodies end with a newline",
        run: "c() { local n=$1; shift; printf '%s ' \"$n\"; api \"$@\" 2>/dev/null | wc -l; }\n\
              c version GET /v1.41/version\n\
              c ping GET /v1.41/_ping\n\
              c info-keys GET /v1.41/info\n\
              c containers GET '/v1.41/containers/json?all=1'\n\
              c images GET /v1.41/images/json\n\
              c image GET /v1.41/images/busybox/json\n\
              c history GET /v1.41/images/busybox/history\n\
              c networks GET /v1.41/networks\n\
              c volumes GET /v1.41/volumes\n\
              c missing GET /v1.41/containers/nosuch/json\n\
              c old-version GET /v1.11/version\n\
              c bad-json POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{'\n\
              c create POST '/v1.41/containers/create?name=nl' -H 'Content-Type: application/json' -d '{\"Image\":\"busybox\",\"Cmd\":[\"true\"]}'\n\
              c inspect GET /v1.41/containers/nl/json\n\
              c start POST /v1.41/containers/nl/start\n\
              c wait POST /v1.41/containers/nl/wait\n\
              c volume-create POST /v1.41/volumes/create -H 'Content-Type: application/json' -d '{\"Name\":\"v1\"}'\n\
              c prune POST /v1.41/containers/prune",
        berth_cli: false,
        ..S
    }]);
}

/// `-m` alone: moby's adaptContainerSettings stores MemorySwap as twice the memory (the
/// host accounts swap), which `update` then checks a larger memory against.
#[test]
fn compat_memory_swap_default() {
    Differ::start().check(&[Scenario {
        name: "memory swap: twice the memory by default, at create and update",
        run: "show() { docker inspect -f '{{.Name}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' \"$@\"; }\n\
              docker create --name m1 -m 64m busybox true >/dev/null\n\
              docker create --name m2 -m 64m --memory-swap -1 busybox true >/dev/null\n\
              docker create --name m3 -m 64m --memory-swap 100m busybox true >/dev/null\n\
              docker create --name m4 busybox true >/dev/null\n\
              apij POST '/v1.41/containers/create?name=m5' '{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":8388608}}' >/dev/null 2>&1\n\
              show m1 m2 m3 m4 m5\n\
              docker run -d --name u1 -m 64m busybox sleep 60 >/dev/null\n\
              docker exec u1 cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes\n\
              docker update -m 100m u1 >/dev/null; echo \"update 100m: $?\"; show u1\n\
              docker update -m 200m u1 >/dev/null; echo \"update 200m: $?\"; show u1\n\
              docker update -m 200m --memory-swap 400m u1 >/dev/null; echo \"update 200m/400m: $?\"; show u1\n\
              docker exec u1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
        ..S
    }]);
}

/// The docker CLI's generic `inspect` (no `--type`) looks for containers, images, networks
/// and volumes in that order (swarm objects on a manager, plugins), and says
/// "No such object" when nothing matches; `--type` takes every object type. `rm -f` of a
/// missing container reports it but succeeds (docker CLI 28).
#[test]
fn compat_inspect_any_and_rm_force() {
    Differ::start().check(&[
        Scenario {
            name: "inspect: any object type",
            setup: "docker volume create vol1 >/dev/null && docker network create net1 >/dev/null && \
                    docker create --name both busybox true >/dev/null && docker volume create both >/dev/null",
            run: "docker inspect -f '{{.Name}} {{.Driver}}' vol1 net1\n\
                  docker inspect -f '{{.Name}}' both\n\
                  docker inspect --type volume -f '{{.Name}}' vol1 both\n\
                  docker inspect --type network -f '{{.Name}}' net1\n\
                  docker inspect --type container -f '{{.Name}}' vol1; echo \"exit $?\"\n\
                  docker inspect nosuch; echo \"exit $?\"\n\
                  docker inspect -f '{{.Name}}' vol1 nosuch both; echo \"exit $?\"\n\
                  docker inspect --type '' vol1; echo \"exit $?\"\n\
                  docker inspect --type bogus vol1; echo \"exit $?\"\n\
                  docker inspect -s -f '{{.Name}}' vol1; echo \"exit $?\"\n\
                  docker inspect --type service x; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "rm -f: a missing container is no failure",
            setup: "docker create --name r1 busybox true >/dev/null",
            run: "docker rm -f nosuch; echo \"exit $?\"\n\
                  docker rm nosuch; echo \"exit $?\"\n\
                  docker rm -f nosuch r1 nosuch2; echo \"exit $?\"\n\
                  docker ps -aq | wc -l",
            ..S
        },
    ]);
}

/// `--sysctl`, `--annotation` and `--memory-swappiness`: the CLI's own sysctl check, the
/// daemon's, both stored in HostConfig, the sysctl applied in the container. Annotations
/// from a client below API 1.43 are dropped, as moby drops them.
#[test]
fn compat_sysctl_and_annotation_flags() {
    Differ::start().check(&[
        Scenario {
            name: "run --sysctl",
            run: "docker run --rm --sysctl net.ipv4.ip_unprivileged_port_start=99 busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start\n\
                  docker run --rm --sysctl kernel.foo=1 busybox true; echo \"exit $?\"\n\
                  docker run --rm --sysctl net.ipv4.ping_group_range busybox true; echo \"exit $?\"\n\
                  docker run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true 2>/dev/null; echo \"exit $?\"\n\
                  docker create --name s1 --sysctl net.core.somaxconn=100 --sysctl kernel.shmmax=1000 busybox true >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.Sysctls}}' s1\n\
                  docker run --rm --disable-content-trust busybox true; echo \"exit $?\"\n\
                  docker run --rm --disable-content-trust=true busybox true; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "run --memory-swappiness",
            run: "docker run --rm --memory-swappiness 17 busybox cat /sys/fs/cgroup/memory/memory.swappiness\n\
                  docker run --rm --memory-swappiness 101 busybox true; echo \"exit $?\"\n\
                  docker create --name w1 --memory-swappiness 0 busybox true >/dev/null\n\
                  docker create --name w2 busybox true >/dev/null\n\
                  docker inspect -f '{{.Name}} {{.HostConfig.MemorySwappiness}}' w1 w2",
            ..S
        },
        Scenario {
            name: "create --annotation (API 1.43)",
            run: "docker create --name a1 --annotation com.example.a=b --annotation bare --annotation com.example.a=c busybox true >/dev/null\n\
                  docker inspect -f '{{json .HostConfig.Annotations}}' a1\n\
                  apij POST '/v1.42/containers/create?name=a2' '{\"Image\":\"busybox\",\"HostConfig\":{\"Annotations\":{\"x\":\"y\"}}}' >/dev/null 2>&1\n\
                  apij POST '/v1.43/containers/create?name=a3' '{\"Image\":\"busybox\",\"HostConfig\":{\"Annotations\":{\"x\":\"y\"}}}' >/dev/null 2>&1\n\
                  docker inspect -f '{{.Name}} {{json .HostConfig.Annotations}}' a2 a3",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("{\"bare\":\"\",\"com.example.a\":\"c\"}\n/a2 null\n/a3 {\"x\":\"y\"}\n"),
                stderr: Some(""),
                why: "dockerd 20.10 serves API 1.41: the docker CLI refuses --annotation and /v1.43 is too new",
            }),
            ..S
        },
    ]);
}

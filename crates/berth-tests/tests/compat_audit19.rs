//! Differential scenarios (prefix `compat_audit19_`) for the items of issue 15 that the
//! line-by-line audit of session 14 found without a test comparing berth with dockerd:
//! response shapes at API 1.41 (container inspect/list, `/version`, events), logs `--tail`,
//! network and port errors, `GET /networks` query forms, build-file paths and a shared
//! prefix of concurrently built stages.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;

/// Every key's JSON type of a part of an answer: `null` vs `[]` vs absent show, values
/// (ids, addresses, times) do not.
#[test]
fn compat_audit19_shapes() {
    Differ::start().check(&[
        Scenario {
            // KernelMemory/KernelMemoryTCP are left out: moby 23+ omits them when 0
            // (deprecated, `omitempty`), 20.10 still wrote them. Runtime's value is left
            // out too: berth's default runtime is its own, named `berth`.
            name: "container inspect at 1.41: keys and their types",
            setup: "docker create --name c1 busybox true",
            run: "t() { jq -S -c \"$1 | del(.KernelMemory, .KernelMemoryTCP) | with_entries(.value |= type)\"; }\n\
                  j=$(api GET /v1.41/containers/c1/json 2>/dev/null)\n\
                  for p in . .HostConfig .Config .State .NetworkSettings .GraphDriver; do echo \"$j\" | t $p; done\n\
                  echo \"$j\" | jq -c '[.HostConfig.IpcMode, .HostConfig.ShmSize, .Config.Volumes, .Mounts]'",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "container list at 1.41: keys and their types",
            setup: "docker create --name c1 busybox true",
            run: "api GET '/v1.41/containers/json?all=1' 2>/dev/null | jq -S -c '.[0] | with_entries(.value |= type)'\n\
                  api GET '/v1.41/containers/json?all=1' 2>/dev/null | jq -c '.[0] | [.HostConfig, .Mounts, .Ports]'",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "version at 1.24 and 1.41: keys",
            // The components' list is not compared: berth has no containerd, runc or
            // docker-init of its own to report (its Engine entry is compared).
            run: "for v in 1.24 1.41; do api GET /v$v/version 2>/dev/null | jq -c '[keys, .Components[0].Name, (.Components[0].Details | keys)]'; done",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "image inspect of an untagged image",
            setup: "docker create --name c1 busybox true",
            run: "id=$(docker commit c1)\n\
                  api GET /v1.41/images/$id/json 2>/dev/null | jq -c '[.RepoTags, .RepoDigests, has(\"Variant\")]'\n\
                  docker image inspect -f '{{json .RepoTags}} {{json .RepoDigests}}' $id",
            ..S
        },
        Scenario {
            name: "events at 1.41: the legacy fields",
            run: "sleep 1; since=$(date +%s)\n\
                  docker create --name c1 busybox true >/dev/null\n\
                  docker tag busybox bb:1\n\
                  api GET \"/v1.41/events?since=$since&until=$(( $(date +%s) + 1 ))\" 2>/dev/null | jq -c '[.Type, .Action, (keys)]'",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "info at 1.41: security options",
            run: "api GET /v1.41/info 2>/dev/null | jq -c '.SecurityOptions'",
            berth_cli: false,
            moby28: Some(Moby28 {
                stdout: Some("[\"name=seccomp,profile=builtin\"]"),
                why: "moby 23 names the default seccomp profile `builtin` (20.10 said `default`)",
                ..Moby28::DEFAULT
            }),
            ..S
        },
    ]);
}

/// `logs --tail` that is no number: moby's `strconv.Atoi` fails and every line is shown.
#[test]
fn compat_audit19_logs_tail() {
    Differ::start().check(&[Scenario {
        name: "logs --tail with a non-number, a negative number",
        setup: "docker run --name lg busybox sh -c 'echo a; echo b; echo c'",
        run: "docker logs --tail foo lg; echo \"exit $?\"\n\
              docker logs --tail -1 lg; echo \"exit $?\"\n\
              docker logs --tail 1.5 lg; echo \"exit $?\"\n\
              docker logs --tail 2 lg; echo \"exit $?\"\n\
              api GET '/v1.41/containers/lg/logs?stdout=1&tail=x' | od -An -c | tr -s ' ' | head -3",
        ..S
    }]);
}

/// Network and port errors not compared elsewhere.
#[test]
fn compat_audit19_network_errors() {
    Differ::start().check(&[
        Scenario {
            name: "an address outside the network's subnet",
            setup: "docker network create --subnet $SUBA.0/24 n1",
            run: "docker run --rm --network n1 --ip $SUBB.5 busybox true\n\
                  docker create --network n1 --ip $SUBB.5 busybox true >/dev/null; echo \"create $?\"",
            moby28: Some(Moby28 {
                stdout: Some("create 1"),
                stderr: Some(concat!(
                    "docker: Error response from daemon: invalid config for network n1: invalid endpoint settings:\n",
                    "no configured subnet or ip-range contain the IP address <SUBB>.5\n\n",
                    "Run 'docker run --help' for more information\n",
                    "Error response from daemon: invalid config for network n1: invalid endpoint settings:\n",
                    "no configured subnet or ip-range contain the IP address <SUBB>.5",
                )),
                why: "moby 25+ checks the endpoint settings at create (daemon/create.go wraps \
                      validateEndpointSettings' \"invalid endpoint settings:\\n%w\" in \"invalid config for \
                      network %s: %w\"); 20.10 created the container and refused it at start",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "a host port already published by another container",
            setup: "docker run -d --name w1 -p 127.0.0.1:$PORT:80 busybox sleep 60",
            run: "docker run -d --name w2 -p 127.0.0.1:$PORT:80 busybox sleep 60 >/dev/null; echo \"exit $?\"\n\
                  docker inspect -f '{{.State.Status}}' w2",
            moby28: Some(Moby28 {
                stderr: Some(concat!(
                    "docker: Error response from daemon: failed to set up container networking: driver failed programming external connectivity on endpoint w2 (<ID1>): Bind for 127.0.0.1:<PORT> failed: port is already allocated\n\n",
                    "Run 'docker run --help' for more information",
                )),
                why: "moby 28's start wraps the network setup's error in \"failed to set up container networking: \"",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "GET /networks query forms",
            setup: "docker network create n1 && docker network create --label a=b n2",
            run: "q() { api GET \"/v1.41/networks$1\" 2>&1 | sed -n 's/^HTTP //p;/^\\[/p;/^{/p' | jq -cR 'fromjson? // .' | jq -c 'if type == \"array\" then map(.Name) | sort else . end'; }\n\
                  q ''\n\
                  q '?filters=%7B%22name%22%3A%7B%22n1%22%3Atrue%7D%7D'\n\
                  q '?filters=%7B%22name%22%3A%5B%22n1%22%5D%7D'\n\
                  q '?filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D'\n\
                  q '?filters=%7B%22type%22%3A%7B%22custom%22%3Atrue%7D%7D'\n\
                  q '?filters=%7B%22type%22%3A%7B%22builtin%22%3Atrue%7D%7D'\n\
                  q '?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D'\n\
                  q '?filters=%7B%22driver%22%3A%7B%22bridge%22%3Atrue%7D%7D'\n\
                  q '?filters=%7B%22scope%22%3A%7B%22local%22%3Atrue%7D%7D'\n\
                  q '?filters='\n\
                  q '?verbose=1'",
            berth_cli: false,
            ..S
        },
    ]);
}

/// The classic builder: a Dockerfile named by its path inside the context, `cachefrom`, a
/// step two concurrently built stages share.
#[test]
fn compat_audit19_build() {
    Differ::start().check(&[
        Scenario {
            name: "build -f naming a Dockerfile inside the context",
            run: "mkdir -p ctx/sub && printf 'FROM busybox\\nCOPY f /f\\nRUN cat /f\\n' > ctx/sub/Dockerfile.x && echo hi > ctx/f\n\
                  docker build -q -f ctx/sub/Dockerfile.x -t p1 ctx >/dev/null 2>&1; echo \"exit $?\"\n\
                  docker run --rm p1 cat /f\n\
                  api POST '/v1.41/build?dockerfile=sub/Dockerfile.x&q=1' -H 'Content-Type: application/x-tar' --data-binary @<(tar -C ctx -c .) 2>/dev/null | jq -c 'keys'\n\
                  api POST '/v1.41/build?dockerfile=nosuch&q=1' -H 'Content-Type: application/x-tar' --data-binary @<(tar -C ctx -c .) 2>/dev/null | jq -c '.message // .errorDetail.message'",
            ..S
        },
        Scenario {
            name: "two stages sharing their first step build it once",
            run: "mkdir ctx && printf 'FROM busybox AS a\\nRUN echo shared > /s\\nRUN echo a > /a\\nFROM busybox AS b\\nRUN echo shared > /s\\nRUN echo b > /b\\nFROM busybox\\nCOPY --from=a /a /a\\nCOPY --from=b /b /b\\n' > ctx/Dockerfile\n\
                  docker build ctx 2>&1 | grep -c 'Using cache'",
            ..S
        },
        Scenario {
            name: "cachefrom names an image the steps may come from",
            setup: "mkdir ctx && printf 'FROM busybox\\nRUN echo one > /one\\n' > ctx/Dockerfile && docker build -t src ctx",
            run: "mkdir ctx && printf 'FROM busybox\\nRUN echo one > /one\\n' > ctx/Dockerfile\n\
                  docker build --cache-from src ctx 2>&1 | grep -c 'Using cache'\n\
                  docker build --cache-from nosuch ctx 2>&1 | grep -c 'Using cache'",
            ..S
        },
    ]);
}

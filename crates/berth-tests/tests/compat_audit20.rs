//! Differential scenarios (prefix `compat_audit20_`) for the last differences of issue 15
//! that session 15's audit left: static addresses at `network connect` and on networks whose
//! subnet the daemon chose, a `filters` value that is not JSON, host port ranges from a
//! compose file's `ports` (docker compose against dockerd, docker compose and berth compose
//! against berth), and the two deliberate differences pinned: the default runtime's name
//! and `/version`'s components.

use berth_tests::compose_bin;
use berth_tests::differential::{Differ, Moby28, Scenario};
use berth_tests::TestDaemon;

const S: Scenario = Scenario::DEFAULT;

/// moby 28's `validateEndpointSettings` (daemon/container_operations.go) at connect: the
/// address checks of api/types/network/endpoint.go (`IsInRange`) under "invalid endpoint
/// settings:\n", without create's "invalid config for network N: " prefix; a static
/// address needs a subnet the user configured (`IpamConf.IsStatic`).
#[test]
fn compat_audit20_network_addresses() {
    Differ::start().check(&[
        Scenario {
            name: "network connect --ip outside the subnet (running and stopped)",
            setup: "docker network create --subnet $SUBA.0/24 n1 && docker run -d --name rc busybox sleep 60 && docker create --name sc busybox true",
            run: "docker network connect --ip $SUBB.5 n1 rc; echo \"running $?\"\n\
                  docker network connect --ip $SUBB.5 n1 sc; echo \"stopped $?\"\n\
                  docker inspect -f '{{len .NetworkSettings.Networks}}' rc sc\n\
                  docker network connect --ip $SUBA.5 n1 rc; echo \"inside $?\"\n\
                  docker inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' rc",
            moby28: Some(Moby28 {
                stdout: Some("running 1\nstopped 1\n1\n1\ninside 0\n<SUBA>.5"),
                stderr: Some(concat!(
                    "Error response from daemon: invalid endpoint settings:\n",
                    "no configured subnet or ip-range contain the IP address <SUBB>.5\n",
                    "Error response from daemon: invalid endpoint settings:\n",
                    "no configured subnet or ip-range contain the IP address <SUBB>.5",
                )),
                why: "moby 25+'s connect checks the endpoint settings first (updateNetworkConfig -> \
                      validateEndpointSettings, \"invalid endpoint settings:\\n%w\"); 20.10 left it to \
                      libnetwork's IPAM, with its own words",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "a static address on a network whose subnet the daemon chose",
            setup: "docker network create n2 && docker run -d --name rc busybox sleep 60",
            // An address inside the chosen subnet: the subnet is not user-configured, so
            // moby refuses any static address there, inside or not.
            run: "sub=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' n2); base=${sub%/*}\n\
                  ip=${base%.*}.$(( ${base##*.} + 5 ))\n\
                  docker run --rm --network n2 --ip $ip busybox true; echo \"run $?\"\n\
                  docker create --name cc --network n2 --ip $ip busybox true >/dev/null; echo \"create $?\"\n\
                  docker network connect --ip $ip n2 rc; echo \"connect $?\"\n\
                  docker run --rm --network n2 --ip6 fd00:be::5 busybox true; echo \"ip6 $?\"\n\
                  docker run --rm --network n2 busybox true; echo \"dynamic $?\"",
            moby28: Some(Moby28 {
                stdout: Some("run 125\ncreate 1\nconnect 1\nip6 125\ndynamic 0"),
                stderr: Some(concat!(
                    "docker: Error response from daemon: invalid config for network n2: invalid endpoint settings:\n",
                    "user specified IP address is supported only when connecting to networks with user configured subnets\n\n",
                    "Run 'docker run --help' for more information\n",
                    "Error response from daemon: invalid config for network n2: invalid endpoint settings:\n",
                    "user specified IP address is supported only when connecting to networks with user configured subnets\n",
                    "Error response from daemon: invalid endpoint settings:\n",
                    "user specified IP address is supported only when connecting to networks with user configured subnets\n",
                    "docker: Error response from daemon: invalid config for network n2: invalid endpoint settings:\n",
                    "user specified IP address is supported only when connecting to networks with user configured subnets\n\n",
                    "Run 'docker run --help' for more information",
                )),
                why: "moby 25+ checks static addresses at create and connect (validateEndpointIPAddress: \
                      no IsStatic subnet of the address's family); 20.10 refused them at start, \
                      without the \"invalid endpoint settings\" wrapping",
                ..Moby28::DEFAULT
            }),
            ..S
        },
    ]);
}

/// moby 28's answers for [`compat_audit20_filters_not_json`] (`%7B` reads `%<SIZE>` after
/// the normaliser, on both sides).
const FILTERS_MOBY28: &str = concat!(
    "containers/json nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "containers/json %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "containers/json %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "images/json nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "images/json %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "images/json %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "networks nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "networks %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "networks %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "volumes nojson: HTTP 400 {\"message\":\"error reading volume filters: invalid filter\"}\n",
    "volumes %5B1%5D: HTTP 400 {\"message\":\"error reading volume filters: invalid filter\"}\n",
    "volumes %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"error reading volume filters: invalid filter\"}\n",
    "events?until=1 nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "events?until=1 %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "events?until=1 %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "containers/prune nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "containers/prune %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "containers/prune %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "images/prune nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "images/prune %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "images/prune %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "volumes/prune nojson: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "volumes/prune %5B1%5D: HTTP 400 {\"message\":\"invalid filter\"}\n",
    "volumes/prune %<SIZE>%22a%22%3A3%7D: HTTP 400 {\"message\":\"invalid filter\"}\n",
);

/// A `filters` query value that is not JSON (or not a map of lists/sets): moby's
/// `filters.FromJSON` answers `invalid filter` (api/types/filters/parse.go, its
/// `invalidFilter{}` with no name), wrapped by the volume list's "error reading volume
/// filters: " (volume_routes.go getVolumesList).
#[test]
fn compat_audit20_filters_not_json() {
    Differ::start().check(&[Scenario {
        name: "a filters value that is not JSON",
        run: "for p in containers/json images/json networks volumes 'events?until=1' 'containers/prune' 'images/prune' 'volumes/prune'; do\n\
                m=GET; case $p in *prune) m=POST;; esac\n\
                for f in nojson '%5B1%5D' '%7B%22a%22%3A3%7D'; do\n\
                  case $p in *\\?*) sep='&';; *) sep='?';; esac\n\
                  echo \"$p $f: $(api $m \"/v1.41/$p${sep}filters=$f\" 2>&1 | tr '\\n' ' ' | sed 's/ *$//')\"\n\
                done\n\
              done",
        berth_cli: false,
        moby28: Some(Moby28 {
            code: Some(0),
            stdout: Some(FILTERS_MOBY28),
            stderr: Some(""),
            why: "20.10's FromJSON returned the JSON decoder's error (a 500 on most routes); \
                  moby 28's returns invalidFilter{} (\"invalid filter\", InvalidParameter: 400)",
        }),
        ..S
    }]);
}

/// A host port range in a compose file's `ports` (`"127.0.0.1:P-P+2:80"`) with `--scale`:
/// each replica gets a free port of the range (moby's port allocator takes the first free
/// one), and a replica past the range's end is created but fails to start. The reference
/// is docker compose against dockerd; berth is checked with docker compose (the docker
/// CLI pass) and with `berth compose` (the berth CLI pass, `docker compose` being berth's).
#[test]
fn compat_audit20_compose_port_range() {
    let compose = compose_bin();
    // The docker CLI here has no compose plugin: the compose binary is called directly;
    // the berth CLI's `docker compose` is `berth compose`.
    let run: &'static str = Box::leak(
        format!(
            "P=$PORT\n\
             printf 'services:\\n  web:\\n    image: busybox\\n    command: sleep 60\\n    ports:\\n      - \"127.0.0.1:%s-%s:80\"\\n' $P $((P+2)) > compose.yaml\n\
             dc() {{ if docker compose version >/dev/null 2>&1; then docker compose \"$@\"; else '{}' \"$@\"; fi; }}\n\
             offsets() {{ for c in \"$@\"; do docker port $c 80/tcp | sed 's/.*://'; done | while read hp; do echo $((hp - P)); done | sort | tr '\\n' ' '; echo; }}\n\
             dc -p pr up -d --scale web=2 >/dev/null 2>&1; echo \"up2 $?\"\n\
             offsets pr-web-1 pr-web-2\n\
             docker inspect -f '{{{{json .HostConfig.PortBindings}}}}' pr-web-1 | sed \"s/$((P+2))/P+2/g\"\n\
             dc -p pr up -d --scale web=3 >/dev/null 2>&1; echo \"up3 $?\"\n\
             offsets pr-web-1 pr-web-2 pr-web-3\n\
             dc -p pr up -d --scale web=4 >/dev/null 2>&1; echo \"up4 $?\"\n\
             docker inspect -f '{{{{.State.Status}}}}' pr-web-4\n\
             offsets pr-web-1 pr-web-2 pr-web-3\n\
             dc -p pr down >/dev/null 2>&1; echo \"down $?\"\n\
             docker ps -aq | wc -l",
            compose.display()
        )
        .into_boxed_str(),
    );
    Differ::start().check(&[Scenario {
        name: "compose ports with a host port range, scaled",
        run,
        timeout: 180,
        ..S
    }]);
}

/// The deliberate differences, pinned on berth (no dockerd comparison can hold them):
/// - the default runtime is berth's own, named `berth` (`HostConfig.Runtime`, `/info`
///   DefaultRuntime); dockerd's is `runc`. Naming it `runc` would claim a binary berth
///   does not run. A daemon whose daemon.json makes `runc` the default shows `runc`.
/// - `/version` Components: `Engine` only by default (berth has no containerd and ships
///   no docker-init; its built-in runtime is the Engine). With an OCI runtime binary as
///   the default, that runtime's component follows, read from `BINARY --version` as moby
///   28's parseRuntimeVersion reads it (name, version, `GitCommit`).
#[test]
fn compat_audit20_runtime_and_components() {
    let d = TestDaemon::start();
    let (code, body) = d.api(
        "POST",
        "/v1.47/containers/create?name=rt",
        Some(r#"{"Image":"busybox","Cmd":["true"]}"#),
    );
    assert_eq!(code, 201, "{body}");
    let (_, body) = d.api("GET", "/v1.47/containers/rt/json", None);
    let v: serde_json::Value = serde_json::from_str(&body).expect("inspect json");
    assert_eq!(v["HostConfig"]["Runtime"], "berth", "{body}");
    let (_, body) = d.api("GET", "/v1.47/info", None);
    let v: serde_json::Value = serde_json::from_str(&body).expect("info json");
    assert_eq!(v["DefaultRuntime"], "berth", "{body}");
    let (code, body) = d.api("GET", "/v1.47/version", None);
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("version json");
    let names: Vec<&str> = v["Components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["Name"].as_str())
        .collect();
    assert_eq!(names, ["Engine"], "{body}");
    drop(d);

    // runc as the default runtime (Debian's runc is installed beside docker.io).
    let out = std::process::Command::new("runc")
        .arg("--version")
        .output()
        .expect("runc --version (runc is needed for this test)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let first = text.lines().next().unwrap_or_default();
    let want_version = first.split("version").last().unwrap_or_default().trim();
    let want_commit = text
        .lines()
        .find_map(|l| l.strip_prefix("commit:"))
        .unwrap_or_default()
        .trim();
    assert!(!want_version.is_empty(), "{text}");
    let d = TestDaemon::start_with_config(r#"{"default-runtime":"runc"}"#);
    let (code, body) = d.api("GET", "/v1.47/version", None);
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("version json");
    let comps = v["Components"].as_array().expect("components");
    assert_eq!(comps.len(), 2, "{body}");
    assert_eq!(comps[0]["Name"], "Engine", "{body}");
    assert_eq!(comps[1]["Name"], "runc", "{body}");
    assert_eq!(comps[1]["Version"], want_version, "{body}");
    assert_eq!(comps[1]["Details"]["GitCommit"], want_commit, "{body}");
    let (code, body) = d.api(
        "POST",
        "/v1.47/containers/create?name=rt",
        Some(r#"{"Image":"busybox","Cmd":["true"]}"#),
    );
    assert_eq!(code, 201, "{body}");
    let (_, body) = d.api("GET", "/v1.47/containers/rt/json", None);
    let v: serde_json::Value = serde_json::from_str(&body).expect("inspect json");
    assert_eq!(v["HostConfig"]["Runtime"], "runc", "{body}");
}

/// The shape of each version-gated answer at one API version (`sig 1.NN`), one line per
/// fact: the top-level keys of container inspect (`ci`) and list (`cl`), image inspect
/// (`ii`) and the untagged image's list entry (`il`), network inspect (`ni`), `/info`
/// (`in`, with RegistryConfig's keys) and `/version` (`ve`, with the Engine's details);
/// the values moby gates: the aliases of a user network's endpoint, the untagged image's
/// RepoTags/RepoDigests, and whether `volume prune` takes a named volume (`vp`).
/// `walk FROM TO` prints only what changes from one version to the next (`1.NN + fact`,
/// `1.NN - fact`): the gates themselves, so a gate off by one version shows.
const VERSION_WALK: &str = r#"
docker network create n1 >/dev/null
docker create --name c1 --network n1 --network-alias al busybox true >/dev/null
img=$(docker commit c1)
top() { jq -r "$1 | keys[]" 2>/dev/null | sed "s/^/$2:/"; }
sig() {
  local v=$1 j
  j=$(api GET /v$v/containers/c1/json 2>/dev/null); echo "$j" | top . ci
  echo "ci:aliases=$(echo "$j" | jq -c '.NetworkSettings.Networks.n1.Aliases | length')"
  api GET "/v$v/containers/json?all=1" 2>/dev/null | top '.[0]' cl
  api GET /v$v/images/$img/json 2>/dev/null | top . ii
  j=$(api GET /v$v/images/json 2>/dev/null | jq -c --arg id "$img" '.[] | select(.Id == $id)')
  echo "$j" | top . il
  echo "il:tags=$(echo "$j" | jq -c '[.RepoTags, .RepoDigests]')"
  api GET /v$v/networks/n1 2>/dev/null | top . ni
  j=$(api GET /v$v/info 2>/dev/null); echo "$j" | top . in; echo "$j" | top .RegistryConfig in:RegistryConfig
  j=$(api GET /v$v/version 2>/dev/null); echo "$j" | top . ve; echo "$j" | top '.Components[0].Details' ve:Details
  docker volume create vn >/dev/null
  api POST /v$v/volumes/prune 2>/dev/null >/dev/null
  if docker volume inspect vn >/dev/null 2>&1; then echo vp:kept; else echo vp:pruned; fi
  docker volume rm -f vn >/dev/null 2>&1
}
walk() {
  local prev cur m
  prev=$(sig 1.$1 | sort)
  for m in $(seq $(( $1 + 1 )) $2); do
    cur=$(sig 1.$m | sort)
    diff <(echo "$prev") <(echo "$cur") | sed -n 's/^< /- /p; s/^> /+ /p' | sort | sed "s/^/1.$m /"
    prev=$cur
  done
}
"#;

/// Every API version from 1.24 to 1.41 against dockerd 20.10 (it serves up to 1.41): the
/// same gates at the same versions.
#[test]
fn compat_audit20_api_versions_to_1_41() {
    let run: &'static str = Box::leak(format!("{VERSION_WALK}\nwalk 24 41").into_boxed_str());
    Differ::start().check(&[Scenario {
        name: "version gates 1.24..1.41",
        run,
        berth_cli: false,
        timeout: 300,
        ..S
    }]);
}

/// 1.41 to 1.47 (berth's newest) against moby 28's gates, from moby 28's source (dockerd
/// 20.10 serves none of these versions):
/// - 1.42: api/server/router/volume/volume_routes.go `postVolumesPrune` adds `all=true`
///   below 1.42, so a named volume is pruned only by older clients;
/// - 1.43: api/server/router/image/image_routes.go `getImagesJSON` (`useNone`): an untagged
///   image lists `<none>:<none>`/`<none>@<none>` below 1.43, empty lists from it;
/// - 1.44: image_routes.go `getImagesByName` and `getImagesJSON` (`withVirtualSize`):
///   `VirtualSize` only below 1.44;
/// - 1.45: `getImagesByName` empties `Container`/`ContainerConfig` from 1.45 (omitted);
///   api/server/router/container/inspect.go `getContainersByName` adds the short id and
///   hostname to a user network's `Aliases` only below 1.45 (deduplicated: the default
///   hostname is the short id, so `al` becomes `al`, `<short id>`);
/// - 1.47: api/server/router/system/system_routes.go `getInfo` keeps RegistryConfig's
///   `AllowNondistributableArtifactsCIDRs`/`Hostnames` only below 1.47.
///
/// Not here, deliberately: `getInfo`'s 1.44 gate (Runtimes' `status`, which moby fills from
/// `runc features`; berth gives no status) and 1.46 gate (`Containerd`: berth runs no
/// containerd, so it has no such field at any version). The container list has no gate
/// in this range (its `ImageManifestDescriptor` is 1.48, `Health` 1.50).
#[test]
fn compat_audit20_api_versions_1_42_to_1_47() {
    let run: &'static str = Box::leak(format!("{VERSION_WALK}\nwalk 41 47").into_boxed_str());
    Differ::start().check(&[Scenario {
        name: "version gates 1.42..1.47 (moby 28's table)",
        run,
        berth_cli: false,
        timeout: 300,
        moby28: Some(Moby28 {
            code: Some(0),
            stdout: Some(concat!(
                "1.42 + vp:kept\n",
                "1.42 - vp:pruned\n",
                "1.43 + il:tags=[[],[]]\n",
                "1.43 - il:tags=[[\"<none>:<none>\"],[\"<none>@<none>\"]]\n",
                "1.44 - ii:VirtualSize\n",
                "1.44 - il:VirtualSize\n",
                "1.45 + ci:aliases=1\n",
                "1.45 - ci:aliases=2\n",
                "1.45 - ii:Container\n",
                "1.45 - ii:ContainerConfig\n",
                "1.47 - in:RegistryConfig:AllowNondistributableArtifactsCIDRs\n",
                "1.47 - in:RegistryConfig:AllowNondistributableArtifactsHostnames\n",
            )),
            stderr: Some(""),
            why: "dockerd 20.10 serves API 1.41 at most; this is moby 28's table (see the test's doc)",
        }),
        ..S
    }]);
}

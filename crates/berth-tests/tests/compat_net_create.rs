//! `network create`'s docker CLI 28 flags (prefix `compat_netcreate_`): `--aux-address`,
//! `--config-only`/`--config-from` misuse (their use: compat_net_config.rs), `--scope`,
//! `--ingress`, `--ipv4`, through both CLIs and the raw API. Differential scenarios against
//! the private dockerd where berth does what moby does; plain checks where berth refuses
//! what it cannot do (an IPv6-only network) instead of accepting and ignoring it. Traffic goes only to
//! the containers the tests create.

use berth_tests::differential::{Differ, Moby28, Scenario};
use berth_tests::{Client, TestDaemon};

const S: Scenario = Scenario::DEFAULT;

/// Auxiliary addresses: shown in inspect, reserved (never handed to a container, refused
/// to `--ip`), `DefaultGatewayIPv4` as the containers' default route; the CLI's and the
/// daemon's errors.
#[test]
fn compat_netcreate_aux_addresses() {
    Differ::start().check(&[
        Scenario {
            name: "aux addresses are reserved and shown",
            run: "docker network create --subnet $SUBA.0/24 --ip-range $SUBA.128/25 --aux-address a=$SUBA.5 --aux-address b=$SUBA.130 --aux-address c=$SUBA.129 n1 >/dev/null; echo \"exit $?\"\n\
                  docker network inspect -f '{{json .IPAM.Config}}' n1\n\
                  docker run --rm --network n1 busybox ip -4 -o addr show eth0 | awk '{print $4}'\n\
                  docker run --rm --network n1 --ip $SUBA.130 busybox true; echo \"exit $?\"\n\
                  docker run --rm --network n1 --ip $SUBA.5 busybox true; echo \"exit $?\"\n\
                  docker run --rm --network n1 --ip $SUBA.6 busybox ip -4 -o addr show eth0 | awk '{print $4}'",
            timeout: 120,
            ..S
        },
        Scenario {
            name: "aux address errors (CLI and daemon)",
            run: "docker network create --subnet $SUBB.0/24 --aux-address a=$SUBB.1 n2; echo \"exit $?\"\n\
                  docker network create --subnet $SUBB.0/24 --aux-address a=$SUBB.0 n2; echo \"exit $?\"\n\
                  docker network create --subnet $SUBB.0/24 --aux-address x=10.9.9.9 n3; echo \"exit $?\"\n\
                  docker network create --subnet $SUBB.0/24 --aux-address bad n4; echo \"exit $?\"\n\
                  docker network create --aux-address a=$SUBB.9 n5; echo \"exit $?\"\n\
                  docker network ls -q --filter name=n | wc -l",
            ..S
        },
        Scenario {
            name: "DefaultGatewayIPv4 is the containers' default gateway",
            run: "docker network create --subnet $SUBA.0/24 --aux-address DefaultGatewayIPv4=$SUBA.254 n1 >/dev/null\n\
                  docker run --rm --network n1 busybox ip route\n\
                  docker run -d --name gw --network n1 busybox sleep 60 >/dev/null\n\
                  docker inspect -f '{{.NetworkSettings.Networks.n1.Gateway}} {{.NetworkSettings.Networks.n1.IPAddress}}' gw",
            timeout: 120,
            ..S
        },
        Scenario {
            name: "aux address errors (API)",
            run: "apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"r3\\\",\\\"IPAM\\\":{\\\"Config\\\":[{\\\"Subnet\\\":\\\"$POOL.128/26\\\",\\\"AuxiliaryAddresses\\\":{\\\"a\\\":\\\"$POOL.135\\\"}}]}}\" >/dev/null\n\
                  api GET /v1.41/networks/r3 2>/dev/null | jq -c '.IPAM.Config'\n\
                  docker network ls -q --filter name=r | wc -l",
            berth_cli: false,
            ..S
        },
        // Last: dockerd 20.10 keeps the pool of a network whose aux address it refused
        // (a leak fixed since), so each request has a subnet of its own and nothing runs
        // after them. (The docker CLI refuses an aux address outside every --subnet
        // itself, "no matching subnet for aux-address": only the API reaches the daemon.)
        Scenario {
            name: "aux address errors (API), moby 28's ValidateIPAM",
            run: "apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"r1\\\",\\\"IPAM\\\":{\\\"Config\\\":[{\\\"Subnet\\\":\\\"$SUBA.0/24\\\",\\\"AuxiliaryAddresses\\\":{\\\"a\\\":\\\"bad\\\"}}]}}\"; echo\n\
                  apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"r2\\\",\\\"IPAM\\\":{\\\"Config\\\":[{\\\"Subnet\\\":\\\"$SUBB.0/24\\\",\\\"AuxiliaryAddresses\\\":{\\\"a\\\":\\\"10.9.9.9\\\"}}]}}\"; echo\n\
                  docker network ls -q | wc -l",
            berth_cli: false,
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(concat!(
                    "{\"message\":\"invalid network config:\\ninvalid auxiliary address a: invalid address\"}\n",
                    "\n",
                    "{\"message\":\"invalid network config:\\ninvalid auxiliary address a: parent subnet <SUBB>.0/24 doesn't contain this address\"}\n",
                    "\n",
                    "3",
                )),
                stderr: Some("HTTP 400\nHTTP 400"),
                why: "moby 25+ validates the IPAM configuration before allocating (api/types/network ValidateIPAM: 400 \"invalid network config:\" naming the address); 20.10 found the addresses only when allocating: a 500 \"non parsable secondary ip address\" and a 403 \"must belong to the master pool\"",
            }),
            ..S
        },
    ]);
}

/// `--config-only`/`--config-from`: moby's errors for their misuse (no configuration
/// network of that name exists on either daemon).
#[test]
fn compat_netcreate_config_networks_misuse() {
    Differ::start().check(&[Scenario {
        name: "config-only and config-from misuse",
        run: "docker network create --config-only --internal x; echo \"exit $?\"\n\
              docker network create --config-only --attachable x; echo \"exit $?\"\n\
              docker network create --config-only --scope local x; echo \"exit $?\"\n\
              docker network create --config-only --ingress x; echo \"exit $?\"\n\
              docker network create --config-only --config-from y x; echo \"exit $?\"\n\
              docker network create --config-from nope x; echo \"exit $?\"\n\
              docker network create --config-from nope --subnet $SUBA.0/24 x; echo \"exit $?\"\n\
              docker network create --config-from nope -o a=b x; echo \"exit $?\"\n\
              docker network create --config-from nope --label a=b x; echo \"exit $?\"\n\
              docker network create --config-from nope --ipv6 x; echo \"exit $?\"\n\
              docker network create --config-from nope --internal x; echo \"exit $?\"\n\
              docker network ls -q --filter name=x | wc -l",
        ..S
    }]);
}

/// `--scope` and `--ingress` outside a swarm, `--ipv4` given as true, a bad `--ipv4`.
#[test]
fn compat_netcreate_scope_ingress_ipv4() {
    Differ::start().check(&[
        Scenario {
            name: "scope and ingress outside a swarm",
            run: "docker network create --scope swarm x1; echo \"exit $?\"\n\
                  docker network create --scope local x2 >/dev/null; echo \"exit $?\"\n\
                  docker network inspect -f '{{.Scope}} {{.Driver}}' x2\n\
                  docker network create --ingress x3; echo \"exit $?\"\n\
                  docker network ls --format '{{.Name}} {{.Scope}}' --filter name=x",
            ..S
        },
        Scenario {
            name: "scope global or unknown on a bridge: a local network showing it",
            run: "docker network create --scope global x4 >/dev/null; echo \"exit $?\"\n\
                  docker network create --scope bogus x5 >/dev/null; echo \"exit $?\"\n\
                  docker network ls --format '{{.Name}} {{.Scope}} {{.Driver}}' --filter name=x\n\
                  docker network ls -q --filter scope=global | wc -l\n\
                  docker network inspect -f '{{.Scope}}' x4",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("exit 0\nexit 0\nx4 global bridge\nx5 bogus bridge\n1\nglobal"),
                stderr: Some(""),
                why: "moby 24+ keeps every network in one local store: libnetwork's NewNetwork refuses only a global-scope driver (overlay) outside a swarm, so a bridge with any other scope is made, showing it; dockerd 20.10 looked for a global store it lacked outside a swarm (500 \"This node is not a swarm manager\")",
            }),
            ..S
        },
        Scenario {
            name: "ipv4 true, and a bad ipv4 value",
            run: "docker network create --ipv4 x1 >/dev/null; echo \"exit $?\"\n\
                  docker network create --ipv4=true --subnet $SUBA.0/24 x2 >/dev/null; echo \"exit $?\"\n\
                  docker network inspect -f '{{.EnableIPv6}} {{json .IPAM.Config}}' x2\n\
                  docker run --rm --network x2 busybox ip -4 -o addr show eth0 | awk '{print $4}'\n\
                  docker network create --ipv4=maybe x3; echo \"exit $?\"\n\
                  docker network ls -q --filter name=x | wc -l",
            timeout: 90,
            ..S
        },
    ]);
}

/// What berth cannot make is refused, naming the flag, through both CLIs and the raw API:
/// an IPv6-only one (`--ipv4=false`, moby 28 at API 1.48+; dockerd 20.10 and moby at 1.47
/// ignore the field and make an IPv4 network, which berth does not do silently). Without
/// `--ipv6` it is moby 28's own error.
#[test]
fn compat_netcreate_refused() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        d.run(c, &["network", "create", "--ipv4=false", "v4off"])
            .failure()
            .stderr_contains("IPv4 or IPv6 must be enabled");
        d.run(
            c,
            &["network", "create", "--ipv4=false", "--ipv6", "v6only"],
        )
        .failure()
        .stderr_contains("EnableIPv4=false (--ipv4=false) is not supported");
        d.run(c, &["network", "ls", "--format", "{{.Name}}"])
            .success()
            .stdout_lacks("v4off")
            .stdout_lacks("v6only");
    }
    let (status, body) = d.api(
        "POST",
        "/v1.47/networks/create",
        Some(r#"{"Name":"raw","EnableIPv4":false,"EnableIPv6":true}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is not supported"), "{body}");
    let (status, body) = d.api(
        "POST",
        "/v1.47/networks/create",
        Some(r#"{"Name":"raw","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.219.7.0/24","AuxiliaryAddresses":{"a":"10.219.7.9"}}]}}"#),
    );
    assert_ne!(status, 201, "{body}");
    let (_, body) = d.api("GET", "/v1.47/networks", None);
    assert!(!body.contains("\"raw\""), "{body}");
}

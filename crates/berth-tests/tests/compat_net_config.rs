//! Configuration-only networks (`network create --config-only`) and the networks made
//! `--config-from` them (prefix `compat_netconfig_`), differential against the private
//! dockerd (20.10 has them as moby 28 does): inspect and ls of both, nothing attaching to
//! a configuration network (run, start, connect), removal refused while a network uses
//! it, prune keeping it; through both CLIs and the raw API. Each scenario removes its
//! config-from networks before their configuration network, as the reset removes networks
//! in list order. Traffic goes only to the containers the tests create.

use berth_tests::differential::{Differ, Scenario};

const S: Scenario = Scenario::DEFAULT;

#[test]
// Left out: after the refused connect of the running c3, dockerd 20.10 still lists cfg in
// c3's NetworkSettings.Networks (2 networks); berth lists only the one it is attached to.
fn compat_netconfig_config_only() {
    Differ::start().check(&[Scenario {
        name: "a config-only network: inspect, ls, nothing attaches, prune keeps it",
        run: "docker network create --config-only --subnet $SUBA.0/24 --gateway $SUBA.254 --ip-range $SUBA.128/25 --aux-address a=$SUBA.5 -o com.docker.network.bridge.enable_icc=true --label l=v cfg >/dev/null; echo \"exit $?\"\n\
              docker network create --config-only --ipv6 --subnet fd16:77::/64 cfg6 >/dev/null; echo \"exit $?\"\n\
              docker network create --config-only -d macvlan cfg2 >/dev/null; echo \"exit $?\"\n\
              docker network create --config-only cfg2; echo \"exit $?\"\n\
              for n in cfg cfg6 cfg2; do docker network inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.ConfigOnly}} {{json .ConfigFrom}} {{.EnableIPv6}} {{.Internal}} {{.Attachable}} {{json .IPAM}} {{json .Options}} {{json .Labels}} {{json .Containers}}' $n; done\n\
              docker network ls --filter name=cfg --format '{{.Name}} {{.Driver}} {{.Scope}}' | sort\n\
              docker run --rm --network cfg busybox true; echo \"exit $?\"\n\
              docker create --name c1 --network cfg busybox true >/dev/null; docker start c1; echo \"exit $?\"\n\
              docker create --name c2 busybox true >/dev/null; docker network connect cfg c2; echo \"exit $?\"\n\
              docker inspect -f '{{len .NetworkSettings.Networks}}' c2\n\
              docker run -d --name c3 busybox sleep 60 >/dev/null; docker network connect cfg c3; echo \"exit $?\"\n\
              docker rm -f c1 c2 c3 >/dev/null\n\
              docker network prune -f; docker network ls -q --filter name=cfg | wc -l\n\
              docker network rm cfg cfg6 cfg2; echo \"exit $?\"",
        timeout: 120,
        ..S
    }]);
}

#[test]
// The second network's overlap error is compared by exit code only: berth words it as moby
// 28 does ("invalid pool request: Pool overlaps ..."), dockerd 20.10 without the prefix.
fn compat_netconfig_config_from() {
    Differ::start().check(&[
        Scenario {
            name: "a network made from a config-only network",
            run: "docker network create --config-only --subnet $SUBA.0/24 --gateway $SUBA.254 --ip-range $SUBA.128/25 --aux-address a=$SUBA.130 -o com.docker.network.bridge.enable_icc=true --label l=v cfg >/dev/null\n\
                  docker network create --config-from cfg n1 >/dev/null; echo \"exit $?\"\n\
                  docker network inspect -f '{{.Driver}} {{.Scope}} {{.ConfigOnly}} {{json .ConfigFrom}} {{.EnableIPv6}} {{json .IPAM}} {{json .Options}} {{json .Labels}}' n1\n\
                  docker network ls --filter name=n1 --format '{{.Name}} {{.Driver}} {{.Scope}}'\n\
                  docker run --rm --network n1 busybox ip -4 -o addr show eth0 | awk '{print $4}'\n\
                  docker run --rm --network n1 busybox ip route\n\
                  docker network create --config-from cfg n2 2>/dev/null; echo \"exit $?\"\n\
                  docker network create --config-from n1 n3; echo \"exit $?\"\n\
                  docker network rm cfg; echo \"exit $?\"\n\
                  docker network prune -f\n\
                  docker network rm cfg; echo \"exit $?\"\n\
                  docker network ls -q --filter name=n | wc -l",
            timeout: 120,
            ..S
        },
        Scenario {
            name: "config-from a config-only network with nothing given",
            run: "docker network create --config-only cfg >/dev/null\n\
                  docker network create --config-from cfg --subnet $SUBB.0/24 n1; echo \"exit $?\"\n\
                  docker network create --config-from cfg -o a=b n1; echo \"exit $?\"\n\
                  docker network create --config-from cfg --internal n1 >/dev/null; echo \"exit $?\"\n\
                  docker network inspect -f '{{.Internal}} {{json .ConfigFrom}} {{json .Labels}} {{json .Options}} {{len .IPAM.Config}}' n1\n\
                  docker network rm n1 >/dev/null; docker network rm cfg; echo \"exit $?\"",
            ..S
        },
        Scenario {
            name: "config-only and config-from through the API",
            run: "apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"cfg\\\",\\\"ConfigOnly\\\":true,\\\"IPAM\\\":{\\\"Config\\\":[{\\\"Subnet\\\":\\\"$SUBB.0/24\\\"}]}}\" >/dev/null\n\
                  apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"n1\\\",\\\"ConfigFrom\\\":{\\\"Network\\\":\\\"cfg\\\"}}\" >/dev/null\n\
                  api GET /v1.41/networks/n1 2>/dev/null | jq -c '[.ConfigFrom, .ConfigOnly, .IPAM.Config]'\n\
                  api GET /v1.41/networks/cfg 2>/dev/null | jq -c '[.ConfigFrom, .ConfigOnly, .Driver, .IPAM.Config]'\n\
                  api DELETE /v1.41/networks/cfg; echo\n\
                  apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"n2\\\",\\\"ConfigFrom\\\":{\\\"Network\\\":\\\"n1\\\"}}\"; echo\n\
                  api DELETE /v1.41/networks/n1 2>/dev/null; api DELETE /v1.41/networks/cfg",
            berth_cli: false,
            ..S
        },
    ]);
}

/// The daemon's events: a configuration-only network's creation is logged (type "null"),
/// its removal is not (moby's DeleteNetwork logs destroy for other networks only).
#[test]
fn compat_netconfig_events() {
    Differ::start().check(&[Scenario {
        name: "config-only network events",
        run: "sleep 1; t0=$(date +%s)\n\
              docker network create --config-only cfg >/dev/null\n\
              docker network create --config-from cfg n1 >/dev/null\n\
              docker network rm n1 >/dev/null; docker network rm cfg >/dev/null\n\
              docker events --since $t0 --until $(( $(date +%s) + 1 )) --filter type=network --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'",
        ..S
    }]);
}

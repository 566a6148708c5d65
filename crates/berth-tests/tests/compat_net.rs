//! Differential network scenarios (prefix `compat_net_`): the same commands against a
//! private dockerd and a private berth daemon (`berth_tests::differential`), compared after
//! normalisation. Traffic goes only to the containers the scenarios create and to loopback.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;
const M: Moby28 = Moby28::DEFAULT;

/// Names, addresses and IPAM as `network create` / `inspect` show them.
#[test]
fn compat_net_networks() {
    Differ::start().check(&[
        Scenario {
            name: "reverse DNS answers NAME.NETWORK",
            setup: "docker network create --subnet $SUBA.0/24 MonReseau0 && \
                    docker run -d --name c2 --network MonReseau0 --ip $SUBA.5 busybox sleep 60",
            run: "docker run --rm --network MonReseau0 busybox nslookup $SUBA.5 127.0.0.11 | grep -o 'name = .*'",
            ..S
        },
        Scenario {
            name: "a network name with spaces",
            run: "docker network create 'my net' >/dev/null; echo $?\n\
                  docker network ls --format '{{.Name}}' --filter name=my\n\
                  docker network inspect -f '{{.Name}} {{.Driver}}' 'my net'\n\
                  docker run --rm --network 'my net' busybox true; echo $?\n\
                  docker network rm 'my net'",
            ..S
        },
        Scenario {
            name: "IPAM shows the gateway only when given",
            run: "docker network create --subnet $SUBA.0/24 n1 >/dev/null\n\
                  api GET /networks/n1 2>/dev/null | jq -cS .IPAM.Config\n\
                  docker network create --subnet $SUBB.0/24 --gateway $SUBB.9 n2 >/dev/null\n\
                  api GET /networks/n2 2>/dev/null | jq -cS .IPAM.Config\n\
                  docker network create n3 >/dev/null\n\
                  api GET /networks/n3 2>/dev/null | jq -cS '.IPAM.Config | map(keys)'",
            ..S
        },
        Scenario {
            name: "--ip-range without --gateway",
            setup: "docker network create --subnet $SUBA.0/24 --ip-range $SUBA.128/25 n1",
            run: "api GET /networks/n1 2>/dev/null | jq -cS .IPAM.Config\n\
                  docker run --rm --network n1 busybox sh -c 'ip -4 -o addr show eth0 | awk \"{print \\$4}\"; ip route | grep default'",
            ..S
        },
        Scenario {
            name: "a duplicate name is refused (CheckDuplicate or not)",
            setup: "docker network create dup",
            run: "apij POST /v1.41/networks/create '{\"Name\":\"dup\",\"CheckDuplicate\":true}'\n\
                  apij POST /v1.41/networks/create '{\"Name\":\"dup\"}' | jq -c 'keys'\n\
                  docker network ls -q --filter name=dup | wc -l",
            berth_cli: false,
            moby28: Some(Moby28 {
                stdout: Some("{\"message\":\"network with name dup already exists\"}\n[\"message\"]\n1"),
                stderr: Some("HTTP 409\nHTTP 409"),
                why: "moby 25 ignores CheckDuplicate and always refuses a duplicate name (API 1.44 deprecation)",
                ..M
            }),
            ..S
        },
    ]);
}

/// Published host port ranges: a free port of the range per container.
#[test]
fn compat_net_port_ranges() {
    Differ::start().check(&[Scenario {
        name: "-p with a host port range",
        setup: "docker run -d --name w1 -p 127.0.0.1:$PORT-$((PORT+2)):80 busybox sleep 60 && \
                docker run -d --name w2 -p 127.0.0.1:$PORT-$((PORT+2)):80 busybox sleep 60",
        run: "for c in w1 w2; do p=$(docker port $c 80 | sed 's/.*://'); echo \"$c $((p - PORT))\"; done\n\
              docker inspect -f '{{json .HostConfig.PortBindings}}' w2 | sed \"s/-$((PORT+2))/-END/\"\n\
              docker run -d --name w3 -p 127.0.0.1:$PORT-$((PORT+2)):80 busybox sleep 60 >/dev/null; echo $?\n\
              p=$(docker port w3 80 | sed 's/.*://'); echo \"w3 $((p - PORT))\"\n\
              docker run -d --name w4 -p 127.0.0.1:$PORT-$((PORT+2)):80 busybox sleep 60 >/dev/null 2>&1; echo $?",
        ..S
    }]);
}

/// What an endpoint asks for at create or connect: link-local addresses, driver options,
/// links, MAC addresses.
#[test]
fn compat_net_endpoints() {
    Differ::start().check(&[
        Scenario {
            name: "link-local IPs applied and shown",
            setup: "docker network create --subnet $SUBA.0/24 n1",
            run: "docker run --rm --network n1 --link-local-ip 169.254.7.7 busybox ip -o -4 addr show eth0 | awk '{print $4}'\n\
                  docker create --name c1 --network n1 --link-local-ip 169.254.7.7 busybox true >/dev/null\n\
                  docker inspect -f '{{json .NetworkSettings.Networks.n1.IPAMConfig}}' c1\n\
                  docker run --rm --network n1 --link-local-ip 10.1.1.1 busybox true",
            ..S
        },
        Scenario {
            name: "endpoint driver options shown",
            setup: "docker network create --subnet $SUBA.0/24 n1",
            run: "docker create --name c1 --network name=n1,driver-opt=com.example.x=1 busybox true >/dev/null\n\
                  docker inspect -f '{{json .NetworkSettings.Networks.n1.DriverOpts}}' c1",
            ..S
        },
        Scenario {
            name: "links on a user network",
            setup: "docker network create --subnet $SUBA.0/24 n1 && \
                    docker run -d --name db --network n1 busybox sleep 60",
            run: "docker create --name app --network n1 --link db:database busybox true >/dev/null\n\
                  docker inspect -f '{{json .NetworkSettings.Networks.n1.Links}}' app\n\
                  docker run --rm --network n1 --link db:database busybox sh -c 'ping -c1 -W2 database >/dev/null && echo reached'",
            ..S
        },
        Scenario {
            name: "a MAC address given at create (API 1.41 Config.MacAddress)",
            setup: "docker network create --subnet $SUBA.0/24 n1",
            run: "apij POST '/v1.41/containers/create?name=c1' '{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"60\"],\"MacAddress\":\"92:d0:c6:0a:29:34\",\"HostConfig\":{\"NetworkMode\":\"n1\"}}' >/dev/null 2>&1\n\
                  docker start c1 >/dev/null\n\
                  docker exec c1 cat /sys/class/net/eth0/address\n\
                  docker inspect -f '{{.NetworkSettings.Networks.n1.MacAddress}}' c1\n\
                  apij POST '/v1.41/containers/create?name=c2' '{\"Image\":\"busybox\",\"Cmd\":[\"cat\",\"/sys/class/net/eth0/address\"],\"MacAddress\":\"92:d0:c6:0a:29:35\"}' >/dev/null 2>&1\n\
                  docker start -a c2",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "a MAC address per endpoint at run and connect (API 1.44)",
            setup: "docker network create --subnet $SUBA.0/24 n1 && docker network create --subnet $SUBB.0/24 n2",
            run: "docker run --rm --network n1 --mac-address 92:d0:c6:0a:29:33 busybox cat /sys/class/net/eth0/address\n\
                  docker run -d --name c1 --network n1 busybox sleep 60 >/dev/null\n\
                  apij POST /v1.44/networks/n2/connect '{\"Container\":\"c1\",\"EndpointConfig\":{\"MacAddress\":\"92:d0:c6:0a:29:36\"}}' 2>/dev/null\n\
                  docker exec c1 cat /sys/class/net/eth1/address\n\
                  docker inspect -f '{{.NetworkSettings.Networks.n2.MacAddress}}' c1",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("92:d0:c6:0a:29:33\n92:d0:c6:0a:29:36\n92:d0:c6:0a:29:36"),
                stderr: Some(""),
                why: "API 1.44 made MacAddress an endpoint setting (run --mac-address needs it; 20.10 speaks 1.41)",
            }),
            ..S
        },
    ]);
}

/// Links by name, the host's own address, small subnets.
#[test]
fn compat_net_further() {
    Differ::start().check(&[
        Scenario {
            name: "a link's path and a linked container's rename",
            setup: "docker run -d --name db busybox sleep 60 && \
                    docker run -d --name app --link db:dbalias busybox sleep 60",
            run: "api GET /containers/app/dbalias/json | jq -r .Name\n\
                  docker rename db db2\n\
                  docker inspect -f '{{json .HostConfig.Links}}' app\n\
                  api GET /containers/app/dbalias/json | jq -r .Name\n\
                  api GET /containers/app/nosuch/json",
            berth_cli: false,
            ..S
        },
        Scenario {
            name: "a published port through the host's own address",
            setup: "docker run -d --name web -p $PORT:80 busybox sh -c 'echo hi > /i; httpd -f -p 80 -h /'",
            // busybox's `wget -T` crashes on some hosts (a segfault in its alarm path);
            // `timeout` bounds the request the same way.
            run: "docker run --rm busybox timeout 5 wget -qO- http://$NET.1:$PORT/i",
            ..S
        },
        Scenario {
            name: "/31 and /32 bridge subnets",
            run: "docker network create --subnet $SUBA.0/31 n31 >/dev/null; echo $?\n\
                  api GET /networks/n31 2>/dev/null | jq -cS .IPAM.Config\n\
                  docker run --rm --network n31 busybox ip -o -4 addr show eth0 | awk '{print $4}'\n\
                  docker network create --subnet $SUBB.7/32 n32 >/dev/null; echo $?\n\
                  docker run --rm --network n32 busybox true 2>/dev/null; echo $?",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("0\n[{\"Subnet\":\"<SUBA>.0/31\"}]\n<SUBA>.1/31\n0\n125"),
                stderr: Some(""),
                why: "moby 26+'s IPAM reserves no network or broadcast address in a /31 or /32 \
                      (RFC 3021): the gateway takes the first address, a /32 has none left",
            }),
            ..S
        },
    ]);
}

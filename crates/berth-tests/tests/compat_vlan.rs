//! Differential scenarios of the macvlan and ipvlan drivers (prefix `compat_vlan_`): the
//! same commands against a private dockerd and a private berth daemon
//! (`berth_tests::differential`). Each script makes its own parent, a veth named after its
//! shell's pid (`bvPID`, with its peer `bvPIDx`, both up: a veth is a lower device macvlan
//! takes, and the development kernel has no dummy, ipvlan or 802.1q support), deletes it on
//! exit (a trap, so also on failure), and shows it as `PARENT`. Where the kernel lacks a link
//! type, both daemons must fail alike. Traffic goes only between the containers it creates.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;

/// Every script starts with this: the parent, its clean-up, and its name normalised.
macro_rules! with_parent {
    ($body:expr) => {
        concat!(
            "P=bv$$; ip link add $P type veth peer name ${P}x && ip link set $P up && ip link set ${P}x up || exit 9\n",
            "trap 'ip link del $P 2>/dev/null; ip link del $P.42 2>/dev/null; ip link del $P.43 2>/dev/null' EXIT\n",
            "{\n",
            $body,
            "\n} 2>&1 | sed \"s/$P/PARENT/g\""
        )
    };
}

/// macvlan networks: create, inspect, list, containers on them.
#[test]
fn compat_vlan_macvlan() {
    Differ::start().check(&[
        Scenario {
            name: "a macvlan network and two containers that reach each other",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 --gateway $SUBA.1 -o parent=$P mv >/dev/null; echo $?\n\
                 docker network ls --filter driver=macvlan --format '{{.Name}} {{.Driver}} {{.Scope}}'\n\
                 docker network inspect -f '{{.Driver}} {{json .Options}} {{json .IPAM.Config}} {{.Internal}}' mv\n\
                 docker run -d --name c1 --network mv --ip $SUBA.10 busybox sleep 60 >/dev/null\n\
                 docker run --rm --network mv busybox sh -c \"ip -o -4 addr show eth0 | awk '{print \\$4}'; ip route; ping -c1 -W2 $SUBA.10 >/dev/null && echo reached\"\n\
                 docker inspect -f '{{.NetworkSettings.Networks.mv.IPAddress}} {{.NetworkSettings.Networks.mv.MacAddress}} {{.NetworkSettings.Networks.mv.Gateway}}' c1\n\
                 docker exec c1 cat /sys/class/net/eth0/address\n\
                 docker rm -f c1 >/dev/null; docker network rm mv"
            ),
            ..S
        },
        Scenario {
            name: "a macvlan network with an IF.VLAN parent makes and removes the sub-interface",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 -o parent=$P.42 mv >/dev/null; echo $?\n\
                 ip -d link show $P.42 | grep -o 'vlan protocol 802.1Q id 42'\n\
                 docker network inspect -f '{{json .Options}}' mv\n\
                 docker network rm mv >/dev/null\n\
                 ip link show $P.42 >/dev/null 2>&1; echo \"after rm: $?\"\n\
                 ip link add link $P name $P.43 type vlan id 43\n\
                 docker network create -d macvlan --subnet $SUBB.0/24 -o parent=$P.43 mv2 >/dev/null; echo $?\n\
                 docker network rm mv2 >/dev/null\n\
                 ip link show $P.43 >/dev/null 2>&1; echo \"a vlan made by the admin stays: $?\""
            ),
            ..S
        },
        Scenario {
            name: "an --internal macvlan network has no default route",
            run: with_parent!(
                "docker network create -d macvlan --internal --subnet $SUBA.0/24 --gateway $SUBA.1 -o parent=$P mi >/dev/null; echo $?\n\
                 docker network inspect -f '{{.Internal}}' mi\n\
                 docker run --rm --network mi busybox ip route\n\
                 docker network rm mi"
            ),
            ..S
        },
        Scenario {
            name: "macvlan with IPv6",
            run: with_parent!(
                "docker network create -d macvlan --ipv6 --subnet $SUBA.0/24 --gateway $SUBA.1 --subnet fd5c:7:1::/64 --gateway fd5c:7:1::1 -o parent=$P m6 >/dev/null; echo $?\n\
                 docker network inspect -f '{{.EnableIPv6}} {{len .IPAM.Config}}' m6\n\
                 docker run --rm --network m6 --ip6 fd5c:7:1::20 busybox sh -c \"ip -6 -o addr show eth0 scope global | awk '{print \\$4}'; ip -6 route | grep default | awk '{print \\$1, \\$2, \\$3}'\"\n\
                 docker network rm m6"
            ),
            ..S
        },
        Scenario {
            name: "macvlan refusals",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 -o parent=nosuchif0 x; echo $?\n\
                 docker network create -d macvlan --subnet $SUBA.0/24 -o parent=nosuchif0.5 x; echo $?\n\
                 docker network create -d macvlan --subnet $SUBA.0/24 -o parent=$P.5000 x; echo $?\n\
                 docker network create -d macvlan --subnet $SUBA.0/24 -o parent=$P -o macvlan_mode=bogus x; echo $?\n\
                 docker network create -d macvlan --subnet $SUBA.0/24 -o parent=lo x; echo $?\n\
                 docker network create -d macvlan --subnet $SUBA.0/24 -o parent=$P m1 >/dev/null; echo $?\n\
                 docker network create -d macvlan --subnet $SUBA.128/25 -o parent=$P m2; echo $?\n\
                 docker network ls --filter driver=macvlan --format '{{.Name}}'\n\
                 docker network rm m1"
            ),
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(
                    "Error response from daemon: invalid subinterface vlan name nosuchif0, example formatting is eth0.10\n1\n\
                     Error response from daemon: -o parent interface was not found on the host: nosuchif0\n1\n\
                     Error response from daemon: vlan id must be between 1-4094, received: 5000\n1\n\
                     Error response from daemon: requested macvlan mode 'bogus' is not valid, 'bridge' mode is the macvlan driver default\n1\n\
                     Error response from daemon: loopback interface is not a valid macvlan parent link\n1\n\
                     0\n\
                     Error response from daemon: invalid pool request: Pool overlaps with other one on this address space\n1\n\
                     m1\nm1",
                ),
                stderr: Some(""),
                why: "20.10's parseVlan says \"-o parent interface does was not found\" (a typo later \
                      moby releases dropped: users of current Docker report \"-o parent interface was \
                      not found on the host\"); moby 25+ IPAM prefixes pool errors with \
                      \"invalid pool request: \" (defaultipam RequestPool)",
            }),
            ..S
        },
        Scenario {
            name: "-p on a macvlan network programs nothing (no host port, no Ports in inspect, port or ps)",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 --gateway $SUBA.1 -o parent=$P mv >/dev/null; echo $?\n\
                 docker run -d --name c1 --network mv -p 127.0.0.1:$PORT:80 --expose 81 busybox sleep 60 >/dev/null; echo $?\n\
                 docker port c1; echo \"port: $?\"\n\
                 docker port c1 80; echo \"port 80: $?\"\n\
                 docker inspect -f '{{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}} {{json .Config.ExposedPorts}}' c1\n\
                 docker ps --format '{{.Names}} [{{.Ports}}]'\n\
                 docker run -d --name c2 -p 127.0.0.1:$PORT:80 busybox sleep 60 >/dev/null; echo \"the same host port on the bridge: $?\"\n\
                 docker port c2\n\
                 docker rm -f c1 c2 >/dev/null; docker network rm mv"
            ),
            ..S
        },
        Scenario {
            name: "two macvlan networks on one parent (moby 28 allows it but for passthru)",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 -o parent=$P m1 >/dev/null; echo $?\n\
                 docker network create -d macvlan --subnet $SUBB.0/24 -o parent=$P m2 >/dev/null; echo $?\n\
                 docker network ls --filter driver=macvlan --format '{{.Name}}' | sort\n\
                 docker network rm m1 m2 >/dev/null 2>&1; true"
            ),
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("0\n0\nm1\nm2"),
                stderr: Some(""),
                why: "moby 23+ lets macvlan networks share a parent (not in passthru mode); \
                      20.10 refused any second network on a parent",
            }),
            ..S
        },
    ]);
}

/// ipvlan networks: create, inspect, modes, the refusals. (Containers on ipvlan networks
/// are covered by the engine's unit test on the fakes: the development kernel has no
/// ipvlan links, so both daemons could only fail their start.)
#[test]
fn compat_vlan_ipvlan() {
    Differ::start().check(&[
        Scenario {
            name: "an ipvlan network as inspect and ls show it",
            run: with_parent!(
                "docker network create -d ipvlan --subnet $SUBA.0/24 --gateway $SUBA.1 -o parent=$P iv >/dev/null; echo $?\n\
                 docker network inspect -f '{{.Driver}} {{json .Options}} {{json .IPAM.Config}} {{.Internal}}' iv\n\
                 docker network create -d ipvlan --subnet $SUBB.0/24 -o parent=$P -o ipvlan_mode=l3 -o ipvlan_flag=private iv3; echo $?\n\
                 docker network ls --filter driver=ipvlan --format '{{.Name}} {{.Driver}}'\n\
                 docker network rm iv"
            ),
            ..S
        },
        Scenario {
            name: "ipvlan refusals",
            run: with_parent!(
                "docker network create -d ipvlan --subnet $SUBA.0/24 -o parent=$P -o ipvlan_mode=l9 x; echo $?\n\
                 docker network create -d ipvlan --subnet $SUBA.0/24 -o parent=$P -o ipvlan_flag=zz x; echo $?\n\
                 docker network create -d ipvlan --subnet $SUBA.0/24 -o parent=lo x; echo $?\n\
                 docker network create -d ipvlan --subnet $SUBA.0/24 -o parent=$P i1 >/dev/null; echo $?\n\
                 docker network create -d ipvlan --subnet $SUBB.0/24 -o parent=$P i2 2>&1 | sed 's/di-[0-9a-f]*/di-ID/'\n\
                 docker network ls --filter driver=ipvlan --format '{{.Name}}'\n\
                 docker network rm i1"
            ),
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some(
                    "Error response from daemon: requested ipvlan mode 'l9' is not valid, 'l2' mode is the ipvlan driver default\n1\n\
                     Error response from daemon: requested ipvlan flag 'zz' is not valid, 'bridge' is the ipvlan driver default\n1\n\
                     Error response from daemon: loopback interface is not a valid ipvlan parent link\n1\n\
                     0\n\
                     Error response from daemon: network di-ID is already using parent interface PARENT\n\
                     i1\ni1",
                ),
                stderr: Some(""),
                why: "moby 20.10.? has no ipvlan_flag option (added with the l3s mode work in moby 23): \
                      20.10 creates the network, moby 28 refuses the unknown flag",
            }),
            ..S
        },
        Scenario {
            name: "an ipvlan network without parent gets a dummy one",
            run: with_parent!(
                "docker network create -d ipvlan --subnet $SUBA.0/24 iv >/dev/null; echo $?\n\
                 id=$(docker network inspect -f '{{.Id}}' iv 2>/dev/null | cut -c1-12)\n\
                 ip -d link show di-$id 2>/dev/null | grep -o dummy\n\
                 docker network inspect -f '{{json .Options}} {{.Internal}}' iv\n\
                 docker network rm iv >/dev/null\n\
                 ip link show di-$id >/dev/null 2>&1 || echo dummy gone"
            ),
            ..S
        },
    ]);
}

/// macvlan and l2 ipvlan networks created without `--gateway`. moby 28 (libnetwork's
/// ipamAllocateVersion, with no GwAllocChecker in these drivers) has the IPAM driver pick a
/// gateway as for a bridge: the first free address of the `--ip-range` (else of the
/// subnet), set as the containers' default route, which containers then never get;
/// network inspect's IPAM.Config still shows only what was given. dockerd 20.10 does the
/// same. (moby 29 stops allocating one, moby/moby#50929: a default route only with
/// `--gateway`.)
#[test]
fn compat_vlan_no_gateway() {
    Differ::start().check(&[
        Scenario {
            name: "a macvlan network without --gateway",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 -o parent=$P mv >/dev/null; echo $?\n\
                 api GET /networks/mv 2>/dev/null | jq -cS .IPAM.Config\n\
                 docker run -d --name c1 --network mv busybox sleep 60 >/dev/null\n\
                 docker inspect -f '{{.NetworkSettings.Networks.mv.IPAddress}} {{.NetworkSettings.Networks.mv.Gateway}}' c1\n\
                 docker exec c1 ip route\n\
                 docker run --rm --network mv --ip $SUBA.1 busybox true; echo $?\n\
                 docker rm -f c1 >/dev/null; docker network rm mv"
            ),
            ..S
        },
        Scenario {
            name: "a macvlan network with --ip-range and without --gateway",
            run: with_parent!(
                "docker network create -d macvlan --subnet $SUBA.0/24 --ip-range $SUBA.64/26 -o parent=$P mv >/dev/null; echo $?\n\
                 api GET /networks/mv 2>/dev/null | jq -cS .IPAM.Config\n\
                 docker run --rm --network mv busybox sh -c \"ip -o -4 addr show eth0 | awk '{print \\$4}'; ip route\"\n\
                 docker network rm mv"
            ),
            ..S
        },
        Scenario {
            name: "an internal macvlan network without --gateway",
            run: with_parent!(
                "docker network create -d macvlan --internal --subnet $SUBA.0/24 -o parent=$P mi >/dev/null; echo $?\n\
                 docker run --rm --network mi busybox sh -c \"ip -o -4 addr show eth0 | awk '{print \\$4}'; ip route\"\n\
                 docker network rm mi"
            ),
            ..S
        },
    ]);
}

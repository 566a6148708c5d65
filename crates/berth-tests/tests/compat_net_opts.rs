//! Network and endpoint driver options, and IPv6 IPAM, as Docker shows and applies them
//! (prefix `compat_netopt_`): differential scenarios against the private dockerd where
//! dockerd 20.10 can answer, and plain checks where it cannot (options it ignores or that
//! berth refuses). Traffic goes only to the containers the tests create and to loopback.

use berth_tests::differential::{Differ, Moby28, Scenario};
use berth_tests::{Client, TestDaemon};

const S: Scenario = Scenario::DEFAULT;

/// IPv6 IPAM as inspect shows it, and a client's IPv6 subnet against the daemon's choice.
#[test]
fn compat_netopt_ipv6_ipam() {
    Differ::start().check(&[
        Scenario {
            name: "the IPv6 gateway is shown only when given",
            run: "docker network create --ipv6 --subnet $SUBA.0/24 --subnet fd5c:7:2::/64 n1 >/dev/null\n\
                  api GET /networks/n1 2>/dev/null | jq -cS '.IPAM.Config'\n\
                  docker network create --ipv6 --subnet $SUBB.0/24 --gateway $SUBB.1 --subnet fd5c:7:3::/64 --gateway fd5c:7:3::9 n2 >/dev/null\n\
                  api GET /networks/n2 2>/dev/null | jq -cS '.IPAM.Config'\n\
                  docker run --rm --network n1 busybox sh -c \"ip -6 route | grep default | awk '{print \\$1, \\$2, \\$3}'\"",
            ..S
        },
        Scenario {
            name: "a client's IPv6 subnet overlapping another network's is refused",
            run: "docker network create --ipv6 --subnet fd5c:7:4::/64 n1 >/dev/null; echo $?\n\
                  docker network create --ipv6 --subnet fd5c:7:4::/56 n2; echo $?\n\
                  docker network create --ipv6 --subnet fd5c:7:4::/64 n3; echo $?",
            moby28: Some(Moby28 {
                code: Some(0),
                stdout: Some("0\n1\n1"),
                stderr: Some("Error response from daemon: invalid pool request: Pool overlaps with other one on this address space\n\
                              Error response from daemon: invalid pool request: Pool overlaps with other one on this address space"),
                why: "moby 25+ prefixes IPAM pool errors with \"invalid pool request: \" (as for IPv4)",
            }),
            ..S
        },
    ]);
}

/// Bridge driver options: applied, or refused with moby's parse errors.
#[test]
fn compat_netopt_bridge_options() {
    Differ::start().check(&[
        Scenario {
            name: "host_binding_ipv4 is the default host address of published ports",
            run: "docker network create -o com.docker.network.bridge.host_binding_ipv4=127.0.0.1 n1 >/dev/null; echo $?\n\
                  docker run -d --name w --network n1 -p $PORT:80 busybox sleep 60 >/dev/null\n\
                  docker port w 80",
            ..S
        },
        Scenario {
            name: "bad bridge options are refused",
            run: "docker network create -o com.docker.network.bridge.host_binding_ipv4=nope n1; echo $?\n\
                  docker network create -o com.docker.network.bridge.enable_ip_masquerade=maybe n2; echo $?\n\
                  docker network create -o com.docker.network.bridge.enable_icc=x n3; echo $?\n\
                  docker network ls -q --filter name=n | wc -l",
            ..S
        },
    ]);
}

/// `enable_icc=false` (a per-bridge inter-container filter berth does not have) is refused,
/// never accepted and ignored; endpoint sysctls (moby 26+, which 20.10 ignores) are applied
/// to the container's interface, and bad ones refused with moby's message.
#[test]
fn compat_netopt_refused_and_endpoint_sysctls() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        d.run(
            c,
            &[
                "network",
                "create",
                "-o",
                "com.docker.network.bridge.enable_icc=false",
                "noicc",
            ],
        )
        .failure()
        .stderr_contains("com.docker.network.bridge.enable_icc=false is not supported");
        d.run(c, &["network", "ls", "--format", "{{.Name}}"])
            .success()
            .stdout_lacks("noicc");
    }
    d.run(Client::Docker, &["network", "create", "n1"])
        .success();
    for c in Client::BOTH {
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "name=n1,driver-opt=com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.log_martians=1",
                "busybox",
                "cat",
                "/proc/sys/net/ipv4/conf/eth0/log_martians",
            ],
        )
        .success()
        .stdout_is("1\n");
        d.run(
            c,
            &[
                "create",
                "--network",
                "name=n1,driver-opt=com.docker.network.endpoint.sysctls=net.ipv4.conf.eth0.forwarding=1",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("unrecognised network interface sysctl 'net.ipv4.conf.eth0.forwarding=1'");
    }
}

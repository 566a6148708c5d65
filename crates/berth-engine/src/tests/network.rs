//! Networks of a container: attach at start (with its published ports and resolver),
//! detach at exit, rollback when the data plane fails half-way, `network connect` and
//! `disconnect` of a running container, and the published-port plans.

use super::TestEngine;
use crate::container::netconnect::ConnectRequest;
use crate::fakes::PlaneStep;
use crate::model::Status;
use crate::network::api::CreateRequest;
use crate::network::ports::{self, PortConfig, PortRequest};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};

async fn user_network(t: &TestEngine, name: &str, subnet: &str) -> String {
    t.engine
        .network_create(CreateRequest {
            name: name.into(),
            subnet: Some(subnet.into()),
            ..Default::default()
        })
        .await
        .expect("network create")
        .id
}

/// Every loopback socket the fake bound for a reservation is closed again.
fn reservations_released(t: &TestEngine) {
    for port in t.plane.bound.lock().unwrap().iter() {
        assert!(
            TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).is_ok()
                || std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, *port)).is_ok(),
            "port reservation {port} still held"
        );
    }
}

fn published(port: &str) -> Value {
    json!({"80/tcp": [{"HostIp": "", "HostPort": port}]})
}

#[tokio::test]
async fn a_user_network_gets_its_ports_and_resolver_and_gives_them_back() {
    let t = TestEngine::new().await;
    let net = user_network(&t, "n1", "10.251.0.0/24").await;
    let id = t
        .run(
            Some("web"),
            json!({"HostConfig": {"NetworkMode": "n1", "PortBindings": published("8080")},
                   "ExposedPorts": {"80/tcp": {}}}),
        )
        .await;
    let r = t.record(&id).await;
    let ep = &r.endpoints["n1"];
    assert_eq!(
        (ep.ip.as_str(), ep.network_id.as_str()),
        ("10.251.0.2", net.as_str())
    );
    let hosts: Vec<(String, u16)> = ep
        .ports
        .iter()
        .map(|p| (p.host_ip.clone(), p.host_port))
        .collect();
    assert_eq!(
        hosts,
        [("0.0.0.0".to_string(), 8080), ("::".to_string(), 8080)]
    );
    // The DNAT rule targets the container (v4 only: `::` is the userland proxy's).
    let rules = t.plane.port_rules.lock().unwrap().clone();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        (rules[0].host_port, rules[0].dest_ip),
        (8080, Ipv4Addr::new(10, 251, 0, 2))
    );
    assert!(t.engine.networks.serving_resolver(&id));
    let resolv = std::fs::read_to_string(t.dir(&id).join("resolv.conf")).expect("resolv");
    assert!(resolv.contains("nameserver 127.0.0.11\n"), "{resolv}");
    assert_eq!(t.engine.networks.users(&net), vec![id.clone()]);

    t.engine.stop(&id, None, None).await.expect("stop");
    t.until_status(&id, Status::Exited).await;
    t.nothing_left(&id);
    assert!(t.engine.networks.users(&net).is_empty());
    assert!(t.plane.port_rules.lock().unwrap().is_empty());
    reservations_released(&t);
    // What was asked for stays for the next start.
    assert!(t.record(&id).await.endpoints.contains_key("n1"));
}

/// Each step of the attach failing in turn: every one leaves no lease, namespace, link,
/// port or resolver behind, and the next start works.
#[tokio::test]
async fn a_data_plane_failing_half_way_leaves_nothing() {
    let t = TestEngine::new().await;
    let net = user_network(&t, "n1", "10.251.0.0/24").await;
    user_network(&t, "n2", "10.252.0.0/24").await;
    let id = t
        .create(
            None,
            json!({"HostConfig": {"NetworkMode": "n1", "PortBindings": published("8080")},
                   "NetworkingConfig": {"EndpointsConfig": {"n1": {}, "n2": {}}}}),
        )
        .await
        .expect("create");
    let before = t.record(&id).await.endpoints;
    for step in [
        PlaneStep::CreateNetns,
        PlaneStep::Rules,
        PlaneStep::Resolver,
        PlaneStep::AddEndpoint,
    ] {
        *t.plane.fail.lock().unwrap() = Some(step);
        let e = t.engine.start(&id).await.expect_err("injected");
        assert!(e.to_string().contains("injected failure"), "{step:?}: {e}");
        t.nothing_left(&id);
        assert!(
            t.engine.networks.users(&net).is_empty(),
            "{step:?}: lease left"
        );
        assert!(
            t.plane.port_rules.lock().unwrap().is_empty(),
            "{step:?}: rules left"
        );
        reservations_released(&t);
        assert_eq!(t.record(&id).await.endpoints, before, "{step:?}");
        assert!(t.runtime.calls_like("spawn").is_empty());
    }
    // A published port taken elsewhere: the ones bound before it are given back.
    *t.plane.busy_port.lock().unwrap() = Some(8080);
    let e = t
        .engine
        .start(&id)
        .await
        .expect_err("port taken")
        .to_string();
    // moby 28's words: the start's and the endpoint join's wrapping around the driver's.
    assert!(
        e.starts_with(
            "failed to set up container networking: driver failed programming external connectivity on endpoint "
        ) && e.ends_with(
            "): failed to bind host port for 0.0.0.0:8080:10.251.0.2:80/tcp: address already in use"
        ),
        "{e}"
    );
    t.nothing_left(&id);
    *t.plane.busy_port.lock().unwrap() = None;
    t.engine.start(&id).await.expect("start");
    let r = t.record(&id).await;
    assert_eq!(r.endpoints["n1"].ip, "10.251.0.2");
    assert_eq!(r.endpoints["n2"].ifname, "eth1");
}

#[tokio::test]
async fn connect_and_disconnect_a_running_container() {
    let t = TestEngine::new().await;
    let net = user_network(&t, "n1", "10.251.0.0/24").await;
    let id = t.run(None, json!({})).await;
    let dir = t.dir(&id);
    let host = &id[..12];
    t.engine
        .network_connect("n1", &id, ConnectRequest::default())
        .await
        .expect("connect");
    let ep = t.record(&id).await.endpoints["n1"].clone();
    assert_eq!((ep.ip.as_str(), ep.ifname.as_str()), ("10.251.0.2", "eth1"));
    let hosts = std::fs::read_to_string(dir.join("hosts")).expect("hosts");
    assert!(
        hosts.ends_with(&format!("10.250.0.2\t{host}\n10.251.0.2\t{host}\n")),
        "{hosts}"
    );
    // Joining a user network brings the embedded resolver into resolv.conf.
    let resolv = std::fs::read_to_string(dir.join("resolv.conf")).expect("resolv");
    assert!(resolv.contains("nameserver 127.0.0.11"), "{resolv}");

    t.engine
        .network_disconnect("n1", &id, false)
        .await
        .expect("disconnect");
    let hosts = std::fs::read_to_string(dir.join("hosts")).expect("hosts");
    assert!(!hosts.contains("10.251.0.2"), "{hosts}");
    assert!(t.engine.networks.users(&net).is_empty());
    assert!(!t.plane.links.lock().unwrap().contains(&ep.host_veth));
    assert!(!t.record(&id).await.endpoints.contains_key("n1"));
    // A connect that fails half-way leaves nothing either.
    *t.plane.fail.lock().unwrap() = Some(PlaneStep::AddEndpoint);
    t.engine
        .network_connect("n1", &id, ConnectRequest::default())
        .await
        .expect_err("injected");
    assert!(t.engine.networks.users(&net).is_empty());
    assert!(!t.record(&id).await.endpoints.contains_key("n1"));
    assert_eq!(
        std::fs::read_to_string(dir.join("hosts")).expect("hosts"),
        hosts
    );
}

#[tokio::test]
async fn endpoint_requests_are_applied_kept_and_checked() {
    let t = TestEngine::new().await;
    let net = user_network(&t, "n1", "10.251.0.0/24").await;
    let ask = json!({"MacAddress": "92:D0:C6:0A:29:33", "DriverOpts": {"k": "v"},
                     "Links": ["db:alias"],
                     "IPAMConfig": {"LinkLocalIPs": ["169.254.7.7", "fe80::7"]}});
    let id = t
        .run(
            None,
            json!({"HostConfig": {"NetworkMode": "n1"},
                   "NetworkingConfig": {"EndpointsConfig": {"n1": ask}}}),
        )
        .await;
    let made = t.plane.last_endpoint().expect("endpoint");
    assert_eq!(made.mac, [0x92, 0xd0, 0xc6, 0x0a, 0x29, 0x33]);
    let ll: Vec<String> = made
        .link_local
        .iter()
        .map(|(ip, p)| format!("{ip}/{p}"))
        .collect();
    assert_eq!(ll, ["169.254.7.7/16", "fe80::7/64"]);
    let shown = crate::network::api::container_endpoint(
        &t.record(&id).await,
        &t.record(&id).await.endpoints["n1"],
    );
    assert_eq!(shown.mac_address, "92:d0:c6:0a:29:33");
    assert_eq!(shown.links, Some(vec!["db:alias".to_string()]));
    assert_eq!(
        shown
            .driver_opts
            .as_ref()
            .and_then(|o| o.get("k"))
            .map(String::as_str),
        Some("v")
    );
    assert_eq!(
        shown.ipam_config.and_then(|c| c.link_local_ips),
        Some(vec!["169.254.7.7".to_string(), "fe80::7".to_string()])
    );
    // What was asked for outlives the run.
    t.engine.kill(&id, None).await.expect("kill");
    let r = t.until_status(&id, Status::Exited).await;
    let ep = &r.endpoints["n1"];
    assert_eq!(ep.mac_request.as_deref(), Some("92:d0:c6:0a:29:33"));
    assert_eq!(ep.link_local_ips.len(), 2);
    assert_eq!(ep.driver_opts.len(), 1);
    // An address that is not link-local fails the start and leaves no lease behind.
    let bad = t
        .create(
            None,
            json!({"HostConfig": {"NetworkMode": "n1"},
                   "NetworkingConfig": {"EndpointsConfig": {"n1":
                       {"IPAMConfig": {"LinkLocalIPs": ["10.1.1.1"]}}}}}),
        )
        .await
        .expect("create");
    let e = t.engine.start(&bad).await.expect_err("not link-local");
    assert_eq!(e.to_string(), "invalid link local IP address: 10.1.1.1");
    assert!(t.engine.networks.users(&net).is_empty());
    // A bad MAC is refused at create.
    let e = t
        .create(
            None,
            json!({"HostConfig": {"NetworkMode": "n1"}, "MacAddress": "zz"}),
        )
        .await
        .expect_err("bad mac");
    assert_eq!(e.to_string(), "invalid MAC address: zz");
}

#[test]
fn published_port_plans() {
    let cfg = PortConfig::default();
    let bindings: berth_api::models::PortMap = serde_json::from_value(json!({
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
    }))
    .expect("bindings");
    let exposed: berth_api::models::PortSet =
        serde_json::from_value(json!({"80/tcp": {}, "443/tcp": {}})).expect("exposed");
    let req = PortRequest {
        bindings: &bindings,
        publish_all: true,
        exposed: Some(&exposed),
    };
    let plan = ports::plan(&req, &cfg).expect("plan");
    let shown: Vec<(String, u16, IpAddr, u16, bool)> = plan
        .iter()
        .map(|w| {
            (
                w.proto.clone(),
                w.container_port,
                w.host_ip,
                w.host_port,
                w.twin,
            )
        })
        .collect();
    let any4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let any6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    assert_eq!(
        shown,
        [
            ("udp".to_string(), 53, any4, 0, false),
            ("udp".to_string(), 53, any6, 0, true),
            (
                "tcp".to_string(),
                80,
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                8080,
                false
            ),
            // -P: the exposed port without a binding, on an ephemeral port.
            ("tcp".to_string(), 443, any4, 0, false),
            ("tcp".to_string(), 443, any6, 0, true),
        ]
    );
    let bad: berth_api::models::PortMap =
        serde_json::from_value(json!({"80/sctp": []})).expect("bindings");
    let e = ports::plan(
        &PortRequest {
            bindings: &bad,
            publish_all: false,
            exposed: None,
        },
        &cfg,
    )
    .expect_err("sctp");
    assert_eq!(e.to_string(), "invalid proto: sctp");
    let bad: berth_api::models::PortMap =
        serde_json::from_value(json!({"80/tcp": [{"HostPort": "http"}]})).expect("bindings");
    let e = ports::plan(
        &PortRequest {
            bindings: &bad,
            publish_all: false,
            exposed: None,
        },
        &cfg,
    )
    .expect_err("port");
    assert_eq!(e.to_string(), "invalid port specification: \"http\"");
}

fn vlan_request(name: &str, driver: &str, subnet: &str, opts: &[(&str, &str)]) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        driver: driver.into(),
        subnet: Some(subnet.into()),
        gateway: Some(subnet.replace(".0/24", ".1")),
        options: opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn macvlan_and_ipvlan_networks_make_parents_links_and_give_them_back() {
    use berth_net::netns::{IpvlanFlag, IpvlanMode, LinkKind, MacvlanMode};
    let t = TestEngine::new().await;
    // The admin's interface.
    t.plane.links.lock().unwrap().insert("eth9".into());
    // An IF.VLAN parent is made (and owned by the network); no bridge, no rules.
    let mv = t
        .engine
        .network_create(vlan_request(
            "mv",
            "macvlan",
            "10.252.0.0/24",
            &[("parent", "eth9.42"), ("macvlan_mode", "private")],
        ))
        .await
        .expect("macvlan");
    assert!(mv.bridge.is_empty() && mv.parent == "eth9.42" && mv.parent_created);
    assert!(t.plane.links.lock().unwrap().contains("eth9.42"));
    assert!(t
        .plane
        .bridges
        .lock()
        .unwrap()
        .iter()
        .all(|b| !b.is_empty()));
    // A container gets a macvlan link of the parent with Docker's MAC and the gateway.
    let id = t
        .run(None, json!({"HostConfig": {"NetworkMode": "mv"}}))
        .await;
    let made = t.plane.last_endpoint().expect("ep");
    assert_eq!(made.link, LinkKind::Macvlan(MacvlanMode::Private));
    assert_eq!(
        (made.bridge.as_str(), made.host_veth.as_str()),
        ("eth9.42", "")
    );
    assert_eq!(made.ip, Ipv4Addr::new(10, 252, 0, 2));
    assert_eq!(made.gateway, Some(Ipv4Addr::new(10, 252, 0, 1)));
    assert_eq!(made.mac, [0x02, 0x42, 10, 252, 0, 2]);
    // Removing the network with a user is refused; after the container, the parent goes.
    assert!(t.engine.network_remove("mv").await.is_err());
    t.engine.kill(&id, None).await.expect("kill");
    t.until_status(&id, Status::Exited).await;
    t.engine.remove(&id, true).await.expect("rm");
    t.engine.network_remove("mv").await.expect("rm net");
    assert!(!t.plane.links.lock().unwrap().contains("eth9.42"));

    // ipvlan: the admin's parent stays; a second ipvlan network on it is refused; a
    // custom MAC is refused at start, and leaves no lease behind.
    let iv = t
        .engine
        .network_create(vlan_request(
            "iv",
            "ipvlan",
            "10.253.0.0/24",
            &[
                ("parent", "eth9"),
                ("ipvlan_mode", "l3"),
                ("ipvlan_flag", "private"),
            ],
        ))
        .await
        .expect("ipvlan");
    assert!(!iv.parent_created);
    let e = t
        .engine
        .network_create(vlan_request(
            "iv2",
            "ipvlan",
            "10.254.0.0/24",
            &[("parent", "eth9")],
        ))
        .await
        .expect_err("shared ipvlan parent");
    assert_eq!(
        e.to_string(),
        format!(
            "network di-{} is already using parent interface eth9",
            &iv.id[..12]
        )
    );
    let id = t
        .run(None, json!({"HostConfig": {"NetworkMode": "iv"}}))
        .await;
    let made = t.plane.last_endpoint().expect("ep");
    assert_eq!(
        made.link,
        LinkKind::Ipvlan(IpvlanMode::L3, IpvlanFlag::Private)
    );
    let shown = crate::network::api::container_endpoint(
        &t.record(&id).await,
        &t.record(&id).await.endpoints["iv"],
    );
    assert_eq!(shown.mac_address, "", "an ipvlan link has its parent's MAC");
    t.engine.kill(&id, None).await.expect("kill");
    t.until_status(&id, Status::Exited).await;
    let bad = t
        .create(
            None,
            json!({"HostConfig": {"NetworkMode": "iv"}, "MacAddress": "92:d0:c6:0a:29:33"}),
        )
        .await
        .expect("create");
    let e = t.engine.start(&bad).await.expect_err("custom mac");
    assert_eq!(
        e.to_string(),
        "ipvlan interfaces do not support custom mac address assignment"
    );
    assert!(t.engine.networks.users(&iv.id).is_empty());
    t.engine.remove(&id, true).await.expect("rm");
    t.engine.remove(&bad, true).await.expect("rm");
    t.engine.network_remove("iv").await.expect("rm net");
    assert!(
        t.plane.links.lock().unwrap().contains("eth9"),
        "the admin's parent stays"
    );

    // No parent: the network's own dummy link, and no default route (moby: internal).
    let nd = t
        .engine
        .network_create(vlan_request("nd", "macvlan", "10.252.0.0/24", &[]))
        .await
        .expect("dummy parent");
    assert_eq!(nd.parent, format!("dm-{}", &nd.id[..12]));
    assert!(nd.parent_created);
    let id = t
        .run(None, json!({"HostConfig": {"NetworkMode": "nd"}}))
        .await;
    let made = t.plane.last_endpoint().expect("ep");
    assert_eq!(made.gateway, None);
    t.engine.kill(&id, None).await.expect("kill");
    t.until_status(&id, Status::Exited).await;
    t.engine.remove(&id, true).await.expect("rm");
    t.engine.network_remove("nd").await.expect("rm net");
    assert!(!t.plane.links.lock().unwrap().contains(&nd.parent));

    // Bad options: moby's words, nothing made.
    let e = t
        .engine
        .network_create(vlan_request(
            "x",
            "macvlan",
            "10.252.0.0/24",
            &[("parent", "eth7.5")],
        ))
        .await
        .expect_err("missing base");
    assert_eq!(
        e.to_string(),
        "-o parent interface was not found on the host: eth7"
    );
    let e = t
        .engine
        .network_create(vlan_request(
            "x",
            "macvlan",
            "10.252.0.0/24",
            &[("parent", "nosuch")],
        ))
        .await
        .expect_err("missing parent");
    assert_eq!(
        e.to_string(),
        "invalid subinterface vlan name nosuch, example formatting is eth0.10"
    );
    assert!(t.engine.networks.find("x").is_err());
}

/// `-p` on a macvlan/ipvlan network: as moby (whose drivers ignore port mappings), no host
/// port is reserved and no rule written, at start nor when a running container's record is
/// taken again at daemon start; inspect and ps show no ports, not even the exposed ones.
#[tokio::test]
async fn published_ports_on_vlan_networks_program_nothing() {
    let t = TestEngine::new().await;
    t.plane.links.lock().unwrap().insert("eth9".into());
    t.engine
        .network_create(vlan_request(
            "iv",
            "ipvlan",
            "10.253.0.0/24",
            &[("parent", "eth9")],
        ))
        .await
        .expect("ipvlan");
    let id = t
        .run(
            None,
            json!({
                "ExposedPorts": {"80/tcp": {}, "81/tcp": {}},
                "HostConfig": {
                    "NetworkMode": "iv",
                    "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]},
                    "PublishAllPorts": true
                }
            }),
        )
        .await;
    let reserved = |t: &TestEngine| {
        t.plane
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with("reserve"))
            .count()
    };
    assert_eq!(reserved(&t), 0, "no host port taken");
    assert!(t.plane.port_rules.lock().unwrap().is_empty());
    let mut rec = t.record(&id).await;
    assert!(rec.endpoints["iv"].ports.is_empty());
    assert!(rec.endpoints["iv"].no_port_mapping);
    let shown = crate::container::inspect::inspect(&rec, &t.dir(&id), None);
    assert!(
        shown.network_settings.ports.is_empty(),
        "inspect: {:?}",
        shown.network_settings.ports
    );
    assert!(crate::container::inspect::summary(&rec, "busybox", None)
        .ports
        .is_empty());
    // A record written before (ports held on the ipvlan endpoint): nothing bound again.
    rec.endpoints.get_mut("iv").expect("ep").ports = vec![crate::model::PortMapping {
        proto: "tcp".into(),
        container_port: 80,
        host_ip: "127.0.0.1".into(),
        host_port: 18080,
    }];
    t.engine.networks.restore(
        &crate::network::attach::Attachment::of(&rec),
        &rec.endpoints,
        &t.dir(&id),
    );
    assert_eq!(reserved(&t), 0, "nothing bound again at restore");
    // The same request on the default bridge takes its port.
    let b = t
        .run(
            None,
            json!({"HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}}}),
        )
        .await;
    assert_eq!(reserved(&t), 1);
    for c in [&id, &b] {
        t.engine.kill(c, None).await.expect("kill");
        t.until_status(c, Status::Exited).await;
        t.engine.remove(c, true).await.expect("rm");
    }
}

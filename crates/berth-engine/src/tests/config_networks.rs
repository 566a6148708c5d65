//! Configuration-only networks (`network create --config-only`) and the networks made
//! `--config-from` them, as moby's libnetwork has them: the configuration network holds
//! no bridge and no pool (its subnet stays free for the network made from it), nothing
//! attaches to it, it cannot go while a network uses it, prune keeps it, and it comes
//! back at daemon start. Also the IPv6 default route via `DefaultGatewayIPv6`.

use super::TestEngine;
use crate::container::netconnect::ConnectRequest;
use crate::error::EngineError;
use crate::model::Status;
use crate::network::api::CreateRequest;
use crate::network::ipv6::Request6;
use serde_json::json;
use std::collections::BTreeMap;

fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn config_only() -> CreateRequest {
    CreateRequest {
        name: "cfg".into(),
        driver: "bridge".into(),
        subnet: Some("10.251.0.0/24".into()),
        gateway: Some("10.251.0.254".into()),
        ip_range: Some("10.251.0.128/25".into()),
        aux: map(&[("a", "10.251.0.130")]),
        enable_ipv6: true,
        v6: Request6 {
            subnet: Some("fd16:77::/64".into()),
            ..Default::default()
        },
        labels: map(&[("l", "v")]),
        options: map(&[("com.docker.network.bridge.enable_icc", "true")]),
        config_only: true,
        ..Default::default()
    }
}

fn from(name: &str, cfg: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        config_from: Some(cfg.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_config_only_network_holds_configuration_for_its_users() {
    let t = TestEngine::new().await;
    let bridges_before = t.plane.bridges.lock().unwrap().clone();
    let cfg = t
        .engine
        .network_create(config_only())
        .await
        .expect("config-only");
    assert_eq!((cfg.driver.as_str(), cfg.bridge.as_str()), ("null", ""));
    assert_eq!(*t.plane.bridges.lock().unwrap(), bridges_before);
    let v = serde_json::to_value(t.engine.network_inspect("cfg").await.expect("inspect")).unwrap();
    assert_eq!(v["ConfigOnly"], json!(true));
    assert_eq!(v["Driver"], json!("null"));
    assert_eq!(
        v["IPAM"]["Config"],
        json!([
            {"Subnet": "10.251.0.0/24", "IPRange": "10.251.0.128/25", "Gateway": "10.251.0.254",
             "AuxiliaryAddresses": {"a": "10.251.0.130"}},
            {"Subnet": "fd16:77::/64"}
        ])
    );
    // Nothing given: no IPAM entry at all (dockerd's `"Config": []`).
    let mut empty = from("cfg2", "");
    empty.config_from = None;
    empty.config_only = true;
    t.engine.network_create(empty).await.expect("cfg2");
    let v = serde_json::to_value(t.engine.network_inspect("cfg2").await.unwrap()).unwrap();
    assert_eq!(v["IPAM"]["Config"], json!([]));

    // The network made from it takes its subnet (not held by cfg), options and labels.
    let n1 = t
        .engine
        .network_create(from("n1", "cfg"))
        .await
        .expect("config-from");
    assert_eq!(
        (n1.subnet.as_str(), n1.gateway.as_str(), n1.driver.as_str()),
        ("10.251.0.0/24", "10.251.0.254", "bridge")
    );
    assert_eq!(n1.subnet6.as_deref(), Some("fd16:77::/64"));
    assert!(n1.enable_ipv6 && n1.has_bridge());
    let v = serde_json::to_value(t.engine.network_inspect("n1").await.unwrap()).unwrap();
    assert_eq!(v["ConfigFrom"], json!({"Network": "cfg"}));
    assert_eq!(v["ConfigOnly"], json!(false));
    assert_eq!(v["Labels"], json!({"l": "v"}));
    assert_eq!(
        v["Options"],
        json!({"com.docker.network.bridge.enable_icc": "true"})
    );
    // A second network from it overlaps the first, as on dockerd.
    let e = t
        .engine
        .network_create(from("n2", "cfg"))
        .await
        .expect_err("overlap");
    assert!(e.to_string().contains("Pool overlaps"), "{e}");
    // Only a configuration network can be the source.
    let e = t
        .engine
        .network_create(from("n3", "n1"))
        .await
        .expect_err("not a config network");
    assert!(matches!(e, EngineError::NotFound(_)), "{e:?}");
    assert_eq!(e.to_string(), "configuration network \"n1\" does not exist");

    // A container on n1 gets an address of the configuration's range.
    let id = t
        .run(None, json!({"HostConfig": {"NetworkMode": "n1"}}))
        .await;
    assert_eq!(t.record(&id).await.endpoints["n1"].ip, "10.251.0.128");

    // cfg stays while n1 uses it; prune keeps it (and n1, in use by the container).
    let e = t.engine.network_remove("cfg").await.expect_err("in use");
    assert!(matches!(e, EngineError::Forbidden(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "error while removing network: configuration network \"cfg\" is in use"
    );
    t.engine.stop(&id, None, None).await.expect("stop");
    t.until_status(&id, Status::Exited).await;
    t.engine.remove(&id, false).await.expect("rm");
    let pruned = t.engine.network_prune(&Default::default()).await.unwrap();
    assert_eq!(pruned, ["n1"]);
    t.engine.network_remove("cfg").await.expect("rm cfg");
    assert!(t.engine.network_inspect("cfg").await.is_err());
}

#[tokio::test]
async fn nothing_attaches_to_a_config_only_network() {
    let t = TestEngine::new().await;
    t.engine.network_create(config_only()).await.expect("cfg");
    // run: accepted at create, refused at start, nothing left.
    let id = t
        .create(None, json!({"HostConfig": {"NetworkMode": "cfg"}}))
        .await
        .expect("create");
    let e = t.engine.start(&id).await.expect_err("config-only");
    assert!(matches!(e, EngineError::Forbidden(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "cannot create endpoint on configuration-only network"
    );
    t.nothing_left(&id);
    // connect: a stopped container keeps the request (its start fails), a running one
    // is refused at once.
    let other = t.run(None, json!({})).await;
    let e = t
        .engine
        .network_connect("cfg", &other, ConnectRequest::default())
        .await
        .expect_err("config-only");
    assert_eq!(
        e.to_string(),
        "cannot create endpoint on configuration-only network"
    );
    assert!(!t.record(&other).await.endpoints.contains_key("cfg"));
    let stopped = t.create(None, json!({})).await.expect("create");
    t.engine
        .network_connect("cfg", &stopped, ConnectRequest::default())
        .await
        .expect("connect of a stopped container is recorded");
    assert!(t.engine.start(&stopped).await.is_err());
}

/// A daemon restart (each daemon a runtime of its own, as `restore`'s tests).
#[test]
fn config_networks_come_back_at_daemon_start() {
    let first = super::runtime();
    let t = first.block_on(async {
        let t = TestEngine::new().await;
        t.engine.network_create(config_only()).await.expect("cfg");
        t.engine
            .network_create(from("n1", "cfg"))
            .await
            .expect("n1");
        t
    });
    drop(first);
    let (root, rt, plane, mounter) = (t.root, t.runtime, t.plane, t.mounter);
    super::runtime().block_on(async {
        let t = TestEngine::open(root, rt, plane, mounter).await;
        let cfg = t.engine.networks.find("cfg").expect("cfg back");
        assert!(cfg.config_only);
        assert_eq!(t.engine.networks.find("n1").unwrap().config_from, "cfg");
        // cfg is still in use, and its subnet is n1's alone.
        assert!(t.engine.network_remove("cfg").await.is_err());
        let id = t
            .run(None, json!({"HostConfig": {"NetworkMode": "n1"}}))
            .await;
        assert_eq!(t.record(&id).await.endpoints["n1"].ip, "10.251.0.128");
    });
}

/// `DefaultGatewayIPv6`: the containers' IPv6 default route and inspect's IPv6Gateway
/// (moby's bridge driver, as for `DefaultGatewayIPv4`); the bridge keeps its own address.
#[tokio::test]
async fn default_gateway_ipv6_is_the_containers_route() {
    let t = TestEngine::new().await;
    let net = t
        .engine
        .network_create(CreateRequest {
            name: "n6".into(),
            subnet: Some("10.251.0.0/24".into()),
            enable_ipv6: true,
            v6: Request6 {
                subnet: Some("fd16:78::/64".into()),
                ..Default::default()
            },
            aux6: map(&[("DefaultGatewayIPv6", "fd16:78::fe")]),
            ..Default::default()
        })
        .await
        .expect("n6");
    assert_eq!(net.gateway6.as_deref(), Some("fd16:78::1"));
    let id = t
        .run(None, json!({"HostConfig": {"NetworkMode": "n6"}}))
        .await;
    let ep = t.record(&id).await.endpoints["n6"].clone();
    assert_eq!(ep.gateway6, "fd16:78::fe");
    // Never handed out: the first container address is ::2.
    assert_eq!(ep.ip6, "fd16:78::2");
    let made = t.plane.last_endpoint().expect("endpoint");
    assert_eq!(made.gateway6, Some("fd16:78::fe".parse().unwrap()));
    let rec = t.record(&id).await;
    let v =
        serde_json::to_value(crate::container::inspect::inspect(&rec, &t.dir(&id), None)).unwrap();
    assert_eq!(
        v["NetworkSettings"]["Networks"]["n6"]["IPv6Gateway"],
        json!("fd16:78::fe")
    );
}

//! `network connect` and `network disconnect`.

use berth_api::models::{
    EndpointConfig, EndpointIpamConfig, NetworkConnectBody, NetworkDisconnectBody,
};
use clap::{CommandFactory, Parser};

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{q, Body};
use crate::{CmdResult, Ctx, Failure};

/// docker's cobra.ExactArgs(2) message for these two commands.
fn two_args(inv: &Invocation, args: &[String]) -> Result<(), Failure> {
    if args.len() == 2 {
        return Ok(());
    }
    Err(Failure::new(
        format!(
            "berth: 'berth {}' requires 2 arguments\n\n{}\n\nRun 'berth {} --help' for more information",
            inv.path,
            inv.usage_line(),
            inv.path
        ),
        1,
    ))
}

#[derive(Parser)]
struct ConnectCmd {
    #[arg(
        long,
        help = "Add network-scoped alias for the container",
        value_name = "strings"
    )]
    alias: Vec<String>,
    #[arg(
        long,
        help = "IPv4 address (e.g., \"172.30.100.104\")",
        value_name = "string"
    )]
    ip: Option<String>,
    #[arg(
        long,
        help = "IPv6 address (e.g., \"2001:db8::33\")",
        value_name = "string"
    )]
    ip6: Option<String>,
    #[arg(long, help = "Add link to another container", value_name = "list")]
    link: Vec<String>,
    #[arg(
        long = "link-local-ip",
        help = "Add a link-local address for the container",
        value_name = "strings"
    )]
    link_local_ip: Vec<String>,
    #[arg(
        long = "driver-opt",
        help = "driver options for the network",
        value_name = "strings"
    )]
    driver_opt: Vec<String>,
    #[arg(
        long = "gw-priority",
        default_value_t = 0,
        help = "Highest gw-priority provides the default gateway. Accepts positive and negative values.",
        value_name = "int"
    )]
    gw_priority: i64,
    args: Vec<String>,
}

/// `network connect`'s body: the endpoint configuration the flags set (`IPAMConfig` null
/// without `--ip`, `--ip6` or `--link-local-ip`).
fn connect_body(o: &ConnectCmd) -> NetworkConnectBody<EndpointConfig> {
    let ipam = EndpointIpamConfig {
        ipv4_address: o.ip.clone().filter(|s| !s.is_empty()),
        ipv6_address: o.ip6.clone().filter(|s| !s.is_empty()),
        link_local_ips: (!o.link_local_ip.is_empty()).then(|| o.link_local_ip.clone()),
        ..Default::default()
    };
    let driver_opts = o
        .driver_opt
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    NetworkConnectBody {
        container: o.args[1].clone(),
        endpoint_config: Some(EndpointConfig {
            ipam_config: (ipam != EndpointIpamConfig::default()).then_some(ipam),
            links: o.link.clone(),
            aliases: o.alias.clone(),
            driver_opts,
            gw_priority: o.gw_priority,
        }),
        ..Default::default()
    }
}

fn disconnect_body(o: &DisconnectCmd) -> NetworkDisconnectBody {
    NetworkDisconnectBody {
        container: o.args[1].clone(),
        force: o.force,
        ..Default::default()
    }
}

pub fn cmd_connect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ConnectCmd = parse(inv, args)?;
    two_args(inv, &o.args)?;
    let body = Body::typed(&connect_body(&o))?;
    ctx.client()?.call(
        "POST",
        &format!("/networks/{}/connect", q(&o.args[0])),
        body,
    )?;
    Ok(0)
}

#[derive(Parser)]
struct DisconnectCmd {
    #[arg(
        short = 'f',
        long,
        help = "Force the container to disconnect from a network"
    )]
    force: bool,
    args: Vec<String>,
}

pub fn cmd_disconnect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DisconnectCmd = parse(inv, args)?;
    two_args(inv, &o.args)?;
    let body = Body::typed(&disconnect_body(&o))?;
    ctx.client()?.call(
        "POST",
        &format!("/networks/{}/disconnect", q(&o.args[0])),
        body,
    )?;
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "network connect",
        "[OPTIONS] NETWORK CONTAINER",
        "Connect a container to a network",
        ConnectCmd::command,
        cmd_connect,
    ),
    Command::new(
        "network disconnect",
        "[OPTIONS] NETWORK CONTAINER",
        "Disconnect a container from a network",
        DisconnectCmd::command,
        cmd_disconnect,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The body as `network connect` built it before the typed model (json!).
    fn before(o: &ConnectCmd) -> serde_json::Value {
        let mut ipam = serde_json::Map::new();
        if let Some(ip) = o.ip.as_ref().filter(|s| !s.is_empty()) {
            ipam.insert("IPv4Address".into(), json!(ip));
        }
        if let Some(ip) = o.ip6.as_ref().filter(|s| !s.is_empty()) {
            ipam.insert("IPv6Address".into(), json!(ip));
        }
        if !o.link_local_ip.is_empty() {
            ipam.insert("LinkLocalIPs".into(), json!(o.link_local_ip));
        }
        let driver_opts: serde_json::Map<String, serde_json::Value> = o
            .driver_opt
            .iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                (k.to_string(), json!(v))
            })
            .collect();
        json!({
            "Container": o.args[1],
            "EndpointConfig": {
                "IPAMConfig": if ipam.is_empty() { serde_json::Value::Null } else { json!(ipam) },
                "Links": o.link,
                "Aliases": o.alias,
                "DriverOpts": driver_opts,
                "GwPriority": o.gw_priority,
            },
        })
    }

    #[test]
    fn typed_connect_bodies_send_the_same_bytes() {
        let lines: &[&[&str]] = &[
            &["n", "c"],
            &["--ip", "", "n", "c"],
            &[
                "--alias",
                "a",
                "--alias",
                "b",
                "--ip",
                "10.1.0.5",
                "--ip6",
                "fd00::5",
                "--link-local-ip",
                "169.254.1.1",
                "--link",
                "x:y",
                "--driver-opt",
                "a=1",
                "--driver-opt",
                "b",
                "--gw-priority=-3",
                "n",
                "c",
            ],
            &["--ip6", "fd00::5", "n", "c"],
        ];
        for args in lines {
            let o =
                ConnectCmd::try_parse_from(std::iter::once("connect").chain(args.iter().copied()))
                    .unwrap();
            let typed = serde_json::to_value(connect_body(&o)).unwrap();
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&before(&o)).unwrap(),
                "{args:?}"
            );
            // The daemon reads it as the whole EndpointSettings.
            let back: NetworkConnectBody = serde_json::from_value(typed).unwrap();
            let ep = back.endpoint_config.unwrap();
            assert_eq!(ep.aliases.unwrap_or_default(), o.alias);
            assert_eq!(ep.gw_priority, o.gw_priority);
            assert_eq!(back.container, "c");
        }
        for (args, old) in [
            (&["n", "c"][..], json!({ "Container": "c", "Force": false })),
            (
                &["-f", "n", "c"][..],
                json!({ "Container": "c", "Force": true }),
            ),
        ] {
            let o = DisconnectCmd::try_parse_from(
                std::iter::once("disconnect").chain(args.iter().copied()),
            )
            .unwrap();
            assert_eq!(
                serde_json::to_string(&disconnect_body(&o)).unwrap(),
                serde_json::to_string(&old).unwrap()
            );
        }
    }
}

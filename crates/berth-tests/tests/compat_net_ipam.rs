//! `network create`'s IPAM validation as moby 28's `network.ValidateIPAM` (prefix
//! `compat_ipam_`): every error of every pool — subnet not a network address, ip-range,
//! gateway, auxiliary addresses — answered together in one 400 (Go's errors.Join list),
//! after the pre-defined name check. dockerd 20.10 validated none of this before
//! allocating, so the scenarios
//! give moby 28's output ([`Moby28`]), taken from its source (api/types/network/ipam.go).
//! Each function starts its own daemons: dockerd 20.10 may keep the pool of a network it
//! refused half-way.

use berth_tests::differential::{Differ, Moby28, Scenario};

const S: Scenario = Scenario::DEFAULT;

const WHY: &str = "moby 25+ validates the whole IPAM configuration before allocating (api/types/network ValidateIPAM, errors joined); 20.10 has no ValidateIPAM and met these (if at all) one at a time while allocating";

#[test]
fn compat_ipam_errors_listed_together() {
    Differ::start().check(&[Scenario {
        name: "every IPAM error of a create, together (API)",
        run: "apij POST /v1.41/networks/create \"{\\\"Name\\\":\\\"r1\\\",\\\"IPAM\\\":{\\\"Config\\\":[{\\\"Subnet\\\":\\\"$SUBA.1/24\\\",\\\"IPRange\\\":\\\"$SUBB.0/24\\\",\\\"Gateway\\\":\\\"$SUBB.1\\\",\\\"AuxiliaryAddresses\\\":{\\\"a\\\":\\\"bad\\\"}}]}}\"; echo\n\
              apij POST /v1.41/networks/create '{\"Name\":\"host\",\"IPAM\":{\"Config\":[{\"Subnet\":\"bad\"}]}}'; echo\n\
              docker network ls -q --filter name=r1 | wc -l",
        berth_cli: false,
        moby28: Some(Moby28 {
            code: Some(0),
            stdout: Some(concat!(
                "{\"message\":\"invalid network config:\\n",
                "* invalid subnet <SUBA>.1/24: it should be <SUBA>.0/24\\n",
                "* invalid ip-range <SUBB>.0/24: parent subnet <SUBA>.1/24 doesn't contain ip-range\\n",
                "* invalid gateway <SUBB>.1: parent subnet <SUBA>.1/24 doesn't contain this address\\n",
                "* invalid auxiliary address a: invalid address\"}\n",
                "\n",
                "{\"message\":\"host is a pre-defined network and cannot be created\"}\n",
                "\n",
                "0",
            )),
            stderr: Some("HTTP 400\nHTTP 403"),
            why: WHY,
        }),
        ..S
    }]);
}

#[test]
fn compat_ipam_unmasked_subnet_refused() {
    Differ::start().check(&[Scenario {
        name: "a subnet that is not its network address (CLI)",
        run: "docker network create --subnet $SUBA.1/24 n1; echo \"exit $?\"\n\
              docker network ls -q --filter name=n1 | wc -l",
        moby28: Some(Moby28 {
            code: Some(0),
            stdout: Some("exit 1\n0"),
            stderr: Some(
                "Error response from daemon: invalid network config:\ninvalid subnet <SUBA>.1/24: it should be <SUBA>.0/24",
            ),
            why: WHY,
        }),
        ..S
    }]);
}

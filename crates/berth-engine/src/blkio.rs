//! Block I/O settings of a container (`--blkio-weight`, `--blkio-weight-device`,
//! `--device-{read,write}-{bps,iops}`): read from the HostConfig as the Engine API carries
//! them, checked as dockerd checks them, and discarded with dockerd's warning when the
//! kernel cannot apply them (as `docker run` prints it).

use berth_api::models::{given, HostConfig, ThrottleDevice};
use berth_runtime::spec::BlkioInput;

/// A container's block I/O settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blkio {
    pub weight: u16,
    pub weight_device: Vec<(String, u16)>,
    pub read_bps: Vec<(String, u64)>,
    pub write_bps: Vec<(String, u64)>,
    pub read_iops: Vec<(String, u64)>,
    pub write_iops: Vec<(String, u64)>,
}

/// The block I/O settings of a create or update body.
pub fn from_host_config(hc: &HostConfig) -> Result<Blkio, String> {
    let weight = u16::try_from(hc.blkio_weight)
        .map_err(|_| format!("invalid blkio weight {}", hc.blkio_weight))?;
    let throttle = |f: &Option<Option<Vec<ThrottleDevice>>>| -> Vec<(String, u64)> {
        given(f).iter().map(|d| (d.path.clone(), d.rate)).collect()
    };
    Ok(Blkio {
        weight,
        weight_device: given(&hc.blkio_weight_device)
            .iter()
            .map(|d| (d.path.clone(), d.weight))
            .collect(),
        read_bps: throttle(&hc.blkio_device_read_bps),
        write_bps: throttle(&hc.blkio_device_write_bps),
        read_iops: throttle(&hc.blkio_device_read_iops),
        write_iops: throttle(&hc.blkio_device_write_iops),
    })
}

impl Blkio {
    pub fn into_input(self) -> BlkioInput {
        BlkioInput {
            weight: self.weight,
            weight_device: self.weight_device,
            read_bps: self.read_bps,
            write_bps: self.write_bps,
            read_iops: self.read_iops,
            write_iops: self.write_iops,
        }
    }
}

/// What the host's cgroups can do with block I/O (moby's sysinfo).
struct Support {
    weight: bool,
    throttle: bool,
}

fn support() -> Support {
    use std::path::Path;
    if berth_runtime::spec::host_cgroup_v2() {
        let io = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "io"));
        // The weight needs BFQ or the io cost model (io.weight exists below the root).
        let weight_knob = std::fs::read_dir("/sys/fs/cgroup")
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.path().join("io.weight").exists() || e.path().join("io.bfq.weight").exists()
            });
        Support {
            weight: io && weight_knob,
            throttle: io,
        }
    } else {
        let d = Path::new("/sys/fs/cgroup/blkio");
        Support {
            weight: d.join("blkio.weight").exists() || d.join("blkio.bfq.weight").exists(),
            throttle: d.join("blkio.throttle.read_bps_device").exists(),
        }
    }
}

/// Checks the settings (dockerd's verifyContainerResources): weights in range, devices
/// that exist; drops what the kernel cannot do, with dockerd's warnings.
pub fn check(hc: &mut HostConfig) -> Result<Vec<String>, String> {
    let b = from_host_config(hc)?;
    if b.weight > 0 && !(10..=1000).contains(&b.weight) {
        return Err("Range of blkio weight is from 10 to 1000".into());
    }
    for (_, w) in &b.weight_device {
        if !(10..=1000).contains(w) {
            return Err("Range of blkio weight is from 10 to 1000".into());
        }
    }
    for (path, _) in b
        .weight_device
        .iter()
        .map(|(p, _)| (p, 0u64))
        .chain(b.read_bps.iter().map(|(p, r)| (p, *r)))
        .chain(b.write_bps.iter().map(|(p, r)| (p, *r)))
        .chain(b.read_iops.iter().map(|(p, r)| (p, *r)))
        .chain(b.write_iops.iter().map(|(p, r)| (p, *r)))
    {
        if let Err(e) = std::fs::metadata(path) {
            return Err(format!(
                "error gathering device information while adding custom device \"{path}\": {e}"
            ));
        }
    }
    let s = support();
    let mut warnings = Vec::new();
    if b.weight > 0 && !s.weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".to_string());
        hc.blkio_weight = 0;
    }
    if !b.weight_device.is_empty() && !s.weight {
        warnings.push("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.".to_string());
        // Discarded as it was when carried untyped: the field left out of inspect.
        hc.blkio_weight_device = None;
    }
    for (field, what, set) in [
        (
            &mut hc.blkio_device_read_bps,
            "BPS Block I/O read limit",
            !b.read_bps.is_empty(),
        ),
        (
            &mut hc.blkio_device_write_bps,
            "BPS Block I/O write limit",
            !b.write_bps.is_empty(),
        ),
        (
            &mut hc.blkio_device_read_iops,
            "IOPS Block I/O read limit",
            !b.read_iops.is_empty(),
        ),
        (
            &mut hc.blkio_device_write_iops,
            "IOPS Block I/O write limit",
            !b.write_iops.is_empty(),
        ),
    ] {
        if set && !s.throttle {
            warnings.push(format!(
                "Your kernel does not support {what} or the cgroup is not mounted. Block I/O {} discarded.",
                what.replace("Block I/O ", "")
            ));
            *field = None;
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_api_fields() {
        let hc: HostConfig = serde_json::from_str(
            r#"{"BlkioWeight":300,"BlkioDeviceReadBps":[{"Path":"/dev/vda","Rate":1048576}],
                "BlkioDeviceWriteIOps":[{"Path":"/dev/vda","Rate":100}],"BlkioWeightDevice":null}"#,
        )
        .expect("host config");
        let b = from_host_config(&hc).expect("blkio");
        assert_eq!(b.weight, 300);
        assert_eq!(b.read_bps, vec![("/dev/vda".to_string(), 1_048_576)]);
        assert_eq!(b.write_iops, vec![("/dev/vda".to_string(), 100)]);
        assert!(b.weight_device.is_empty());
        let mut bad: HostConfig =
            serde_json::from_str(r#"{"BlkioWeight":5}"#).expect("host config");
        assert_eq!(
            check(&mut bad),
            Err("Range of blkio weight is from 10 to 1000".into())
        );
        let mut missing: HostConfig =
            serde_json::from_str(r#"{"BlkioDeviceReadBps":[{"Path":"/dev/nope-berth","Rate":1}]}"#)
                .expect("host config");
        assert!(check(&mut missing).is_err_and(|e| e.contains("/dev/nope-berth")));
    }
}

//! Looking into and adjusting running containers: top, stats, pause/unpause, update, and
//! the thaw-after-signal rule for paused containers. Cgroup files are read and written
//! through `berth_runtime::cgroups` (v1 and v2).

use super::{write_record, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, Status};
use berth_api::models::{
    BlkioStatEntry, BlkioStats, CpuStats, CpuUsage, HostConfig, IndexMap, MemoryStats,
    NetworkStats, PidsStats, StatsResponse, StorageStats, ThrottlingData, TopResponse,
};
use berth_runtime::cgroups;
use chrono::{DateTime, Utc};

fn not_running(rec: &ContainerRecord) -> EngineError {
    EngineError::Conflict(format!("Container {} is not running", rec.id))
}

fn restarting(rec: &ContainerRecord) -> EngineError {
    EngineError::Conflict(format!(
        "Container {} is restarting, wait until the container is running",
        rec.id
    ))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::internal("cgroup task", e))
}

/// One stats sample of a running container.
#[derive(Debug, Clone)]
pub struct Sample {
    pub read: DateTime<Utc>,
    pub cg: cgroups::Stats,
    pub system: u64,
    pub online_cpus: u64,
    /// Interface name -> counters; None when the container has no network to report.
    pub networks: Option<IndexMap<String, NetworkStats>>,
}

/// /proc/stat's aggregate cpu line in nanoseconds (moby's getSystemCPUUsage) and the
/// number of cpu lines (online cpus).
fn system_cpu() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut total = 0;
    let mut online = 0;
    for l in s.lines() {
        if let Some(rest) = l.strip_prefix("cpu ") {
            // user nice system idle iowait irq softirq, in USER_HZ (100) ticks.
            let ticks: u64 = rest
                .split_whitespace()
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum();
            total = ticks * 10_000_000;
        } else if l.starts_with("cpu") {
            online += 1;
        }
    }
    (total, online)
}

/// /proc/<pid>/net/dev of the container's init, without lo, as Docker's networks map.
fn networks(pid: i64) -> Option<IndexMap<String, NetworkStats>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
    let mut out = IndexMap::new();
    for l in s.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() < 16 {
            continue;
        }
        out.insert(
            name.to_string(),
            NetworkStats {
                rx_bytes: f[0],
                rx_packets: f[1],
                rx_errors: f[2],
                rx_dropped: f[3],
                tx_bytes: f[8],
                tx_packets: f[9],
                tx_errors: f[10],
                tx_dropped: f[11],
            },
        );
    }
    (!out.is_empty()).then_some(out)
}

fn host_mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

fn cpu_stats(s: Option<&Sample>) -> CpuStats {
    match s {
        None => CpuStats::default(),
        Some(s) => CpuStats {
            cpu_usage: CpuUsage {
                total_usage: s.cg.cpu_total,
                usage_in_kernelmode: s.cg.cpu_kernel,
                usage_in_usermode: s.cg.cpu_user,
                percpu_usage: (!s.cg.cpu_percpu.is_empty()).then(|| s.cg.cpu_percpu.clone()),
            },
            system_cpu_usage: Some(s.system),
            online_cpus: Some(s.online_cpus),
            throttling_data: ThrottlingData {
                periods: s.cg.throttle_periods,
                throttled_periods: s.cg.throttled_periods,
                throttled_time: s.cg.throttled_time,
            },
        },
    }
}

/// Docker's stats for a container: `cur` None gives the empty answer Docker sends for a
/// container that is not running; `pre` None gives zero precpu stats.
pub fn stats_json(
    rec: &ContainerRecord,
    cur: Option<&Sample>,
    pre: Option<&Sample>,
) -> StatsResponse {
    stats_with_host_memory(&rec.name, &rec.id, cur, pre, host_mem_total)
}

/// [`stats_json`] with the host's memory size (the limit shown without one) from
/// `host_mem`.
fn stats_with_host_memory(
    name: &str,
    id: &str,
    cur: Option<&Sample>,
    pre: Option<&Sample>,
    host_mem: impl Fn() -> u64,
) -> StatsResponse {
    let zero = crate::model::ZERO_TIME;
    let time = |s: Option<&Sample>| {
        s.map_or(zero.to_string(), |s| {
            crate::model::format_time(Some(s.read))
        })
    };
    let mut blkio = BlkioStats::default();
    let (pids, memory) = match cur {
        None => (PidsStats::default(), MemoryStats::default()),
        Some(s) => {
            blkio.io_service_bytes_recursive = Some(
                s.cg.blkio
                    .iter()
                    .map(|e| BlkioStatEntry {
                        major: e.major,
                        minor: e.minor,
                        op: e.op.clone(),
                        value: e.value,
                    })
                    .collect(),
            );
            if !s.cg.v2 {
                for l in [
                    &mut blkio.io_serviced_recursive,
                    &mut blkio.io_queue_recursive,
                    &mut blkio.io_service_time_recursive,
                    &mut blkio.io_wait_time_recursive,
                    &mut blkio.io_merged_recursive,
                    &mut blkio.io_time_recursive,
                    &mut blkio.sectors_recursive,
                ] {
                    *l = Some(Vec::new());
                }
            }
            let pids = PidsStats {
                current: s.cg.pids_current,
                limit: s.cg.pids_limit,
            };
            // No limit: Docker reports the host's memory.
            let host = host_mem();
            let limit = s.cg.mem_limit.map_or(host, |l| l.min(host.max(1)));
            let mem = MemoryStats {
                usage: Some(s.cg.mem_usage),
                stats: Some(s.cg.mem_stat.clone()),
                limit: Some(limit),
                max_usage: s.cg.mem_max_usage,
                failcnt: s.cg.mem_failcnt.filter(|f| *f > 0),
            };
            (pids, mem)
        }
    };
    StatsResponse {
        read: time(cur),
        preread: time(pre),
        pids_stats: pids,
        blkio_stats: blkio,
        num_procs: 0,
        storage_stats: StorageStats {},
        cpu_stats: cpu_stats(cur),
        precpu_stats: cpu_stats(pre),
        memory_stats: memory,
        name: format!("/{name}"),
        id: id.to_string(),
        networks: cur.and_then(|s| s.networks.clone()),
    }
}

impl Engine {
    /// `GET /containers/{id}/top`: host `ps` rows whose PID is in the container's cgroup.
    pub async fn top(&self, name_or_id: &str, ps_args: &str) -> Result<TopResponse> {
        let c = self.get(name_or_id)?;
        let rec = c.snapshot().await;
        if !rec.state.status.is_running() {
            return Err(not_running(&rec));
        }
        if rec.state.status == Status::Restarting {
            return Err(restarting(&rec));
        }
        let rel = crate::runtime::cgroup_rel(&self.cfg, &rec);
        let pids = blocking(move || cgroups::procs(&rel))
            .await?
            .map_err(|e| EngineError::internal("cannot read the container's processes", e))?;
        let ps_args = if ps_args.is_empty() { "-ef" } else { ps_args };
        let args: Vec<String> = ps_args.split(' ').map(str::to_string).collect();
        let list = pids
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // As moby: ask ps for just these pids (-q); options that refuse -q get a full run.
        let mut out = tokio::process::Command::new("ps")
            .args(&args)
            .arg("-q")
            .arg(&list)
            .output()
            .await;
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            out = tokio::process::Command::new("ps")
                .args(&args)
                .output()
                .await;
        }
        let out = out.map_err(|e| EngineError::internal("ps", e))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().next().unwrap_or("").to_string();
            let msg = if first.is_empty() {
                format!("exit status {}", out.status.code().unwrap_or(-1))
            } else {
                first
            };
            return Err(EngineError::Internal(format!("ps: {msg}")));
        }
        let v = parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)?;
        self.events.container(&rec, "top", &[]);
        Ok(v)
    }

    /// One stats sample; None when the container is not running (Docker answers empty stats).
    pub async fn stats_sample(&self, c: &Container) -> Result<Option<Sample>> {
        let rec = c.snapshot().await;
        if !rec.state.status.is_running() || rec.state.status == Status::Restarting {
            return Ok(None);
        }
        let rel = crate::runtime::cgroup_rel(&self.cfg, &rec);
        let pid = rec.state.pid;
        let with_net = !matches!(rec.host_config.network_mode.as_str(), "none" | "host");
        blocking(move || {
            let cg = cgroups::stats(&rel);
            let (system, online_cpus) = system_cpu();
            Some(Sample {
                read: Utc::now(),
                cg,
                system,
                online_cpus,
                networks: if with_net { networks(pid) } else { None },
            })
        })
        .await
    }

    /// `POST /containers/{id}/pause`: freezes the cgroup.
    pub async fn pause(&self, name_or_id: &str) -> Result<()> {
        let c = self.get(name_or_id)?;
        let mut rec = c.record.lock().await;
        match rec.state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is already paused",
                    rec.id
                )))
            }
            Status::Restarting => return Err(restarting(&rec)),
            _ => return Err(not_running(&rec)),
        }
        let rel = crate::runtime::cgroup_rel(&self.cfg, &rec);
        blocking(move || cgroups::freeze(&rel, true))
            .await?
            .map_err(|e| EngineError::internal(&format!("Cannot pause container {}", rec.id), e))?;
        rec.state.status = Status::Paused;
        write_record(&self.dir(&rec.id), &rec)?;
        self.events.container(&rec, "pause", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/unpause`: thaws the cgroup.
    pub async fn unpause(&self, name_or_id: &str) -> Result<()> {
        let c = self.get(name_or_id)?;
        let mut rec = c.record.lock().await;
        if rec.state.status != Status::Paused {
            return Err(EngineError::Conflict(format!(
                "Container {} is not paused",
                rec.id
            )));
        }
        self.thaw(&mut rec).await
    }

    async fn thaw(&self, rec: &mut ContainerRecord) -> Result<()> {
        let rel = crate::runtime::cgroup_rel(&self.cfg, rec);
        let id = rec.id.clone();
        blocking(move || cgroups::freeze(&rel, false))
            .await?
            .map_err(|e| EngineError::internal(&format!("Cannot unpause container {id}"), e))?;
        rec.state.status = Status::Running;
        write_record(&self.dir(&rec.id), rec)?;
        self.events.container(rec, "unpause", &[]);
        Ok(())
    }

    /// After a signal reached the container: the kill event, and, as Docker does, a paused
    /// container is thawed so the signal is acted on.
    /// Sends `sig` through the shim and publishes the `kill` event, holding the record lock
    /// from the signal to the event (see [`Self::signalled`]).
    pub(crate) async fn signal(
        &self,
        c: &Container,
        dir: &std::path::Path,
        sig: i32,
    ) -> std::result::Result<(), berth_runtime::client::ClientError> {
        let mut rec = c.record.lock().await;
        self.runtime.kill(dir, sig).await?;
        self.signalled(&mut rec, sig).await;
        Ok(())
    }

    /// The caller holds the record lock from the signal to here, so the monitor's `die`
    /// (which needs that lock) is always published after this `kill`, as moby's order.
    pub(crate) async fn signalled(&self, rec: &mut ContainerRecord, sig: i32) {
        self.events
            .container(rec, "kill", &[("signal", sig.to_string())]);
        if rec.state.status == Status::Paused {
            if let Err(e) = self.thaw(rec).await {
                tracing::warn!(id = %rec.id, error = %e, "cannot thaw a signalled container");
            }
        }
    }

    /// `POST /containers/{id}/update`: new resources (written to the cgroup of a running
    /// container) and restart policy, stored in the record. Returns Docker's warnings.
    pub async fn update(&self, name_or_id: &str, mut req: HostConfig) -> Result<Vec<String>> {
        let warnings = super::create::discard_unsupported_rt(&mut req);
        // Docker's create-time checks, minus the ones it skips for updates.
        let mut check = berth_api::models::ContainerCreateBody {
            host_config: req.clone(),
            ..Default::default()
        };
        check.host_config.auto_remove = false;
        if req.memory == 0 {
            check.host_config.memory_swap = 0;
        }
        check.host_config.cap_add = None;
        check.host_config.cap_drop = None;
        check.host_config.security_opt = None;
        super::create::validate_host_config(&check)?;

        let c = self.get(name_or_id)?;
        let mut rec = c.record.lock().await;
        let cannot = |m: &str| {
            EngineError::InvalidParameter(format!("Cannot update container {}: {m}", rec.id))
        };
        let cur = &rec.host_config;
        if req.nano_cpus > 0 && cur.cpu_period > 0 {
            return Err(cannot("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"));
        }
        if req.nano_cpus > 0 && cur.cpu_quota > 0 {
            return Err(cannot("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"));
        }
        if req.cpu_period > 0 && cur.nano_cpus > 0 {
            return Err(cannot("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"));
        }
        if req.cpu_quota > 0 && cur.nano_cpus > 0 {
            return Err(cannot(
                "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
            ));
        }
        // Docker stores memory+swap as twice the memory when only memory was given.
        let cur_swap = if cur.memory > 0 && cur.memory_swap == 0 {
            cur.memory * 2
        } else {
            cur.memory_swap
        };
        if req.memory != 0 && req.memory > cur_swap && req.memory_swap == 0 {
            return Err(cannot("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"));
        }
        if !req.restart_policy.name.is_empty() && req.restart_policy.name != "no" && cur.auto_remove
        {
            return Err(cannot(
                "Restart policy cannot be updated because AutoRemove is enabled for the container",
            ));
        }

        let mut hc = rec.host_config.clone();
        let mut u = cgroups::Update::default();
        if req.blkio_weight != 0 {
            hc.blkio_weight = req.blkio_weight;
        }
        if req.cpu_shares != 0 {
            hc.cpu_shares = req.cpu_shares;
            u.cpu_shares = Some(req.cpu_shares as u64);
        }
        if req.nano_cpus != 0 {
            hc.nano_cpus = req.nano_cpus;
            u.cpu_period = Some(100_000);
            u.cpu_quota = Some(req.nano_cpus * 100_000 / 1_000_000_000);
        }
        if req.cpu_period != 0 {
            hc.cpu_period = req.cpu_period;
            u.cpu_period = Some(req.cpu_period as u64);
        }
        if req.cpu_quota != 0 {
            hc.cpu_quota = req.cpu_quota;
            u.cpu_quota = Some(req.cpu_quota);
        }
        if !req.cpuset_cpus.is_empty() {
            hc.cpuset_cpus = req.cpuset_cpus.clone();
        }
        if !req.cpuset_mems.is_empty() {
            hc.cpuset_mems = req.cpuset_mems.clone();
        }
        if req.memory != 0 {
            hc.memory = req.memory;
            u.memory = Some(req.memory);
            if req.memory_swap == 0 && hc.memory_swap == 0 {
                // Keep the stored value what Docker shows (memory x2).
                hc.memory_swap = cur_swap;
            }
        }
        if req.memory_swap != 0 {
            hc.memory_swap = req.memory_swap;
            u.memory_swap = Some(req.memory_swap);
        } else if req.memory != 0 && rec.host_config.memory_swap == 0 {
            u.memory_swap = Some(cur_swap.max(req.memory));
        }
        if req.memory_reservation != 0 {
            hc.memory_reservation = req.memory_reservation;
            u.memory_reservation = Some(req.memory_reservation);
        }
        if !req.restart_policy.name.is_empty() {
            hc.restart_policy = req.restart_policy.clone();
        }
        if let Some(p) = req.pids_limit {
            hc.pids_limit = Some(p);
            u.pids_limit = Some(p);
        }
        if req.cpu_realtime_period != 0 {
            hc.cpu_realtime_period = req.cpu_realtime_period;
            u.cpu_rt_period = u64::try_from(req.cpu_realtime_period).ok();
        }
        if req.cpu_realtime_runtime != 0 {
            hc.cpu_realtime_runtime = req.cpu_realtime_runtime;
            u.cpu_rt_runtime = Some(req.cpu_realtime_runtime);
        }

        if rec.state.status.is_running() {
            let rel = crate::runtime::cgroup_rel(&self.cfg, &rec);
            let written = blocking(move || cgroups::update(&rel, &u)).await?;
            if let Err(e) = written {
                return Err(EngineError::Internal(format!(
                    "Cannot update container {}: {e}",
                    rec.id
                )));
            }
        }
        rec.host_config = hc;
        write_record(&self.dir(&rec.id), &rec)?;
        self.events.container(&rec, "update", &[]);
        Ok(warnings)
    }
}

/// Moby's parsePSOutput: titles from the header, rows whose PID is in `pids`, the last
/// column keeping its spaces.
fn parse_ps(out: &str, pids: &[i32]) -> Result<TopResponse> {
    let mut lines = out.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    let pid_index = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::Internal("Couldn't find PID field in ps output".into()))?;
    let mut procs = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(p) = fields.get(pid_index) else {
            continue;
        };
        if *p == "-" {
            continue;
        }
        let p: i32 = p
            .parse()
            .map_err(|e| EngineError::Internal(format!("Unexpected pid '{p}': {e}")))?;
        if !pids.contains(&p) {
            continue;
        }
        let n = titles.len().saturating_sub(1).min(fields.len());
        let mut row: Vec<String> = fields[..n].iter().map(|s| s.to_string()).collect();
        row.push(fields[n..].join(" "));
        procs.push(row);
    }
    Ok(TopResponse {
        titles,
        processes: procs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn cpu_json_before(s: Option<&Sample>) -> Value {
        match s {
            None => json!({
                "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
            }),
            Some(s) => {
                let mut usage = json!({
                    "total_usage": s.cg.cpu_total,
                    "usage_in_kernelmode": s.cg.cpu_kernel,
                    "usage_in_usermode": s.cg.cpu_user,
                });
                if !s.cg.cpu_percpu.is_empty() {
                    usage["percpu_usage"] = json!(s.cg.cpu_percpu);
                }
                json!({
                    "cpu_usage": usage,
                    "system_cpu_usage": s.system,
                    "online_cpus": s.online_cpus,
                    "throttling_data": {
                        "periods": s.cg.throttle_periods,
                        "throttled_periods": s.cg.throttled_periods,
                        "throttled_time": s.cg.throttled_time,
                    },
                })
            }
        }
    }

    /// The stats answer as `stats_json` built it before the typed model (json!).
    fn stats_before(
        rec: &Rec,
        cur: Option<&Sample>,
        pre: Option<&Sample>,
        host: u64,
        networks: Option<Value>,
    ) -> Value {
        let zero = crate::model::ZERO_TIME;
        let time = |s: Option<&Sample>| {
            s.map_or(zero.to_string(), |s| {
                crate::model::format_time(Some(s.read))
            })
        };
        let blkio_keys = [
            "io_service_bytes_recursive",
            "io_serviced_recursive",
            "io_queue_recursive",
            "io_service_time_recursive",
            "io_wait_time_recursive",
            "io_merged_recursive",
            "io_time_recursive",
            "sectors_recursive",
        ];
        let mut blkio = serde_json::Map::new();
        for k in blkio_keys {
            blkio.insert(k.to_string(), Value::Null);
        }
        let (pids, memory) = match cur {
            None => (json!({}), json!({})),
            Some(s) => {
                let entries: Vec<Value> = s
                    .cg
                    .blkio
                    .iter()
                    .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
                    .collect();
                blkio.insert(blkio_keys[0].into(), json!(entries));
                if !s.cg.v2 {
                    for k in &blkio_keys[1..] {
                        blkio.insert((*k).into(), json!([]));
                    }
                }
                let mut pids = json!({});
                if let Some(c) = s.cg.pids_current {
                    pids["current"] = json!(c);
                }
                if let Some(l) = s.cg.pids_limit {
                    pids["limit"] = json!(l);
                }
                // No limit: Docker reports the host's memory.
                let limit = s.cg.mem_limit.map_or(host, |l| l.min(host.max(1)));
                let mut mem =
                    json!({"usage": s.cg.mem_usage, "stats": s.cg.mem_stat, "limit": limit});
                if let Some(m) = s.cg.mem_max_usage {
                    mem["max_usage"] = json!(m);
                }
                if let Some(f) = s.cg.mem_failcnt.filter(|f| *f > 0) {
                    mem["failcnt"] = json!(f);
                }
                (pids, mem)
            }
        };
        let mut v = json!({
            "read": time(cur),
            "preread": time(pre),
            "pids_stats": pids,
            "blkio_stats": blkio,
            "num_procs": 0,
            "storage_stats": {},
            "cpu_stats": cpu_json_before(cur),
            "precpu_stats": cpu_json_before(pre),
            "memory_stats": memory,
            "name": format!("/{}", rec.name),
            "id": rec.id,
        });
        if let Some(n) = networks.filter(|_| cur.is_some()) {
            v["networks"] = n;
        }
        v
    }

    /// What the old stats read of a container record.
    struct Rec {
        id: String,
        name: String,
    }

    fn sample(v2: bool, rich: bool) -> Sample {
        let mut cg = cgroups::Stats {
            cpu_total: 1_000,
            cpu_kernel: 300,
            cpu_user: 700,
            throttle_periods: 5,
            throttled_periods: 1,
            throttled_time: 99,
            mem_usage: 4096,
            v2,
            ..Default::default()
        };
        if rich {
            cg.cpu_percpu = vec![600, 400];
            cg.mem_max_usage = Some(8192);
            cg.mem_failcnt = Some(3);
            cg.mem_limit = Some(1 << 20);
            cg.mem_stat = [("cache".to_string(), 1u64), ("rss".into(), 2)].into();
            cg.blkio = vec![cgroups::BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 512,
            }];
            cg.pids_current = Some(2);
            cg.pids_limit = Some(100);
        } else {
            cg.mem_failcnt = Some(0);
        }
        Sample {
            read: "2026-12-06T08:00:00.5Z".parse().unwrap(),
            cg,
            system: 123_456,
            online_cpus: 2,
            networks: None,
        }
    }

    #[test]
    fn typed_stats_are_the_same_bytes() {
        let rec = Rec {
            id: "c".repeat(64),
            name: "web".into(),
        };
        // Interfaces out of alphabetical order: the map keeps /proc/net/dev's order.
        let mut nets = IndexMap::new();
        for (i, name) in ["eth1", "eth0"].iter().enumerate() {
            let n = i as u64;
            nets.insert(
                name.to_string(),
                NetworkStats {
                    rx_bytes: 10 + n,
                    rx_packets: 1,
                    rx_errors: 0,
                    rx_dropped: 0,
                    tx_bytes: 20 + n,
                    tx_packets: 2,
                    tx_errors: 0,
                    tx_dropped: 1,
                },
            );
        }
        let host = 24u64 << 30;
        for v2 in [false, true] {
            for rich in [false, true] {
                let mut cur = sample(v2, rich);
                if rich {
                    cur.networks = Some(nets.clone());
                }
                let pre = sample(v2, !rich);
                let nets_before = cur.networks.as_ref().map(|n| json!(n));
                for (c, p) in [(None, None), (Some(&cur), None), (Some(&cur), Some(&pre))] {
                    let typed = stats_with_host_memory(&rec.name, &rec.id, c, p, || host);
                    let before = stats_before(&rec, c, p, host, nets_before.clone());
                    assert_eq!(
                        serde_json::to_string(&typed).unwrap(),
                        serde_json::to_string(&before).unwrap(),
                        "v2={v2} rich={rich}"
                    );
                }
            }
        }
    }

    #[test]
    fn ps_output_is_filtered_by_pid() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 08:00 ? 00:00:01 /sbin/init splash\nroot 42 1 0 08:01 ? 00:00:00 sleep 1000\n";
        let v = parse_ps(out, &[42]).expect("parses");
        assert_eq!(v.titles[1], "PID");
        assert_eq!(v.processes.len(), 1);
        assert_eq!(v.processes[0][7], "sleep 1000");
        // The bytes `top` answered when it built the value with json!.
        let before = json!({"Titles": v.titles, "Processes": v.processes});
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
        assert!(parse_ps("USER COMMAND\nroot x\n", &[1]).is_err());
    }
}

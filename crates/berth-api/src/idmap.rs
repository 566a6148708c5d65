//! User namespace id mappings (daemon `userns-remap`): the subordinate ranges of
//! /etc/subuid and /etc/subgid, and the shift of ids between a container and the host, as
//! moby's `user.IdentityMapping` (pkg/idtools).
//!
//! Pure: parsing works on file contents, lookups on the parsed maps. The daemon reads the
//! files; the image store, the tar writer, the engine and the runtime apply the maps.

use serde::{Deserialize, Serialize};

/// One contiguous range: container ids `container_id..container_id+size` are host ids
/// `host_id..host_id+size` (a line of /proc/PID/uid_map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// The uid and gid maps of remapped containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMappings {
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
}

/// One `name:start:count` line of /etc/subuid or /etc/subgid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubIdRange {
    pub name: String,
    pub start: u32,
    pub count: u32,
}

/// Why an id could not be shifted or a range file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdMapError {
    /// A container id outside the maps (moby 28's moby/sys/user wording: "container ID %d
    /// cannot be mapped to a host ID").
    Unmapped(u32),
    /// A host id outside the maps ("host ID %d cannot be mapped to a container ID").
    HostUnmapped(u32),
    /// A malformed line of a subordinate id file.
    BadLine(String),
}

impl std::fmt::Display for IdMapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdMapError::Unmapped(id) => {
                write!(f, "container ID {id} cannot be mapped to a host ID")
            }
            IdMapError::HostUnmapped(id) => {
                write!(f, "host ID {id} cannot be mapped to a container ID")
            }
            IdMapError::BadLine(l) => write!(f, "cannot parse subuid/gid information: {l:?}"),
        }
    }
}

impl std::error::Error for IdMapError {}

/// Parses /etc/subuid or /etc/subgid (comments and blank lines skipped, as shadow-utils).
pub fn parse_subid(text: &str) -> Result<Vec<SubIdRange>, IdMapError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        let [name, start, count] = parts[..] else {
            return Err(IdMapError::BadLine(line.to_string()));
        };
        let bad = || IdMapError::BadLine(line.to_string());
        out.push(SubIdRange {
            name: name.to_string(),
            start: start.parse().map_err(|_| bad())?,
            count: count.parse().map_err(|_| bad())?,
        });
    }
    Ok(out)
}

/// The ranges of a user (an entry names the user or its uid, as moby's
/// lookupSubRangesFile), in file order, laid end to end from container id 0.
pub fn ranges_for(entries: &[SubIdRange], user: &str, uid: u32) -> Vec<IdMap> {
    let uid = uid.to_string();
    let mut next = 0u32;
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.name == user || e.name == uid) {
        out.push(IdMap {
            container_id: next,
            host_id: e.start,
            size: e.count,
        });
        next = next.saturating_add(e.count);
    }
    out
}

/// moby's findNextRangeStart, for the `dockremap` user it creates: from 100000, one pass
/// over the entries sorted by start, moving past each entry moby's wouldOverlap sees (one
/// that holds either end of the candidate, ends included). As moby's, it misses an entry
/// lying wholly inside the candidate range: the result may overlap it (dockerd 28 picks the
/// same range; the differential in berth-tests' userns.rs checks that).
pub fn next_free_range(entries: &[SubIdRange], size: u32) -> u32 {
    let mut sorted: Vec<(u64, u64)> = entries
        .iter()
        .map(|e| (u64::from(e.start), u64::from(e.count)))
        .collect();
    sorted.sort_by_key(|r| r.0);
    let mut start: u64 = 100_000;
    for (s, len) in sorted {
        let (low, high) = (start, start + u64::from(size));
        if (low >= s && low <= s + len) || (high <= s + len && high >= s) {
            start = s + len;
        }
    }
    start.min(u64::from(u32::MAX - size)) as u32
}

fn to_host(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter().find_map(|m| {
        let off = id.checked_sub(m.container_id)?;
        (off < m.size).then(|| m.host_id + off)
    })
}

fn to_container(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter().find_map(|m| {
        let off = id.checked_sub(m.host_id)?;
        (off < m.size).then(|| m.container_id + off)
    })
}

impl IdMappings {
    /// The host uid and gid of the container's root (the remapped root, `<uid>.<gid>`).
    pub fn root_pair(&self) -> (u32, u32) {
        (
            to_host(&self.uids, 0).unwrap_or(0),
            to_host(&self.gids, 0).unwrap_or(0),
        )
    }

    /// A container uid/gid pair on the host; an id outside the ranges is an error (moby's).
    pub fn to_host(&self, uid: u32, gid: u32) -> Result<(u32, u32), IdMapError> {
        Ok((
            to_host(&self.uids, uid).ok_or(IdMapError::Unmapped(uid))?,
            to_host(&self.gids, gid).ok_or(IdMapError::Unmapped(gid))?,
        ))
    }

    /// A host uid/gid pair as the container sees it; an id outside the ranges is an error
    /// (moby's IdentityMapping.ToContainer).
    pub fn to_container(&self, uid: u32, gid: u32) -> Result<(u32, u32), IdMapError> {
        Ok((
            to_container(&self.uids, uid).ok_or(IdMapError::HostUnmapped(uid))?,
            to_container(&self.gids, gid).ok_or(IdMapError::HostUnmapped(gid))?,
        ))
    }

    /// The text of /proc/PID/uid_map (or gid_map) for these maps.
    pub fn proc_map(maps: &[IdMap]) -> String {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subid_files_parse_and_ranges_stack() {
        let text =
            "# comment\n\nalice:100000:65536\n1001:300000:10\nbob:200000:65536\nalice:500000:5\n";
        let e = parse_subid(text).unwrap();
        assert_eq!(e.len(), 4);
        let r = ranges_for(&e, "alice", 1001);
        assert_eq!(
            r,
            vec![
                IdMap {
                    container_id: 0,
                    host_id: 100000,
                    size: 65536
                },
                IdMap {
                    container_id: 65536,
                    host_id: 300000,
                    size: 10
                },
                IdMap {
                    container_id: 65546,
                    host_id: 500000,
                    size: 5
                },
            ]
        );
        assert!(ranges_for(&e, "carol", 7).is_empty());
        for bad in ["alice:1", "alice:x:1", "alice:1:2:3", "alice:-1:2"] {
            assert!(parse_subid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_shift_both_ways() {
        let m = IdMappings {
            uids: vec![
                IdMap {
                    container_id: 0,
                    host_id: 100000,
                    size: 1000,
                },
                IdMap {
                    container_id: 1000,
                    host_id: 500000,
                    size: 10,
                },
            ],
            gids: vec![IdMap {
                container_id: 0,
                host_id: 200000,
                size: 65536,
            }],
        };
        assert_eq!(m.root_pair(), (100000, 200000));
        assert_eq!(m.to_host(0, 0), Ok((100000, 200000)));
        assert_eq!(m.to_host(1005, 5), Ok((500005, 200005)));
        assert_eq!(m.to_host(1010, 0), Err(IdMapError::Unmapped(1010)));
        assert_eq!(m.to_host(0, 65536), Err(IdMapError::Unmapped(65536)));
        assert_eq!(
            m.to_host(1010, 0).unwrap_err().to_string(),
            "container ID 1010 cannot be mapped to a host ID"
        );
        assert_eq!(m.to_container(100999, 265535), Ok((999, 65535)));
        assert_eq!(m.to_container(500009, 200000), Ok((1009, 0)));
        // Outside every range (the host's root): moby's error, uid first.
        assert_eq!(m.to_container(0, 0), Err(IdMapError::HostUnmapped(0)));
        assert_eq!(m.to_container(100000, 7), Err(IdMapError::HostUnmapped(7)));
        assert_eq!(
            m.to_container(99999, 200000).unwrap_err().to_string(),
            "host ID 99999 cannot be mapped to a container ID"
        );
        assert_eq!(
            IdMappings::proc_map(&m.uids),
            "0 100000 1000\n1000 500000 10\n"
        );
    }

    #[test]
    fn free_ranges_skip_used_ones() {
        assert_eq!(next_free_range(&[], 65536), 100000);
        let e = parse_subid("a:100000:65536\nb:165536:65536\nc:400000:10\n").unwrap();
        assert_eq!(next_free_range(&e, 65536), 231072);
        // Inside the candidate range: moby's check does not see it.
        let e = parse_subid("a:150000:10\n").unwrap();
        assert_eq!(next_free_range(&e, 65536), 100000);
        // Holding the candidate's end: moved past.
        let e = parse_subid("a:165000:1000\n").unwrap();
        assert_eq!(next_free_range(&e, 65536), 166000);
        // Sorted first: in file order `c` would be passed before `a` moves the start to it.
        let e = parse_subid("c:300000:65536\na:100000:200000\n").unwrap();
        assert_eq!(next_free_range(&e, 65536), 365536);
    }
}

//! `--userns-remap` / daemon.json `userns-remap`, resolved as moby's parseRemappedRoot and
//! setupRemappedRoot: `default` (the `dockremap` user, created with its subordinate ranges
//! when missing), `USER`, `USER:GROUP`, `UID`, `UID:GID`; the user's ranges in /etc/subuid
//! and /etc/subgid become the id maps, and the data root gains a `<uid>.<gid>` subdirectory
//! owned by the remapped root (setupDaemonRoot).
//!
//! The host's user database and files are behind [`UserDb`], so the resolution is tested
//! with a fake. `BERTH_SUBUID_FILE` / `BERTH_SUBGID_FILE` name other range files: a test
//! hook, so tests never edit the host's.
//!
//! `default` creates `dockremap` with `adduser --system` (or `useradd -r`) and appends a
//! free 65536-id range to /etc/subuid and /etc/subgid; a user's ranges, in file order,
//! become the maps; unknown users or groups, malformed values and "no subuid ranges found"
//! fail with dockerd's messages; `root` turns remapping off with a warning. The data root
//! becomes 0711 and `<uid>.<gid>` 0710 root:<remapped gid>, every parent checked for o+x as
//! moby does, so a remapped daemon's images, containers, volumes and swarm state never mix
//! with the plain one's. `docker info` then lists `name=userns` and the remapped
//! DockerRootDir (`routes/system.rs`). `default` is tested against dockerd's with both
//! daemons in mount namespaces of their own over private overlays of /etc and /var/log
//! (berth-tests `private_etc`).

use berth_api::idmap::{self, IdMappings};
use std::path::{Path, PathBuf};

/// moby's name for `default`'s user and group.
pub const DEFAULT_REMAP_USER: &str = "dockremap";

/// The host's users, groups and subordinate id files.
pub trait UserDb {
    /// (name, uid) of a user by name.
    fn user_by_name(&self, name: &str) -> Option<(String, u32)>;
    fn user_by_uid(&self, uid: u32) -> Option<(String, u32)>;
    /// (name, gid) of a group.
    fn group_by_name(&self, name: &str) -> Option<(String, u32)>;
    fn group_by_gid(&self, gid: u32) -> Option<(String, u32)>;
    /// Adds a system user and its group (`adduser --system` / `useradd -r`).
    fn add_user(&self, name: &str) -> Result<(), String>;
    /// The text of /etc/subuid (`uid`) or /etc/subgid; empty if the file is missing.
    fn read_subid(&self, uid: bool) -> Result<String, String>;
    /// Appends one `name:start:count` line.
    fn append_subid(&self, uid: bool, line: &str) -> Result<(), String>;
}

/// What the daemon runs with: the resolved `user:group` and the maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    pub user: String,
    pub group: String,
    pub maps: IdMappings,
}

const NO_PASSWD: &str = "no matching entries in passwd file";
const NO_GROUP: &str = "no matching entries in group file";

/// moby's parseRemappedRoot: the user and group names of a `userns-remap` value.
fn parse_remapped_root(db: &dyn UserDb, spec: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() > 2 {
        return Err(format!(
            "Invalid user/group specification in --userns-remap: {spec:?}"
        ));
    }
    let mut group = String::new();
    let user = if let Ok(uid) = parts[0].parse::<i32>() {
        let uid = u32::try_from(uid)
            .map_err(|_| format!("Uid {uid} has no entry in /etc/passwd: {NO_PASSWD}"))?;
        let (name, _) = db
            .user_by_uid(uid)
            .ok_or_else(|| format!("Uid {uid} has no entry in /etc/passwd: {NO_PASSWD}"))?;
        if parts.len() == 1 {
            let (g, _) = db
                .group_by_gid(uid)
                .ok_or_else(|| format!("Gid {uid} has no entry in /etc/group: {NO_GROUP}"))?;
            group = g;
        }
        name
    } else {
        let lookup = if parts[0] == "default" {
            DEFAULT_REMAP_USER
        } else {
            parts[0]
        };
        match db.user_by_name(lookup) {
            Some((name, _)) => {
                if parts.len() == 1 {
                    let (g, _) = db.group_by_name(lookup).ok_or_else(|| {
                        format!("Error during gid lookup for {lookup:?}: {NO_GROUP}")
                    })?;
                    group = g;
                }
                name
            }
            None if parts[0] == "default" => {
                add_namespace_ranges_user(db, DEFAULT_REMAP_USER).map_err(|e| {
                    format!("Error during {DEFAULT_REMAP_USER:?} user creation: {e}")
                })?;
                return Ok((DEFAULT_REMAP_USER.into(), DEFAULT_REMAP_USER.into()));
            }
            None => {
                return Err(format!(
                    "Error during uid lookup for {lookup:?}: {NO_PASSWD}"
                ))
            }
        }
    };
    if parts.len() == 2 {
        if let Ok(gid) = parts[1].parse::<i32>() {
            let bad = || format!("Gid {gid} has no entry in /etc/passwd: {NO_GROUP}");
            let gid = u32::try_from(gid).map_err(|_| bad())?;
            group = db.group_by_gid(gid).ok_or_else(bad)?.0;
        } else {
            db.group_by_name(parts[1]).ok_or_else(|| {
                format!(
                    "Error during groupname lookup for {:?}: {NO_GROUP}",
                    parts[1]
                )
            })?;
            group = parts[1].to_string();
        }
    }
    Ok((user, group))
}

/// moby's AddNamespaceRangesUser: the user, then 65536 ids in each file if it has none.
fn add_namespace_ranges_user(db: &dyn UserDb, name: &str) -> Result<(), String> {
    db.add_user(name)
        .map_err(|e| format!("error adding user {name:?}: {e}"))?;
    let (_, uid) = db
        .user_by_name(name)
        .ok_or_else(|| format!("error adding user {name:?}: {NO_PASSWD}"))?;
    for file in [true, false] {
        let entries = idmap::parse_subid(&db.read_subid(file)?)
            .map_err(|e| format!("couldn't create subordinate ID ranges: {e}"))?;
        if idmap::ranges_for(&entries, name, uid).is_empty() {
            let start = idmap::next_free_range(&entries, 65536);
            db.append_subid(file, &format!("{name}:{start}:65536"))
                .map_err(|e| format!("couldn't create subordinate ID ranges: {e}"))?;
        }
    }
    Ok(())
}

/// moby's setupRemappedRoot: `None` when off (empty, or `root`, which cannot be remapped
/// onto itself: a warning, as moby's).
pub fn resolve(db: &dyn UserDb, spec: &str) -> Result<Option<Remap>, String> {
    if spec.is_empty() {
        return Ok(None);
    }
    let (user, group) = parse_remapped_root(db, spec)?;
    if user == "root" {
        tracing::warn!(
            "User namespaces: root cannot be remapped with itself; user namespaces are OFF"
        );
        return Ok(None);
    }
    tracing::info!("User namespaces: ID ranges will be mapped to subuid/subgid ranges of: {user}");
    let (_, uid) = db.user_by_name(&user).ok_or_else(|| {
        format!("Can't create ID mappings: could not get user for username {user}: {NO_PASSWD}")
    })?;
    let mut maps = IdMappings::default();
    for file in [true, false] {
        let entries = idmap::parse_subid(&db.read_subid(file)?)
            .map_err(|e| format!("Can't create ID mappings: {e}"))?;
        let ranges = idmap::ranges_for(&entries, &user, uid);
        if ranges.is_empty() {
            // moby's lookupSubRangesFile says "subuid" for both files.
            return Err(format!(
                "Can't create ID mappings: no subuid ranges found for user {user:?}"
            ));
        }
        if file {
            maps.uids = ranges;
        } else {
            maps.gids = ranges;
        }
    }
    Ok(Some(Remap { user, group, maps }))
}

/// moby's setupDaemonRoot for a remapped daemon: `root` made 0711 (traversable by the
/// remapped root), `root/<uid>.<gid>` created 0710 owned by the daemon's uid and the
/// remapped gid; every directory above must let the remapped root through. Returns it.
pub fn remapped_data_root(root: &Path, maps: &IdMappings) -> Result<PathBuf, String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (uid, gid) = maps.root_pair();
    std::fs::create_dir_all(root)
        .map_err(|e| format!("cannot create data root {}: {e}", root.display()))?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| format!("cannot set the mode of {}: {e}", root.display()))?;
    let sub = root.join(format!("{uid}.{gid}"));
    std::fs::create_dir_all(&sub)
        .map_err(|e| format!("Cannot create daemon root: {}: {e}", sub.display()))?;
    let me = nix::unistd::getuid().as_raw();
    std::os::unix::fs::chown(&sub, Some(me), Some(gid))
        .and_then(|_| std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o710)))
        .map_err(|e| format!("Cannot create daemon root: {}: {e}", sub.display()))?;
    let mut dir = sub.clone();
    while let Some(parent) = dir.parent().map(Path::to_path_buf) {
        if parent == Path::new("/") || parent.as_os_str().is_empty() {
            break;
        }
        let ok = std::fs::metadata(&parent).is_ok_and(|md| {
            let perms = md.mode();
            perms & 0o001 != 0
                || (md.uid() == uid && perms & 0o100 != 0)
                || (md.gid() == gid && perms & 0o010 != 0)
        });
        if !ok {
            return Err(format!(
                "a subdirectory in your graphroot path ({}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories",
                sub.display()
            ));
        }
        dir = parent;
    }
    Ok(sub)
}

/// The host's passwd/group (through NSS) and subordinate id files.
pub struct HostUsers;

fn subid_path(uid: bool) -> PathBuf {
    let (var, default) = if uid {
        ("BERTH_SUBUID_FILE", "/etc/subuid")
    } else {
        ("BERTH_SUBGID_FILE", "/etc/subgid")
    };
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

impl UserDb for HostUsers {
    fn user_by_name(&self, name: &str) -> Option<(String, u32)> {
        let u = nix::unistd::User::from_name(name).ok()??;
        Some((u.name, u.uid.as_raw()))
    }
    fn user_by_uid(&self, uid: u32) -> Option<(String, u32)> {
        let u = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()??;
        Some((u.name, u.uid.as_raw()))
    }
    fn group_by_name(&self, name: &str) -> Option<(String, u32)> {
        let g = nix::unistd::Group::from_name(name).ok()??;
        Some((g.name, g.gid.as_raw()))
    }
    fn group_by_gid(&self, gid: u32) -> Option<(String, u32)> {
        let g = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)).ok()??;
        Some((g.name, g.gid.as_raw()))
    }
    fn add_user(&self, name: &str) -> Result<(), String> {
        // moby's addUser: adduser where it exists, else useradd.
        let adduser = ["/usr/sbin/adduser", "/sbin/adduser", "/usr/bin/adduser"]
            .iter()
            .any(|p| Path::new(p).exists());
        let mut cmd = if adduser {
            let mut c = std::process::Command::new("adduser");
            c.args([
                "--system",
                "--shell",
                "/bin/false",
                "--no-create-home",
                "--disabled-login",
                "--disabled-password",
                "--group",
                name,
            ]);
            c
        } else {
            let mut c = std::process::Command::new("useradd");
            c.args(["-r", "-s", "/bin/false", name]);
            c
        };
        let out = cmd.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(())
    }
    fn read_subid(&self, uid: bool) -> Result<String, String> {
        let p = subid_path(uid);
        match std::fs::read_to_string(&p) {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(format!("cannot read {}: {e}", p.display())),
        }
    }
    fn append_subid(&self, uid: bool, line: &str) -> Result<(), String> {
        use std::io::Write;
        let p = subid_path(uid);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| format!("cannot open {}: {e}", p.display()))?;
        writeln!(f, "{line}").map_err(|e| format!("cannot write {}: {e}", p.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::idmap::IdMap;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Fake {
        users: RefCell<Vec<(String, u32)>>,
        groups: RefCell<Vec<(String, u32)>>,
        subuid: RefCell<String>,
        subgid: RefCell<String>,
    }

    impl UserDb for Fake {
        fn user_by_name(&self, n: &str) -> Option<(String, u32)> {
            self.users.borrow().iter().find(|u| u.0 == n).cloned()
        }
        fn user_by_uid(&self, id: u32) -> Option<(String, u32)> {
            self.users.borrow().iter().find(|u| u.1 == id).cloned()
        }
        fn group_by_name(&self, n: &str) -> Option<(String, u32)> {
            self.groups.borrow().iter().find(|u| u.0 == n).cloned()
        }
        fn group_by_gid(&self, id: u32) -> Option<(String, u32)> {
            self.groups.borrow().iter().find(|u| u.1 == id).cloned()
        }
        fn add_user(&self, n: &str) -> Result<(), String> {
            self.users.borrow_mut().push((n.into(), 999));
            self.groups.borrow_mut().push((n.into(), 999));
            Ok(())
        }
        fn read_subid(&self, uid: bool) -> Result<String, String> {
            Ok(if uid { &self.subuid } else { &self.subgid }
                .borrow()
                .clone())
        }
        fn append_subid(&self, uid: bool, line: &str) -> Result<(), String> {
            let f = if uid { &self.subuid } else { &self.subgid };
            f.borrow_mut().push_str(&format!("{line}\n"));
            Ok(())
        }
    }

    fn fake() -> Fake {
        let f = Fake::default();
        f.users.borrow_mut().extend([
            ("root".to_string(), 0),
            ("alice".to_string(), 1000),
            ("bob".to_string(), 1001),
        ]);
        f.groups.borrow_mut().extend([
            ("root".to_string(), 0),
            ("alice".to_string(), 1000),
            ("staff".to_string(), 50),
        ]);
        *f.subuid.borrow_mut() = "alice:100000:65536\n".into();
        *f.subgid.borrow_mut() = "alice:200000:65536\n1001:300000:10\n".into();
        f
    }

    #[test]
    fn values_resolve_as_mobys() {
        let f = fake();
        let r = resolve(&f, "alice").unwrap().unwrap();
        assert_eq!((r.user.as_str(), r.group.as_str()), ("alice", "alice"));
        assert_eq!(
            r.maps.uids,
            vec![IdMap {
                container_id: 0,
                host_id: 100000,
                size: 65536
            }]
        );
        assert_eq!(r.maps.root_pair(), (100000, 200000));
        let r = resolve(&f, "1000:staff").unwrap().unwrap();
        assert_eq!((r.user.as_str(), r.group.as_str()), ("alice", "staff"));
        let r = resolve(&f, "alice:50").unwrap().unwrap();
        assert_eq!(r.group, "staff");
        assert_eq!(resolve(&f, "").unwrap(), None);
        // root cannot be remapped onto itself: off, as moby (a warning).
        assert_eq!(resolve(&f, "root").unwrap(), None);
    }

    #[test]
    fn bad_values_get_mobys_messages() {
        let f = fake();
        let e = |s: &str| resolve(&f, s).unwrap_err();
        assert_eq!(
            e("a:b:c"),
            "Invalid user/group specification in --userns-remap: \"a:b:c\""
        );
        assert!(e("nosuch").starts_with("Error during uid lookup for \"nosuch\""));
        assert!(e("4242").starts_with("Uid 4242 has no entry in /etc/passwd"));
        assert!(e("1001").starts_with("Gid 1001 has no entry in /etc/group"));
        assert!(e("bob").starts_with("Error during gid lookup for \"bob\""));
        assert!(e("alice:nogroup").starts_with("Error during groupname lookup for \"nogroup\""));
        // bob has gid ranges but no uid ranges.
        assert_eq!(
            e("bob:staff"),
            "Can't create ID mappings: no subuid ranges found for user \"bob\""
        );
        *f.subuid.borrow_mut() = "alice:x:1\n".into();
        assert!(e("alice").contains("cannot parse subuid/gid information"));
    }

    #[test]
    fn default_creates_dockremap_with_free_ranges() {
        let f = fake();
        let r = resolve(&f, "default").unwrap().unwrap();
        assert_eq!(
            (r.user.as_str(), r.group.as_str()),
            ("dockremap", "dockremap")
        );
        assert_eq!(r.maps.root_pair(), (165536, 100000));
        assert!(f.subuid.borrow().ends_with("dockremap:165536:65536\n"));
        // Existing now: nothing is added again.
        let before = f.subuid.borrow().clone();
        assert_eq!(resolve(&f, "default").unwrap().unwrap(), r);
        assert_eq!(*f.subuid.borrow(), before);
    }

    #[test]
    fn remapped_root_dir_is_made_like_mobys() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let t = tempfile::tempdir().unwrap();
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let maps = fake_maps();
        let root = t.path().join("data");
        let sub = remapped_data_root(&root, &maps).unwrap();
        assert_eq!(sub, root.join("100000.200000"));
        let md = std::fs::metadata(&sub).unwrap();
        assert_eq!((md.mode() & 0o7777, md.gid()), (0o710, 200000));
        assert_eq!(std::fs::metadata(&root).unwrap().mode() & 0o7777, 0o711);
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let e = remapped_data_root(&root, &maps).unwrap_err();
        assert!(e.contains("restricts access to the remapped root"), "{e}");
    }

    fn fake_maps() -> IdMappings {
        IdMappings {
            uids: vec![IdMap {
                container_id: 0,
                host_id: 100000,
                size: 65536,
            }],
            gids: vec![IdMap {
                container_id: 0,
                host_id: 200000,
                size: 65536,
            }],
        }
    }
}

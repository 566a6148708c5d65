//! `--user` resolution against the image's /etc/passwd and /etc/group, following
//! runc's `user.GetExecUser` (the code Docker uses), including its error messages.

use std::fs;
use std::path::Path;

use crate::spec::SpecError;

/// The result of resolving a Docker `user[:group]` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: groups listing the user by name (only when no group was given).
    pub sgids: Vec<u32>,
    /// Home directory from passwd, "/" when unknown.
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Reads `/etc/passwd` or `/etc/group` inside the rootfs (through descriptors: a link to a
/// host file is looked up inside the rootfs, where it is not).
fn read_db(rootfs: &Path, file: &str) -> Option<String> {
    use std::io::Read;
    let fd = berth_inroot::Root::at(rootfs)
        .ok()?
        .open(
            file,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
            berth_inroot::Follow::All,
        )
        .ok()?;
    let mut f = fs::File::from(fd);
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

fn parse_passwd(s: &str) -> Vec<PasswdEntry> {
    s.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_group(s: &str) -> Vec<GroupEntry> {
    s.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Full resolution including the home directory.
pub fn resolve_exec_user(rootfs: &Path, user: &str) -> Result<ExecUser, SpecError> {
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = read_db(rootfs, "/etc/passwd")
        .map(|s| parse_passwd(&s))
        .unwrap_or_default();
    let mut out = ExecUser {
        uid: 0,
        gid: 0,
        sgids: Vec::new(),
        home: "/".to_string(),
    };
    let mut name: Option<String> = None;
    if !user_part.is_empty() {
        let numeric: Option<u32> = user_part.parse().ok();
        let entry = passwd
            .iter()
            .find(|e| e.name == user_part || Some(e.uid) == numeric);
        match (entry, numeric) {
            (Some(e), _) => {
                out.uid = e.uid;
                out.gid = e.gid;
                if !e.home.is_empty() {
                    out.home = e.home.clone();
                }
                name = Some(e.name.clone());
            }
            (None, Some(uid)) => out.uid = uid,
            (None, None) => {
                return Err(SpecError::User(format!(
                    "unable to find user {user_part}: no matching entries in passwd file"
                )))
            }
        }
    } else {
        // Docker runs as root (uid 0) when no user is given; root's passwd entry supplies home.
        if let Some(e) = passwd.iter().find(|e| e.uid == 0) {
            out.gid = e.gid;
            if !e.home.is_empty() {
                out.home = e.home.clone();
            }
            name = Some(e.name.clone());
        }
    }
    let groups = read_db(rootfs, "/etc/group")
        .map(|s| parse_group(&s))
        .unwrap_or_default();
    match group_part {
        Some(g) if !g.is_empty() => {
            let numeric: Option<u32> = g.parse().ok();
            match (groups.iter().find(|e| e.name == g), numeric) {
                (_, Some(gid)) => out.gid = gid,
                (Some(e), None) => out.gid = e.gid,
                (None, None) => {
                    return Err(SpecError::User(format!(
                        "unable to find group {g}: no matching entries in group file"
                    )))
                }
            }
        }
        _ => {
            // Supplementary groups only make sense in the implicit form (runc).
            if let Some(n) = &name {
                out.sgids = groups
                    .iter()
                    .filter(|g| g.members.iter().any(|m| m == n))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    // Docker's processes always carry their primary group among the supplementary ones
    // (`id` shows `groups=65534(nogroup)` for nobody, `groups=5678` for `-u 1234:5678`).
    if !out.sgids.contains(&out.gid) {
        out.sgids.insert(0, out.gid);
    }
    Ok(out)
}

/// Resolves Docker's `--user` value to (uid, gid, additional gids).
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<(u32, u32, Vec<u32>), SpecError> {
    let u = resolve_exec_user(rootfs, user)?;
    Ok((u.uid, u.gid, u.sgids))
}

/// Resolves `--group-add` entries (names from /etc/group, or numbers).
pub fn resolve_groups(rootfs: &Path, names: &[String]) -> Result<Vec<u32>, SpecError> {
    let groups = read_db(rootfs, "/etc/group")
        .map(|s| parse_group(&s))
        .unwrap_or_default();
    names
        .iter()
        .map(|g| {
            if let Ok(n) = g.parse::<u32>() {
                return Ok(n);
            }
            groups
                .iter()
                .find(|e| &e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| {
                    SpecError::User(format!(
                        "Unable to find group {g}: no matching entries in group file"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nnobody:x:65534:65534::/home:/bin/false\n",
        )
        .unwrap();
        fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwheel:x:10:root,www\nwww:x:33:\nstaff:x:50:www\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn names_numbers_groups() {
        let d = rootfs();
        let r = d.path();
        assert_eq!(resolve_user(r, "").unwrap(), (0, 0, vec![0, 10]));
        assert_eq!(resolve_user(r, "www").unwrap(), (33, 33, vec![33, 10, 50]));
        assert_eq!(resolve_user(r, "33").unwrap(), (33, 33, vec![33, 10, 50]));
        assert_eq!(resolve_user(r, "www:staff").unwrap(), (33, 50, vec![50]));
        assert_eq!(resolve_user(r, "1234").unwrap(), (1234, 0, vec![0]));
        assert_eq!(resolve_user(r, "1234:99").unwrap(), (1234, 99, vec![99]));
        assert_eq!(resolve_exec_user(r, "www").unwrap().home, "/var/www");
        assert_eq!(resolve_exec_user(r, "1234").unwrap().home, "/");
        let e = resolve_user(r, "foo").unwrap_err().to_string();
        assert!(
            e.contains("unable to find user foo: no matching entries in passwd file"),
            "{e}"
        );
        let e = resolve_user(r, "www:nogroup").unwrap_err().to_string();
        assert!(
            e.contains("unable to find group nogroup: no matching entries in group file"),
            "{e}"
        );
        assert_eq!(
            resolve_groups(r, &["staff".into(), "7".into()]).unwrap(),
            vec![50, 7]
        );
    }

    #[test]
    fn no_passwd_file() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(resolve_user(d.path(), "").unwrap(), (0, 0, vec![0]));
        assert_eq!(resolve_user(d.path(), "5:6").unwrap(), (5, 6, vec![6]));
        assert!(resolve_user(d.path(), "foo").is_err());
    }
}

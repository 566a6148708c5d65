//! `X-Docker-Container-Path-Stat`: the stat of a path inside a container that the archive
//! endpoints send, as base64 (standard alphabet, padded) of a JSON object whose `mode` is
//! Go's `os.FileMode` (permission bits plus type bits in the high bits).

use serde::{Deserialize, Serialize};

pub const HEADER: &str = "X-Docker-Container-Path-Stat";

// Go's os.FileMode type bits.
pub const MODE_DIR: u32 = 1 << 31;
pub const MODE_SYMLINK: u32 = 1 << 27;
pub const MODE_DEVICE: u32 = 1 << 26;
pub const MODE_NAMED_PIPE: u32 = 1 << 25;
pub const MODE_SOCKET: u32 = 1 << 24;
pub const MODE_SETUID: u32 = 1 << 23;
pub const MODE_SETGID: u32 = 1 << 22;
pub const MODE_CHAR_DEVICE: u32 = 1 << 21;
pub const MODE_STICKY: u32 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    pub mode: u32,
    /// RFC 3339 with nanoseconds, as Go marshals a time.Time.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & MODE_SYMLINK != 0
    }

    /// The header value.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64_encode(&json)
    }

    pub fn decode(value: &str) -> Option<PathStat> {
        let raw = base64_decode(value.trim())?;
        serde_json::from_slice(&raw).ok()
    }
}

/// Go's FileMode from a unix `st_mode`.
pub fn go_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    match st_mode & 0o170000 {
        0o040000 => m |= MODE_DIR,
        0o120000 => m |= MODE_SYMLINK,
        0o020000 => m |= MODE_DEVICE | MODE_CHAR_DEVICE,
        0o060000 => m |= MODE_DEVICE,
        0o010000 => m |= MODE_NAMED_PIPE,
        0o140000 => m |= MODE_SOCKET,
        _ => {}
    }
    if st_mode & 0o4000 != 0 {
        m |= MODE_SETUID;
    }
    if st_mode & 0o2000 != 0 {
        m |= MODE_SETGID;
    }
    if st_mode & 0o1000 != 0 {
        m |= MODE_STICKY;
    }
    m
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_docker_header() {
        for s in ["", "a", "ab", "abc", "abcd", "hello world"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"ab"), "YWI=");
        // A real dockerd's header for a symlink /d/link -> /d/a.txt.
        let st = PathStat::decode("eyJuYW1lIjoibGluayIsInNpemUiOjgsIm1vZGUiOjEzNDIxODIzOSwibXRpbWUiOiIyMDI2LTEyLTAxVDA3OjUyOjE2LjAyNDk2NTAxN1oiLCJsaW5rVGFyZ2V0IjoiL2QvYS50eHQifQ==").unwrap();
        assert_eq!(st.name, "link");
        assert_eq!(st.mode, go_mode(0o120777));
        assert!(st.is_symlink());
        assert_eq!(st.link_target, "/d/a.txt");
        assert_eq!(go_mode(0o040755), 2147484141);
    }
}

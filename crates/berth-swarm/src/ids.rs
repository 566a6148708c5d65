//! Identifiers and keys in swarmkit's formats: 25-character base-36 object ids, join
//! tokens `SWMTKN-1-<digest>-<secret>` and unlock keys `SWMKEY-1-<base64>`.

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // SystemRandom only fails when the kernel's getrandom does: nothing to recover.
    let _ = SystemRandom::new().fill(&mut b);
    b
}

pub(crate) fn base36(mut n: u128, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// swarmkit's `identity.NewID`: 128 random bits in base 36, zero-padded to 25 characters.
pub fn new_id() -> String {
    base36(u128::from_be_bytes(random_bytes::<16>()), 25)
}

/// A join token: `SWMTKN-1-` + the CA digest (50 base-36 characters) + `-` + a random
/// secret (25 characters), as swarmkit's `ca.GenerateJoinToken`.
pub fn join_token(ca_digest: &[u8; 32]) -> String {
    let hi = u128::from_be_bytes(ca_digest[..16].try_into().unwrap_or([0; 16]));
    let lo = u128::from_be_bytes(ca_digest[16..].try_into().unwrap_or([0; 16]));
    // Two halves of 25 characters each: the same length as swarmkit's 50.
    let digest = format!("{}{}", base36(hi, 25), base36(lo, 25));
    let digest: String = digest
        .chars()
        .rev()
        .take(50)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("SWMTKN-1-{digest}-{}", new_id())
}

/// A human-readable unlock key for a 32-byte key encryption key.
pub fn unlock_key(kek: &[u8; 32]) -> String {
    format!(
        "SWMKEY-1-{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(kek)
    )
}

/// Parses an unlock key back into the key encryption key.
pub fn parse_unlock_key(s: &str) -> Option<[u8; 32]> {
    let b64 = s.trim().strip_prefix("SWMKEY-1-")?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64.trim_end_matches('='))
        .ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_25_base36_characters() {
        let id = new_id();
        assert_eq!(id.len(), 25);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(id, new_id());
    }

    #[test]
    fn tokens_and_keys_have_swarmkits_shape() {
        let t = join_token(&[7u8; 32]);
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(parts.len(), 4, "{t}");
        assert_eq!((parts[0], parts[1]), ("SWMTKN", "1"));
        assert_eq!(parts[2].len(), 50);
        assert_eq!(parts[3].len(), 25);
        let k = random_bytes::<32>();
        let s = unlock_key(&k);
        assert!(s.starts_with("SWMKEY-1-"));
        assert_eq!(parse_unlock_key(&s), Some(k));
        assert_eq!(parse_unlock_key("SWMKEY-1-abc"), None);
        assert_eq!(parse_unlock_key("nonsense"), None);
    }
}

//! Encryption at rest: every raft log record and snapshot is sealed with the data
//! encryption key (DEK, ChaCha20-Poly1305, random nonce per record), as swarmkit encrypts
//! its raft log. The DEK is stored beside the log in the clear, or sealed with the key
//! encryption key (the unlock key) when the swarm is autolocked.

use crate::ids::random_bytes;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};

#[derive(Clone)]
pub struct Key {
    raw: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt: wrong key or damaged data")]
pub struct OpenError;

impl Key {
    pub fn new(raw: [u8; 32]) -> Key {
        Key { raw }
    }
    pub fn generate() -> Key {
        Key::new(random_bytes::<32>())
    }
    pub fn raw(&self) -> &[u8; 32] {
        &self.raw
    }

    fn aead(&self) -> LessSafeKey {
        // The key is 32 bytes: the length CHACHA20_POLY1305 takes, so this cannot fail.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &self.raw)
            .unwrap_or_else(|_| unreachable!("32-byte key"));
        LessSafeKey::new(unbound)
    }

    /// nonce || ciphertext || tag
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plain.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        // Sealing only fails for inputs over ~256 GiB.
        let _ = self
            .aead()
            .seal_in_place_append_tag(nonce, Aad::empty(), &mut buf);
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (n, c) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| OpenError)?;
        let mut buf = c.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_key() {
        let k = Key::generate();
        let s = k.seal(b"top secret");
        assert!(!s.windows(10).any(|w| w == b"top secret"));
        assert_eq!(k.open(&s).unwrap(), b"top secret");
        assert!(Key::generate().open(&s).is_err());
        assert!(k.open(&s[..5]).is_err());
    }
}

//! Encryption at rest for answers, their history and the tallies (AES-256-GCM).
//!
//! The rules a reader must keep:
//! - Every ciphertext is stored with the id of the key that made it, so keys rotate: the
//!   current key seals, previous keys still open until `declare admin rotate-key` has
//!   re-sealed everything under the current one.
//! - Every seal binds a *context* (associated data naming the row, e.g. the employee id and
//!   the table) so a ciphertext copied into another person's row fails to open rather than
//!   moving an answer between people.
//! - A fresh random 96-bit nonce per seal; the layout is `nonce || ciphertext+tag`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

use crate::config::KeyedSecret;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("encryption key `{0}` is not 32 bytes")]
    BadKey(String),
    #[error("no key with id `{0}` is configured")]
    UnknownKey(String),
    #[error("the ciphertext does not open with its key and context")]
    Tampered,
}

/// Ciphertext plus the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub blob: Vec<u8>,
}

pub struct Sealer {
    current_id: String,
    keys: Vec<(String, Aes256Gcm)>,
}

impl Sealer {
    pub fn new(current: &KeyedSecret, previous: &[KeyedSecret]) -> Result<Self, CryptoError> {
        let cipher = |k: &KeyedSecret| {
            Aes256Gcm::new_from_slice(&k.bytes()).map_err(|_| CryptoError::BadKey(k.id.clone()))
        };
        let mut keys = vec![(current.id.clone(), cipher(current)?)];
        for key in previous {
            keys.push((key.id.clone(), cipher(key)?));
        }
        Ok(Sealer {
            current_id: current.id.clone(),
            keys,
        })
    }

    pub fn current_key_id(&self) -> &str {
        &self.current_id
    }

    fn cipher(&self, key_id: &str) -> Result<&Aes256Gcm, CryptoError> {
        self.keys
            .iter()
            .find(|(id, _)| id == key_id)
            .map(|(_, c)| c)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))
    }

    /// Seals `plaintext` under the current key, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher(&self.current_id)?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(Sealed {
            key_id: self.current_id.clone(),
            blob,
        })
    }

    /// Opens a ciphertext made by any configured key, checking it belongs to `context`.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.blob.len() < NONCE_LEN {
            return Err(CryptoError::Tampered);
        }
        let (nonce, body) = sealed.blob.split_at(NONCE_LEN);
        self.cipher(&sealed.key_id)?
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }

    /// True when `sealed` was made by an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::random_secret;

    fn key(id: &str) -> KeyedSecret {
        KeyedSecret {
            id: id.into(),
            secret: random_secret(32),
        }
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let sealer = Sealer::new(&key("k1"), &[]).unwrap();
        let a = sealer
            .seal(b"disability=yes", b"declaration:emp-1")
            .unwrap();
        let b = sealer
            .seal(b"disability=yes", b"declaration:emp-1")
            .unwrap();
        assert_ne!(
            a.blob, b.blob,
            "the same answer never makes the same ciphertext"
        );
        assert_eq!(
            sealer.open(&a, b"declaration:emp-1").unwrap(),
            b"disability=yes"
        );
        assert!(!a.blob.windows(3).any(|w| w == b"yes"));
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let sealer = Sealer::new(&key("k1"), &[]).unwrap();
        let sealed = sealer.seal(b"answer", b"declaration:emp-1").unwrap();
        assert_eq!(
            sealer.open(&sealed, b"declaration:emp-2"),
            Err(CryptoError::Tampered)
        );
        let mut flipped = sealed.clone();
        let last = flipped.blob.len() - 1;
        flipped.blob[last] ^= 1;
        assert_eq!(
            sealer.open(&flipped, b"declaration:emp-1"),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn rotation_reads_old_and_writes_new() {
        let old = key("k1");
        let before = Sealer::new(&old, &[]).unwrap();
        let sealed = before.seal(b"answer", b"ctx").unwrap();
        let after = Sealer::new(&key("k2"), std::slice::from_ref(&old)).unwrap();
        assert!(after.needs_reseal(&sealed));
        assert_eq!(after.open(&sealed, b"ctx").unwrap(), b"answer");
        assert_eq!(after.seal(b"answer", b"ctx").unwrap().key_id, "k2");
        let forgotten = Sealer::new(&key("k2"), &[]).unwrap();
        assert_eq!(
            forgotten.open(&sealed, b"ctx"),
            Err(CryptoError::UnknownKey("k1".into()))
        );
    }
}

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
//! - Every plaintext is padded to a size class first ([`padding`]), so lengths reveal nothing.
//!   Rows sealed before padding existed still open: the padded format is bound into the
//!   associated data, so the tag says which format a ciphertext is.
//! - A person's answers and history are sealed under a [`DataKey`] of their own, itself sealed
//!   by the service key; destroying that one small row makes every copy of their ciphertexts
//!   (WAL, free pages, dead tuples, backups) unreadable (decision 0019).

pub mod padding;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

use crate::config::KeyedSecret;

const NONCE_LEN: usize = 12;

/// The `key_id` stored beside a ciphertext sealed under its owner's [`DataKey`]. Never a
/// service key's id: [`Sealer::new`] refuses it.
pub const PERSON_KEY_ID: &str = "person";

/// Associated-data prefix of a padded (format 1) seal; see [`padding`].
const PADDED_V1: &[u8] = b"declare/padded/1|";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("encryption key `{0}` is not 32 bytes")]
    BadKey(String),
    #[error("no key with id `{0}` is configured")]
    UnknownKey(String),
    #[error("the ciphertext does not open with its key and context")]
    Tampered,
    #[error("key id `{0}` is reserved for per-person keys")]
    ReservedKeyId(String),
    #[error("the plaintext is too large to seal")]
    TooLarge,
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
        if let Some(key) = std::iter::once(current)
            .chain(previous)
            .find(|k| k.id == PERSON_KEY_ID)
        {
            return Err(CryptoError::ReservedKeyId(key.id.clone()));
        }
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

    /// Seals `plaintext` under the current key, bound to `context`, padded to the coarse
    /// ladder.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, CryptoError> {
        Ok(Sealed {
            key_id: self.current_id.clone(),
            blob: seal_padded(
                self.cipher(&self.current_id)?,
                plaintext,
                context,
                padding::Class::Coarse,
            )?,
        })
    }

    /// Opens a ciphertext made by any configured key, checking it belongs to `context`.
    /// Rows sealed before padding existed open too.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.cipher(&sealed.key_id)?;
        match open_padded(cipher, &sealed.blob, context) {
            Err(CryptoError::Tampered) => open_raw(cipher, &sealed.blob, context),
            other => other,
        }
    }

    /// A new random data key for one person, and that key sealed under the current service
    /// key bound to `context` (which names the person and their organisation).
    pub fn new_data_key(&self, context: &[u8]) -> Result<(DataKey, Sealed), CryptoError> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let key = DataKey::from_bytes(&bytes)?;
        let sealed = self.seal(&bytes, context)?;
        bytes.fill(0);
        Ok((key, sealed))
    }

    /// Opens a person's data key sealed by [`Sealer::new_data_key`].
    pub fn open_data_key(&self, sealed: &Sealed, context: &[u8]) -> Result<DataKey, CryptoError> {
        let mut bytes = self.open(sealed, context)?;
        let key = DataKey::from_bytes(&bytes);
        bytes.fill(0);
        key
    }

    /// True when `sealed` was made by an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current_id
    }
}

/// One person's own key: their answers and history are sealed under it, padded to the
/// declaration class. Held only opened from its sealed row, for one transaction.
pub struct DataKey {
    cipher: Aes256Gcm,
}

impl DataKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        Ok(DataKey {
            cipher: Aes256Gcm::new_from_slice(bytes)
                .map_err(|_| CryptoError::BadKey(PERSON_KEY_ID.into()))?,
        })
    }

    /// Seals one of the person's declarations (or history rows), bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, CryptoError> {
        Ok(Sealed {
            key_id: PERSON_KEY_ID.to_owned(),
            blob: seal_padded(
                &self.cipher,
                plaintext,
                context,
                padding::Class::Declaration,
            )?,
        })
    }

    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.key_id != PERSON_KEY_ID {
            return Err(CryptoError::UnknownKey(sealed.key_id.clone()));
        }
        open_padded(&self.cipher, &sealed.blob, context)
    }
}

fn padded_aad(context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(PADDED_V1.len() + context.len());
    aad.extend_from_slice(PADDED_V1);
    aad.extend_from_slice(context);
    aad
}

fn seal_padded(
    cipher: &Aes256Gcm,
    plaintext: &[u8],
    context: &[u8],
    class: padding::Class,
) -> Result<Vec<u8>, CryptoError> {
    let framed = padding::frame(plaintext, class)?;
    seal_raw(cipher, &framed, &padded_aad(context))
}

fn open_padded(cipher: &Aes256Gcm, blob: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
    padding::unframe(open_raw(cipher, blob, &padded_aad(context))?)
}

fn seal_raw(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Tampered)?;
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(blob)
}

fn open_raw(cipher: &Aes256Gcm, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if blob.len() < NONCE_LEN {
        return Err(CryptoError::Tampered);
    }
    let (nonce, body) = blob.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| CryptoError::Tampered)
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

    /// A row sealed before padding existed: the old layout, the context as associated data.
    fn legacy_seal(key: &KeyedSecret, plain: &[u8], context: &[u8]) -> Sealed {
        let cipher = Aes256Gcm::new_from_slice(&key.bytes()).unwrap();
        Sealed {
            key_id: key.id.clone(),
            blob: seal_raw(&cipher, plain, context).unwrap(),
        }
    }

    #[test]
    fn lengths_reveal_nothing_and_old_rows_still_open() {
        let k1 = key("k1");
        let sealer = Sealer::new(&k1, &[]).unwrap();
        let short = sealer.seal(b"{\"a\":1}", b"ctx").unwrap();
        let long = sealer.seal(&[b'x'; 200], b"ctx").unwrap();
        assert_eq!(short.blob.len(), long.blob.len());
        assert_eq!(short.blob.len(), NONCE_LEN + padding::COARSE_MIN + 16);
        let old = legacy_seal(&k1, b"unpadded answer", b"ctx");
        assert_eq!(old.blob.len(), NONCE_LEN + 15 + 16);
        assert_eq!(sealer.open(&old, b"ctx").unwrap(), b"unpadded answer");
        assert_eq!(sealer.open(&old, b"other"), Err(CryptoError::Tampered));
        // A legacy row whose plaintext happens to look like a frame is still read as legacy.
        let lookalike = padding::frame(b"inner", padding::Class::Coarse).unwrap();
        let old = legacy_seal(&k1, &lookalike, b"ctx");
        assert_eq!(sealer.open(&old, b"ctx").unwrap(), lookalike);
    }

    #[test]
    fn person_keys_seal_in_the_declaration_class_and_only_they_open() {
        let sealer = Sealer::new(&key("k1"), &[]).unwrap();
        let (data_key, sealed_key) = sealer.new_data_key(b"person-key:o:e").unwrap();
        assert_eq!(sealed_key.key_id, "k1");
        let answer = data_key.seal(b"{}", b"declaration:e").unwrap();
        assert_eq!(answer.key_id, PERSON_KEY_ID);
        assert_eq!(
            answer.blob.len(),
            NONCE_LEN + padding::DECLARATION_CLASS + 16
        );
        let reopened = sealer
            .open_data_key(&sealed_key, b"person-key:o:e")
            .unwrap();
        assert_eq!(reopened.open(&answer, b"declaration:e").unwrap(), b"{}");
        assert!(sealer
            .open_data_key(&sealed_key, b"person-key:o:f")
            .is_err());
        let (other, _) = sealer.new_data_key(b"person-key:o:e").unwrap();
        assert_eq!(
            other.open(&answer, b"declaration:e"),
            Err(CryptoError::Tampered)
        );
        // The service key alone never opens a person's answers.
        let as_service = Sealed {
            key_id: "k1".into(),
            blob: answer.blob.clone(),
        };
        assert!(sealer.open(&as_service, b"declaration:e").is_err());
    }

    #[test]
    fn the_person_key_id_is_reserved() {
        assert_eq!(
            Sealer::new(&key(PERSON_KEY_ID), &[]).err(),
            Some(CryptoError::ReservedKeyId(PERSON_KEY_ID.into()))
        );
    }
}

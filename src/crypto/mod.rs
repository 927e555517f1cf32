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
//!   (WAL, free pages, dead tuples) unreadable (decision 0019).
//! - Inside the service seal, a person key is sealed again under a leaf key of the
//!   [`key_tree`], whose cover lives outside the database; erasure punctures the leaf, so a
//!   backup's copy of the sealed person key no longer opens either (decision 0027).

pub mod key_tree;
pub mod padding;

use std::sync::Arc;

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
    /// The person's leaf was punctured: they were erased, and their key with them.
    #[error("the person's key was erased")]
    Erased,
    #[error("the key store: {0}")]
    KeyStore(String),
}

/// Where leaf keys come from: the key tree's cover, held outside the database
/// (`services::key_tree`). A trait so the crypto stays free of I/O.
pub trait LeafKeys: Send + Sync {
    /// A leaf number never handed out before.
    fn allocate(&self) -> Result<u64, CryptoError>;
    /// The key of `leaf`, or `None` once it has been punctured.
    fn leaf_key(&self, leaf: u64) -> Result<Option<key_tree::NodeKey>, CryptoError>;
    /// Punctures these leaves for good.
    fn puncture(&self, leaves: &[u64]) -> Result<(), CryptoError>;
}

/// Prefix of a person key's plaintext under the service key when it is also sealed under a
/// leaf key: `DKL1 || nonce || ciphertext+tag`. Without it, the plaintext is the bare key
/// (rows from before the key tree; rotation moves them under a leaf).
const LEAF_SEALED: &[u8] = b"DKL1";

/// A person's new data key: the key, its sealed form, and the leaf it is sealed under.
pub struct NewDataKey {
    pub key: DataKey,
    pub sealed: Sealed,
    pub leaf: Option<i64>,
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
    leaves: Option<Arc<dyn LeafKeys>>,
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
            leaves: None,
        })
    }

    /// Seals new person keys under leaves of this key tree too, and opens those sealed so.
    /// Every sealer the service and its commands use has one (`services::key_tree`); one
    /// without makes person keys only the service key protects (benchmarks' bulk loaders).
    pub fn with_leaf_keys(mut self, leaves: Arc<dyn LeafKeys>) -> Self {
        self.leaves = Some(leaves);
        self
    }

    /// The key tree, when this sealer has one.
    pub fn leaf_keys(&self) -> Option<&Arc<dyn LeafKeys>> {
        self.leaves.as_ref()
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

    /// A new random data key for one person, sealed under a fresh leaf of the key tree (when
    /// the sealer has one) and then under the current service key, both bound to `context`
    /// (which names the person and their organisation).
    pub fn new_data_key(&self, context: &[u8]) -> Result<NewDataKey, CryptoError> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let key = DataKey::from_bytes(&bytes)?;
        let sealed = self.seal_data_key(&bytes, context);
        bytes.fill(0);
        let (sealed, leaf) = sealed?;
        Ok(NewDataKey { key, sealed, leaf })
    }

    fn seal_data_key(
        &self,
        bytes: &[u8; 32],
        context: &[u8],
    ) -> Result<(Sealed, Option<i64>), CryptoError> {
        let Some(leaves) = &self.leaves else {
            return Ok((self.seal(bytes, context)?, None));
        };
        let leaf = leaves.allocate()?;
        let leaf_key = leaves.leaf_key(leaf)?.ok_or(CryptoError::Erased)?;
        let cipher = Aes256Gcm::new_from_slice(&leaf_key)
            .map_err(|_| CryptoError::BadKey(PERSON_KEY_ID.into()))?;
        let mut inner = LEAF_SEALED.to_vec();
        inner.extend(seal_raw(&cipher, bytes, &leaf_aad(context, leaf))?);
        let stored = i64::try_from(leaf).map_err(|_| CryptoError::KeyStore("leaf".into()))?;
        Ok((self.seal(&inner, context)?, Some(stored)))
    }

    /// Opens a person's data key sealed by [`Sealer::new_data_key`]; `leaf` is the one stored
    /// beside it. [`CryptoError::Erased`] when that leaf has been punctured.
    pub fn open_data_key(
        &self,
        sealed: &Sealed,
        context: &[u8],
        leaf: Option<i64>,
    ) -> Result<DataKey, CryptoError> {
        let mut bytes = self.open_data_key_bytes(sealed, context, leaf)?;
        let key = DataKey::from_bytes(&bytes);
        bytes.fill(0);
        key
    }

    fn open_data_key_bytes(
        &self,
        sealed: &Sealed,
        context: &[u8],
        leaf: Option<i64>,
    ) -> Result<Vec<u8>, CryptoError> {
        let outer = self.open(sealed, context)?;
        let Some(leaf) = leaf else {
            // A key from before the tree is the bare key; a leaf-sealed one (64 bytes) whose
            // leaf number went missing must not pass for one.
            return match outer.len() {
                32 => Ok(outer),
                _ => Err(CryptoError::Tampered),
            };
        };
        let leaf = u64::try_from(leaf).map_err(|_| CryptoError::Tampered)?;
        let inner = outer
            .strip_prefix(LEAF_SEALED)
            .ok_or(CryptoError::Tampered)?;
        let leaves = self
            .leaves
            .as_ref()
            .ok_or_else(|| CryptoError::KeyStore("this sealer has no key tree".into()))?;
        let leaf_key = leaves.leaf_key(leaf)?.ok_or(CryptoError::Erased)?;
        let cipher = Aes256Gcm::new_from_slice(&leaf_key)
            .map_err(|_| CryptoError::BadKey(PERSON_KEY_ID.into()))?;
        open_raw(&cipher, inner, &leaf_aad(context, leaf))
    }

    /// Whether `candidate`, taken as the key of `leaf`, opens this sealed person key: what an
    /// attacker holding the service keys and the key store would try with every node key
    /// (tests and audits use it to show an erased key opens with nothing held).
    pub fn opens_with_leaf_key(
        &self,
        sealed: &Sealed,
        context: &[u8],
        leaf: u64,
        candidate: &key_tree::NodeKey,
    ) -> bool {
        let Ok(outer) = self.open(sealed, context) else {
            return false;
        };
        let Some(inner) = outer.strip_prefix(LEAF_SEALED) else {
            return false;
        };
        Aes256Gcm::new_from_slice(candidate)
            .map(|cipher| open_raw(&cipher, inner, &leaf_aad(context, leaf)).is_ok())
            .unwrap_or(false)
    }

    /// A person key sealed under the service key alone (from before the key tree), sealed
    /// again under a fresh leaf: the same key, so nothing sealed under it changes. `None` when
    /// it already has a leaf or this sealer has no tree.
    pub fn move_data_key_to_leaf(
        &self,
        sealed: &Sealed,
        context: &[u8],
        leaf: Option<i64>,
    ) -> Result<Option<(Sealed, i64)>, CryptoError> {
        if leaf.is_some() || self.leaves.is_none() {
            return Ok(None);
        }
        let plain = self.open_data_key_bytes(sealed, context, None)?;
        let mut bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadKey(PERSON_KEY_ID.into()))?;
        let moved = self.seal_data_key(&bytes, context);
        bytes.fill(0);
        match moved? {
            (sealed, Some(leaf)) => Ok(Some((sealed, leaf))),
            (_, None) => Ok(None),
        }
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

/// A leaf-sealed person key is bound to its context and its leaf number, so a sealed key
/// moved to another row, or a leaf number edited, fails to open.
fn leaf_aad(context: &[u8], leaf: u64) -> Vec<u8> {
    let mut aad = b"declare/leaf/1|".to_vec();
    aad.extend_from_slice(&leaf.to_be_bytes());
    aad.extend_from_slice(context);
    aad
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
        let made = sealer.new_data_key(b"person-key:o:e").unwrap();
        assert_eq!(made.sealed.key_id, "k1");
        assert_eq!(made.leaf, None);
        let answer = made.key.seal(b"{}", b"declaration:e").unwrap();
        assert_eq!(answer.key_id, PERSON_KEY_ID);
        assert_eq!(
            answer.blob.len(),
            NONCE_LEN + padding::DECLARATION_CLASS + 16
        );
        let reopened = sealer
            .open_data_key(&made.sealed, b"person-key:o:e", None)
            .unwrap();
        assert_eq!(reopened.open(&answer, b"declaration:e").unwrap(), b"{}");
        assert!(sealer
            .open_data_key(&made.sealed, b"person-key:o:f", None)
            .is_err());
        let other = sealer.new_data_key(b"person-key:o:e").unwrap().key;
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

    /// A key tree held in memory, as `services::key_tree` holds the stored one.
    #[derive(Default)]
    struct MemoryTree {
        cover: std::sync::Mutex<std::collections::HashMap<key_tree::Node, key_tree::NodeKey>>,
        next: std::sync::atomic::AtomicU64,
    }

    impl MemoryTree {
        fn new() -> Arc<Self> {
            let tree = MemoryTree::default();
            tree.cover
                .lock()
                .unwrap()
                .insert(key_tree::Node::ROOT, [9u8; 32]);
            Arc::new(tree)
        }
    }

    impl LeafKeys for MemoryTree {
        fn allocate(&self) -> Result<u64, CryptoError> {
            Ok(self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        }
        fn leaf_key(&self, leaf: u64) -> Result<Option<key_tree::NodeKey>, CryptoError> {
            let cover = self.cover.lock().unwrap();
            Ok(key_tree::path(leaf)
                .find_map(|n| cover.get(&n).and_then(|k| key_tree::derive(n, k, leaf))))
        }
        fn puncture(&self, leaves: &[u64]) -> Result<(), CryptoError> {
            let mut cover = self.cover.lock().unwrap();
            for &leaf in leaves {
                if let Some(node) = key_tree::path(leaf).find(|n| cover.contains_key(n)) {
                    let k = cover.remove(&node).unwrap();
                    cover.extend(key_tree::puncture(node, &k, leaf).unwrap());
                }
            }
            Ok(())
        }
    }

    #[test]
    fn a_punctured_leaf_closes_every_copy_of_the_sealed_key_the_service_key_still_opens() {
        let tree = MemoryTree::new();
        let sealer = Sealer::new(&key("k1"), &[])
            .unwrap()
            .with_leaf_keys(tree.clone());
        let gone = sealer.new_data_key(b"person-key:o:gone").unwrap();
        let kept = sealer.new_data_key(b"person-key:o:kept").unwrap();
        assert_eq!((gone.leaf, kept.leaf), (Some(0), Some(1)));
        let answer = gone.key.seal(b"{}", b"declaration:gone").unwrap();
        // The copy a backup holds: the sealed key and its leaf.
        let backup = (gone.sealed.clone(), gone.leaf);
        let opened = sealer
            .open_data_key(&backup.0, b"person-key:o:gone", backup.1)
            .unwrap();
        assert_eq!(opened.open(&answer, b"declaration:gone").unwrap(), b"{}");
        // The leaf number is bound in: another leaf, or none, does not open it.
        assert!(sealer
            .open_data_key(&backup.0, b"person-key:o:gone", Some(1))
            .is_err());
        assert!(sealer
            .open_data_key(&backup.0, b"person-key:o:gone", None)
            .is_err());

        tree.puncture(&[0]).unwrap();
        assert_eq!(
            sealer
                .open_data_key(&backup.0, b"person-key:o:gone", backup.1)
                .err(),
            Some(CryptoError::Erased)
        );
        // The service key opens the outer layer, but all it holds is the leaf-sealed key.
        let outer = sealer.open(&backup.0, b"person-key:o:gone").unwrap();
        assert!(outer.starts_with(LEAF_SEALED) && outer.len() == 64);
        // Everyone else still opens, from the same rows a backup would restore.
        assert!(sealer
            .open_data_key(&kept.sealed, b"person-key:o:kept", kept.leaf)
            .is_ok());
    }

    #[test]
    fn a_key_from_before_the_tree_moves_under_a_leaf_unchanged() {
        let k1 = key("k1");
        let legacy = Sealer::new(&k1, &[]).unwrap().new_data_key(b"ctx").unwrap();
        let answer = legacy.key.seal(b"{\"a\":1}", b"declaration:e").unwrap();
        let sealer = Sealer::new(&k1, &[])
            .unwrap()
            .with_leaf_keys(MemoryTree::new());
        let (moved, leaf) = sealer
            .move_data_key_to_leaf(&legacy.sealed, b"ctx", None)
            .unwrap()
            .unwrap();
        let key = sealer.open_data_key(&moved, b"ctx", Some(leaf)).unwrap();
        assert_eq!(key.open(&answer, b"declaration:e").unwrap(), b"{\"a\":1}");
        assert!(sealer
            .move_data_key_to_leaf(&moved, b"ctx", Some(leaf))
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_person_key_id_is_reserved() {
        assert_eq!(
            Sealer::new(&key(PERSON_KEY_ID), &[]).err(),
            Some(CryptoError::ReservedKeyId(PERSON_KEY_ID.into()))
        );
    }
}

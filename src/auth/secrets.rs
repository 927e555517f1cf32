//! Random key material for configuration, and decoding it back.
//!
//! Everything is base64url without padding (RFC 4648 section 5); decoding also accepts
//! standard base64 with or without padding, so keys made with `openssl rand -base64 32`
//! work too.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use subtle::ConstantTimeEq;

/// Bytes in a generated HS256 secret: the SHA-256 block size (RFC 7518 asks for at
/// least 32).
pub const HS256_SECRET_LEN: usize = 64;
/// Shortest HS256 secret a key ring accepts.
pub const HS256_MIN_SECRET_LEN: usize = 32;
/// Bytes in an AEAD key (AES-256-GCM).
pub const AEAD_KEY_LEN: usize = 32;

/// `len` bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> SecretSlice<u8> {
    let mut bytes = vec![0u8; len];
    OsRng.fill_bytes(&mut bytes);
    SecretSlice::from(bytes)
}

/// `len` random bytes as base64url without padding.
pub fn random_b64(len: usize) -> SecretString {
    SecretString::from(URL_SAFE_NO_PAD.encode(random_bytes(len).expose_secret()))
}

/// A fresh HS256 secret for configuration (64 random bytes, base64url).
pub fn generate_hs256_secret() -> SecretString {
    random_b64(HS256_SECRET_LEN)
}

/// A fresh AEAD key for configuration (32 random bytes, base64url).
pub fn generate_aead_key() -> SecretString {
    random_b64(AEAD_KEY_LEN)
}

/// Decodes configured key material in any common base64 alphabet.
pub fn decode_b64(value: &SecretString) -> Option<SecretSlice<u8>> {
    let s = value.expose_secret().trim();
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .into_iter()
        .find_map(|engine| engine.decode(s).ok())
        .map(SecretSlice::from)
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_decode_to_their_length_and_differ() {
        let a = generate_hs256_secret();
        let b = generate_hs256_secret();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(
            decode_b64(&a).unwrap().expose_secret().len(),
            HS256_SECRET_LEN
        );
        let k = generate_aead_key();
        assert_eq!(k.expose_secret().len(), 43); // 32 bytes, unpadded
        assert_eq!(decode_b64(&k).unwrap().expose_secret().len(), AEAD_KEY_LEN);
    }

    #[test]
    fn decoding_accepts_standard_base64_and_refuses_junk() {
        let std = SecretString::from(STANDARD.encode([0xfbu8; 32]));
        assert_eq!(decode_b64(&std).unwrap().expose_secret(), &[0xfbu8; 32][..]);
        assert!(decode_b64(&SecretString::from("not base64 !")).is_none());
    }

    #[test]
    fn constant_time_eq_compares_contents() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = generate_hs256_secret();
        assert!(!format!("{s:?}").contains(s.expose_secret()));
    }
}

//! Padding every sealed plaintext to a size class, so a ciphertext's length says nothing about
//! what it holds (issue 13: answers were read off the lengths of history rows).
//!
//! The frame (format 1): `0x01 || len (u32, big-endian) || plaintext || zeros`, its total
//! length a class size. The sealer binds the format into the AEAD's associated data as well,
//! so a frame is never mistaken for a legacy (unpadded) plaintext, nor the reverse: which of
//! the two a ciphertext is, the tag decides, not a guess about its content.
//!
//! Classes (decision 0019):
//! - [`Class::Declaration`]: [`DECLARATION_CLASS`] bytes, which every valid declaration of the
//!   national catalogue fits however it is answered (the unit test builds the largest one);
//!   a larger plaintext (an organisation's own, bigger catalogue) takes the coarse ladder.
//! - [`Class::Coarse`]: the next power of two from [`COARSE_MIN`] bytes (per-person keys,
//!   tallies, snapshots, anything new).

use super::CryptoError;

/// The frame's format byte; a new framing takes a new value (and a new associated-data tag).
pub const FORMAT_V1: u8 = 1;
const HEADER: usize = 5;

/// The smallest coarse bucket: a framed 32-byte key or a tally row fits it.
pub const COARSE_MIN: usize = 256;
/// Every declaration (and history row) framed to this size: the largest valid answer set of
/// the national catalogue is under 6.7 KiB even with every free text at its limit in
/// characters JSON escapes to six bytes each.
pub const DECLARATION_CLASS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Declarations and their history.
    Declaration,
    /// Everything else.
    Coarse,
}

/// The framed size of a `len`-byte plaintext in `class`.
pub fn padded_len(len: usize, class: Class) -> usize {
    let needed = len + HEADER;
    let floor = match class {
        Class::Declaration => DECLARATION_CLASS,
        Class::Coarse => COARSE_MIN,
    };
    if needed <= floor {
        floor
    } else {
        needed.next_power_of_two()
    }
}

/// Frames `plain` in `class`.
pub fn frame(plain: &[u8], class: Class) -> Result<Vec<u8>, CryptoError> {
    let len = u32::try_from(plain.len()).map_err(|_| CryptoError::TooLarge)?;
    let mut out = Vec::with_capacity(padded_len(plain.len(), class));
    out.push(FORMAT_V1);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(plain);
    out.resize(padded_len(plain.len(), class), 0);
    Ok(out)
}

/// The plaintext inside a frame. The frame was authenticated, so a malformed one is a fault
/// of the writer, reported as [`CryptoError::Tampered`] all the same.
pub fn unframe(mut framed: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    if framed.len() < HEADER || framed[0] != FORMAT_V1 {
        return Err(CryptoError::Tampered);
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&framed[1..HEADER]);
    let len = u32::from_be_bytes(len) as usize;
    if HEADER + len > framed.len() {
        return Err(CryptoError::Tampered);
    }
    framed.truncate(HEADER + len);
    framed.drain(..HEADER);
    Ok(framed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_ladder() {
        assert_eq!(padded_len(0, Class::Coarse), 256);
        assert_eq!(padded_len(251, Class::Coarse), 256);
        assert_eq!(padded_len(252, Class::Coarse), 512);
        assert_eq!(padded_len(3000, Class::Coarse), 4096);
        assert_eq!(padded_len(10, Class::Declaration), DECLARATION_CLASS);
        assert_eq!(
            padded_len(DECLARATION_CLASS - HEADER, Class::Declaration),
            DECLARATION_CLASS
        );
        assert_eq!(
            padded_len(DECLARATION_CLASS, Class::Declaration),
            2 * DECLARATION_CLASS
        );
    }

    #[test]
    fn frames_round_trip_including_trailing_zeros() {
        for plain in [&b""[..], b"{}", b"ends in zeros\0\0", &[7u8; 300][..]] {
            let framed = frame(plain, Class::Coarse).unwrap();
            assert_eq!(framed.len(), padded_len(plain.len(), Class::Coarse));
            assert_eq!(unframe(framed).unwrap(), plain);
        }
    }

    #[test]
    fn malformed_frames_are_refused() {
        assert_eq!(unframe(vec![]), Err(CryptoError::Tampered));
        assert_eq!(unframe(vec![2, 0, 0, 0, 0]), Err(CryptoError::Tampered));
        assert_eq!(unframe(vec![1, 0, 0, 0, 9, 1]), Err(CryptoError::Tampered));
    }
}

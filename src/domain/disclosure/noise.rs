//! Record keys, signatures and cell keys: the deterministic randomness of the perturbation.
//!
//! Everything here is a pure function of the organisation's secret, so every instance of the
//! service, every request and every snapshot gives the same noise for the same population.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The organisation's perturbation secret (32 random bytes, kept sealed by the store). Never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct NoiseSecret([u8; 32]);

impl NoiseSecret {
    pub fn new(bytes: [u8; 32]) -> Self {
        NoiseSecret(bytes)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        // A key of any length is accepted by HMAC; the error case cannot happen.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable_mac(),
        };
        mac.update(domain);
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") never collide.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

#[allow(clippy::panic)]
fn unreachable_mac() -> ! {
    panic!("HMAC accepts keys of any length")
}

impl std::fmt::Debug for NoiseSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoiseSecret(..)")
    }
}

/// A sum (mod 2^64) of people's contributions: what a tally cell, and a row, carries per
/// characteristic. Additive, so joining and leaving are `+` and `-`, and a row's signature is
/// the sum of its cells'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(pub u64);

impl Signature {
    #[must_use]
    pub fn plus(self, other: Signature) -> Signature {
        Signature(self.0.wrapping_add(other.0))
    }

    #[must_use]
    pub fn minus(self, other: Signature) -> Signature {
        Signature(self.0.wrapping_sub(other.0))
    }
}

/// What one person who answered `characteristic` with `group` adds to the signature of every
/// cell they are in. Keyed by the person's record key, `HMAC(secret, "record", person)`, so
/// nobody without the secret can tell whose contribution is whose.
pub fn contribution(
    secret: &NoiseSecret,
    person: &str,
    characteristic: &str,
    group: &str,
) -> Signature {
    RecordKey::of(secret, person).contribution(secret, characteristic, group)
}

/// A person's record key, `HMAC(secret, "record", person)`: derived once when one person's
/// contributions to several characteristics are needed (a declaration write).
pub struct RecordKey([u8; 32]);

impl RecordKey {
    pub fn of(secret: &NoiseSecret, person: &str) -> Self {
        RecordKey(secret.mac(b"declare/record-key/v1", &[person.as_bytes()]))
    }

    /// What the person adds to the signature of `characteristic` when answering `group`.
    pub fn contribution(
        &self,
        secret: &NoiseSecret,
        characteristic: &str,
        group: &str,
    ) -> Signature {
        let record_key = &self.0;
        let out = secret.mac(
            b"declare/contribution/v1",
            &[record_key, characteristic.as_bytes(), group.as_bytes()],
        );
        Signature(u64::from_be_bytes(first_eight(&out)))
    }
}

fn first_eight(bytes: &[u8; 32]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

/// The perturbation of one published cell: a two-sided geometric draw with standard deviation
/// `sd`, from the cell key `HMAC(secret, signature, headcount, characteristic, column)`.
pub(super) fn cell_noise(
    secret: &NoiseSecret,
    signature: Signature,
    headcount: u64,
    characteristic: &str,
    column: &str,
    sd: f64,
) -> i64 {
    if sd <= 0.0 {
        return 0;
    }
    let key = secret.mac(
        b"declare/cell-key/v1",
        &[
            &signature.0.to_be_bytes(),
            &headcount.to_be_bytes(),
            characteristic.as_bytes(),
            column.as_bytes(),
        ],
    );
    two_sided_geometric(
        alpha_for(sd),
        unit(&key[0..8]),
        unit(&key[8..16]),
        key[16] & 1 == 1,
    )
}

/// A uniform number in [0, 1) from 53 bits.
fn unit(bytes: &[u8]) -> f64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(bytes);
    (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// The α of a two-sided geometric distribution (`P(e) ∝ α^|e|`) whose variance
/// `2α / (1-α)²` is `sd²`.
pub(super) fn alpha_for(sd: f64) -> f64 {
    let v = sd * sd;
    ((v + 1.0) - (2.0 * v + 1.0).sqrt()) / v
}

/// Inverse-CDF draw. `zero_or_not` decides between 0 and a non-zero value, `magnitude` the
/// size (a geometric from 1), `negative` the sign. Only multiplications and comparisons, so
/// every platform draws the same value.
fn two_sided_geometric(alpha: f64, zero_or_not: f64, magnitude: f64, negative: bool) -> i64 {
    let p_zero = (1.0 - alpha) / (1.0 + alpha);
    if zero_or_not < p_zero {
        return 0;
    }
    // P(|e| > j | e != 0) = α^j: the size is the first j with magnitude >= 1 - α^j... read as
    // survival: |e| = 1 + #{j >= 1 : magnitude < α^j}.
    let mut size = 1i64;
    let mut tail = alpha;
    while magnitude < tail && size < MAX_NOISE {
        size += 1;
        tail *= alpha;
    }
    if negative {
        -size
    } else {
        size
    }
}

/// A draw beyond this has probability under 1e-40 at any sane standard deviation; the cap only
/// bounds the loop.
const MAX_NOISE: i64 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> NoiseSecret {
        NoiseSecret::new([7; 32])
    }

    #[test]
    fn alpha_gives_the_asked_standard_deviation() {
        for sd in [0.5, 1.0, 2.5, 4.0, 8.0] {
            let a = alpha_for(sd);
            let var = 2.0 * a / ((1.0 - a) * (1.0 - a));
            assert!(
                (var.sqrt() - sd).abs() < 1e-9,
                "sd {sd}: alpha {a} gives {}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn draws_have_the_asked_spread_and_no_bias() {
        let s = secret();
        let n = 40_000u64;
        let draws: Vec<f64> = (0..n)
            .map(|i| cell_noise(&s, Signature(i), 50, "race", "white", 4.0) as f64)
            .collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.1, "mean {mean}");
        assert!((var.sqrt() - 4.0).abs() < 0.15, "sd {}", var.sqrt());
    }

    #[test]
    fn the_same_population_gives_the_same_noise_and_any_change_redraws_it() {
        let s = secret();
        let sig =
            contribution(&s, "a", "race", "white").plus(contribution(&s, "b", "race", "black"));
        let again =
            contribution(&s, "b", "race", "black").plus(contribution(&s, "a", "race", "white"));
        assert_eq!(sig, again, "order does not matter");
        let changed = sig
            .minus(contribution(&s, "b", "race", "black"))
            .plus(contribution(&s, "b", "race", "asian"));
        assert_ne!(sig, changed);
        assert_eq!(
            changed
                .minus(contribution(&s, "b", "race", "asian"))
                .plus(contribution(&s, "b", "race", "black")),
            sig
        );
        let draws = |sig| {
            (0..64)
                .map(|c| cell_noise(&s, sig, 2, "race", &format!("c{c}"), 4.0))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(sig), draws(again));
        assert_ne!(draws(sig), draws(changed));
    }

    #[test]
    fn another_secret_gives_other_contributions_and_noise() {
        let other = NoiseSecret::new([8; 32]);
        assert_ne!(
            contribution(&secret(), "a", "race", "white"),
            contribution(&other, "a", "race", "white")
        );
        let draws = |s: &NoiseSecret| {
            (0..64)
                .map(|i| cell_noise(s, Signature(i), 9, "race", "white", 4.0))
                .collect::<Vec<_>>()
        };
        assert_ne!(draws(&secret()), draws(&other));
    }

    #[test]
    fn zero_sd_is_exact() {
        assert_eq!(cell_noise(&secret(), Signature(1), 3, "x", "y", 0.0), 0);
    }

    #[test]
    fn the_secret_never_prints() {
        assert_eq!(format!("{:?}", secret()), "NoiseSecret(..)");
    }
}

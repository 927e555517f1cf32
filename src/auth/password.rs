//! Password and client-secret hashing with argon2id, stored as PHC strings.
//!
//! Verification always runs one argon2 computation, against a fixed dummy hash when the
//! account does not exist (or its stored hash is unreadable), so response time does not
//! reveal which accounts exist. argon2 is deliberately slow: call these from a blocking
//! thread (`web::block`/`spawn_blocking`), never on an async worker. The final hash
//! comparison is constant-time.
//!
//! Memory: each hash needs `m_cost` KiB (19 MiB at OWASP cost). Allocated per hash, on
//! whichever blocking thread ran it, glibc kept that memory in the thread's arena after the
//! free (its mmap threshold rises to the size of a freed mapping), so 60 failed logins left
//! the process at 881 MB. The hasher instead keeps a few buffers of blocks and lends one to
//! each hash ([`Argon2Hasher::keep_buffers`]): the memory is allocated once and reused, and
//! the process stays flat whatever the login rate (issue 14 item 4).

use std::fmt;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;

use super::secrets;

/// OWASP Password Storage Cheat Sheet, argon2id option 2: 19 MiB, 2 passes, 1 lane.
pub const OWASP_M_COST_KIB: u32 = 19_456;
pub const OWASP_T_COST: u32 = 2;
pub const OWASP_P_COST: u32 = 1;

/// Longest candidate we hash; longer ones fail (after the dummy work, like any failure).
pub const MAX_SECRET_LEN: usize = 1024;

/// Bytes of randomness in a client secret.
pub const CLIENT_SECRET_LEN: usize = 32;

/// An argon2id hash of a random, discarded password, at the OWASP parameters. Verified
/// against when there is no real hash so the work done is the same.
const DUMMY_PHC_OWASP: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dTSMxxzK23OKhYnBs1kL/g$n7T6oTOWF8wGgCQB4ijI01zE8C9k3w2tg0TQbtwvNC8";

/// Errors from hashing (never from verifying: verification answers true or false).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid argon2 parameters")]
    Params,
    #[error("not an argon2 PHC string")]
    NotPhc,
    #[error("secret is longer than {MAX_SECRET_LEN} bytes")]
    TooLong,
    #[error("hashing failed")]
    Hash,
}

/// A PHC-format argon2 hash (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PhcString(String);

impl PhcString {
    /// Accepts only well-formed argon2 PHC strings (any argon2 variant, so hashes from
    /// older settings still verify).
    pub fn parse(s: impl Into<String>) -> Result<Self, PasswordError> {
        let s = s.into();
        let parsed = PasswordHash::new(&s).map_err(|_| PasswordError::NotPhc)?;
        if Algorithm::try_from(parsed.algorithm).is_err() || parsed.hash.is_none() {
            return Err(PasswordError::NotPhc);
        }
        Ok(PhcString(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PhcString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is offline-crackable: keep it out of logs.
        f.write_str("PhcString(..)")
    }
}

/// Buffers of argon2 memory lent to one hash at a time. At most `keep` are kept between
/// hashes; callers beyond that (there are none when hashing goes through the authenticator's
/// semaphore of the same size) get a buffer of their own that is freed after.
#[derive(Debug)]
struct BlockPool {
    blocks: usize,
    keep: usize,
    free: Mutex<Vec<Vec<Block>>>,
}

impl BlockPool {
    fn new(blocks: usize, keep: usize) -> Self {
        BlockPool {
            blocks,
            keep,
            free: Mutex::new(Vec::new()),
        }
    }

    /// A buffer of at least `blocks` blocks (a stored hash of other parameters may need more).
    fn take(&self, blocks: usize) -> Vec<Block> {
        if blocks <= self.blocks {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(buffer) = free.pop() {
                return buffer;
            }
        }
        vec![Block::default(); blocks.max(self.blocks)]
    }

    fn give(&self, buffer: Vec<Block>) {
        if buffer.len() != self.blocks {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(buffer);
        }
    }
}

/// argon2id with fixed parameters, plus a dummy hash at those parameters.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    dummy: PhcString,
    memory: Arc<BlockPool>,
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

impl Default for Argon2Hasher {
    /// OWASP parameters, with the precomputed dummy hash (no work at construction).
    fn default() -> Self {
        let params = Params::new(OWASP_M_COST_KIB, OWASP_T_COST, OWASP_P_COST, None)
            .unwrap_or(Params::DEFAULT);
        Argon2Hasher {
            memory: Arc::new(BlockPool::new(params.block_count(), 1)),
            params,
            dummy: PhcString(DUMMY_PHC_OWASP.to_owned()),
        }
    }
}

impl Argon2Hasher {
    /// A hasher with other parameters (tests use tiny ones; production uses
    /// [`Default`]). Computes its own dummy hash, so it costs one hash to build.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, PasswordError> {
        let params =
            Params::new(m_cost_kib, t_cost, p_cost, None).map_err(|_| PasswordError::Params)?;
        let mut hasher = Argon2Hasher {
            memory: Arc::new(BlockPool::new(params.block_count(), 1)),
            params,
            dummy: PhcString(String::new()),
        };
        hasher.dummy = hasher.hash(secrets::random_b64(32).expose_secret())?;
        Ok(hasher)
    }

    /// Keeps up to `buffers` hashing buffers for reuse: as many as hashes may run at once
    /// (the authenticator's semaphore), so the memory held is `buffers x m_cost`, bounded.
    pub fn keep_buffers(mut self, buffers: usize) -> Self {
        self.memory = Arc::new(BlockPool::new(self.params.block_count(), buffers.max(1)));
        self
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// One argon2 computation in a borrowed buffer.
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        blocks: usize,
        secret: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), PasswordError> {
        let mut buffer = self.memory.take(blocks);
        let result = argon2.hash_password_into_with_memory(secret, salt, out, &mut buffer[..]);
        self.memory.give(buffer);
        result.map_err(|_| PasswordError::Hash)
    }

    fn hash(&self, secret: &str) -> Result<PhcString, PasswordError> {
        if secret.len() > MAX_SECRET_LEN {
            return Err(PasswordError::TooLong);
        }
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|_| PasswordError::Hash)?;
        let mut out = vec![
            0u8;
            self.params
                .output_len()
                .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
        ];
        self.compute(
            &self.argon2(),
            self.params.block_count(),
            secret.as_bytes(),
            salt_bytes,
            &mut out,
        )?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|_| PasswordError::Hash)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|_| PasswordError::Hash)?),
        };
        Ok(PhcString(phc.to_string()))
    }

    /// Whether `candidate` hashes to `stored` under `stored`'s own algorithm, version,
    /// parameters and salt (so hashes from older settings still verify).
    fn matches(&self, candidate: &[u8], stored: &PasswordHash<'_>) -> bool {
        let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(stored.algorithm),
            Params::try_from(stored),
        ) else {
            return false;
        };
        let version = match stored.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(_) => return false,
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let blocks = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        self.compute(&argon2, blocks, candidate, salt_bytes, &mut out)
            .is_ok()
            && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
    }

    /// Hashes a new password (policy such as minimum length is the caller's).
    pub fn hash_password(&self, password: &SecretString) -> Result<PhcString, PasswordError> {
        self.hash(password.expose_secret())
    }

    /// True only when `stored` is present and `candidate` matches it. With no stored
    /// hash (unknown account) the dummy hash is verified instead and the answer is
    /// false, so both paths cost one argon2 run.
    pub fn verify_password(&self, candidate: &SecretString, stored: Option<&PhcString>) -> bool {
        let candidate = candidate.expose_secret().as_bytes();
        let real = stored.and_then(|s| PasswordHash::new(s.as_str()).ok());
        let too_long = candidate.len() > MAX_SECRET_LEN;
        match real {
            Some(hash) if !too_long => self.matches(candidate, &hash),
            _ => {
                if let Ok(dummy) = PasswordHash::new(self.dummy.as_str()) {
                    let probe = if too_long {
                        &candidate[..MAX_SECRET_LEN]
                    } else {
                        candidate
                    };
                    let _ = self.matches(probe, &dummy);
                }
                false
            }
        }
    }

    /// True when `stored` was made with other parameters or another argon2 variant:
    /// rehash the password after the next successful login.
    pub fn needs_rehash(&self, stored: &PhcString) -> bool {
        let Ok(hash) = PasswordHash::new(stored.as_str()) else {
            return true;
        };
        let same_params = Params::try_from(&hash)
            .map(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == self.params.p_cost()
            })
            .unwrap_or(false);
        hash.algorithm != Algorithm::Argon2id.ident() || !same_params
    }

    /// A new client secret (32 random bytes, base64url) and its hash. Show the secret
    /// once; store only the hash.
    pub fn generate_client_secret(&self) -> Result<(SecretString, PhcString), PasswordError> {
        let secret = secrets::random_b64(CLIENT_SECRET_LEN);
        let hash = self.hash(secret.expose_secret())?;
        Ok((secret, hash))
    }

    /// Verifies a presented client secret; same dummy-hash rule as passwords.
    pub fn verify_client_secret(
        &self,
        candidate: &SecretString,
        stored: Option<&PhcString>,
    ) -> bool {
        self.verify_password(candidate, stored)
    }
}

/// [`Argon2Hasher::verify_password`] with the OWASP defaults.
pub fn verify_password(candidate: &SecretString, stored: Option<&PhcString>) -> bool {
    Argon2Hasher::default().verify_password(candidate, stored)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Tiny parameters: tests stay fast. Never use outside tests.
    fn fast() -> Argon2Hasher {
        Argon2Hasher::new(64, 1, 1).unwrap()
    }

    fn s(v: &str) -> SecretString {
        SecretString::from(v)
    }

    #[test]
    fn hash_then_verify_round_trips() {
        let h = fast();
        let phc = h.hash_password(&s("correct horse battery staple")).unwrap();
        assert!(phc.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(h.verify_password(&s("correct horse battery staple"), Some(&phc)));
        assert!(!h.verify_password(&s("correct horse battery stapler"), Some(&phc)));
        // Same password, fresh salt.
        assert_ne!(
            phc,
            h.hash_password(&s("correct horse battery staple")).unwrap()
        );
    }

    #[test]
    fn unknown_account_runs_the_dummy_and_fails() {
        let h = fast();
        assert!(PasswordHash::new(h.dummy.as_str()).is_ok());
        assert!(!h.verify_password(&s("anything"), None));
        assert!(!h.verify_password(&s(""), None));
    }

    #[test]
    fn owasp_default_dummy_is_a_real_hash_at_owasp_parameters() {
        let h = Argon2Hasher::default();
        let dummy = PhcString::parse(DUMMY_PHC_OWASP).unwrap();
        assert!(
            !h.needs_rehash(&dummy),
            "dummy must cost what real hashes cost"
        );
        assert_eq!(h.params.m_cost(), 19_456);
        assert_eq!(h.params.t_cost(), 2);
        assert_eq!(h.params.p_cost(), 1);
    }

    #[test]
    fn unreadable_or_overlong_inputs_fail_closed() {
        let h = fast();
        assert_eq!(PhcString::parse("plaintext"), Err(PasswordError::NotPhc));
        assert_eq!(
            PhcString::parse("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA"),
            Err(PasswordError::NotPhc)
        );
        let corrupt = PhcString("$argon2id$garbage".into());
        assert!(!h.verify_password(&s("x"), Some(&corrupt)));
        let long = "a".repeat(MAX_SECRET_LEN + 1);
        assert_eq!(h.hash_password(&s(&long)), Err(PasswordError::TooLong));
        let phc = h.hash_password(&s(&long[..MAX_SECRET_LEN])).unwrap();
        assert!(!h.verify_password(&s(&long), Some(&phc)));
    }

    #[test]
    fn rehash_is_needed_when_parameters_change() {
        let phc = fast().hash_password(&s("pw")).unwrap();
        assert!(!fast().needs_rehash(&phc));
        assert!(Argon2Hasher::default().needs_rehash(&phc));
        // A stored hash from other parameters still verifies (its own params are used).
        assert!(Argon2Hasher::new(128, 1, 1)
            .unwrap()
            .verify_password(&s("pw"), Some(&PhcString::parse(phc.as_str()).unwrap())));
    }

    #[test]
    fn client_secrets_are_random_base64url_and_verify() {
        let h = fast();
        let (secret, phc) = h.generate_client_secret().unwrap();
        let raw = secret.expose_secret();
        assert_eq!(raw.len(), 43);
        assert!(raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(h.verify_client_secret(&secret, Some(&phc)));
        assert!(!h.verify_client_secret(&s("guess"), Some(&phc)));
        assert!(!h.verify_client_secret(&secret, None));
        let (other, _) = h.generate_client_secret().unwrap();
        assert_ne!(raw, other.expose_secret());
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = fast();
        let ours = h.hash_password(&s("correct horse")).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, h.params.clone());
        let parsed = PasswordHash::new(ours.as_str()).unwrap();
        assert!(reference.verify_password(b"correct horse", &parsed).is_ok());
        assert!(reference
            .verify_password(b"correct horsE", &parsed)
            .is_err());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let theirs = PhcString::parse(theirs).unwrap();
        assert!(h.verify_password(&s("correct horse"), Some(&theirs)));
        assert!(!h.verify_password(&s("correct horsE"), Some(&theirs)));
        // Other variants and versions still verify under their own settings.
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x10, h.params.clone())
            .hash_password(b"old", &salt)
            .unwrap()
            .to_string();
        assert!(h.verify_password(&s("old"), Some(&PhcString::parse(argon2i).unwrap())));
    }

    #[test]
    fn hashing_memory_is_lent_and_kept_no_more_than_asked() {
        let h = fast().keep_buffers(2);
        let phc = h.hash_password(&s("pw")).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let h = h.clone();
                let phc = phc.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        assert!(h.verify_password(&s("pw"), Some(&phc)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let kept = h.memory.free.lock().unwrap().len();
        assert!((1..=2).contains(&kept), "{kept}");
    }

    #[test]
    fn hashes_do_not_print() {
        let phc = fast().hash_password(&s("pw")).unwrap();
        assert_eq!(format!("{phc:?}"), "PhcString(..)");
    }

    /// Prints a fresh OWASP dummy hash: `cargo test print_owasp_dummy -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn print_owasp_dummy() {
        let h = Argon2Hasher::new(OWASP_M_COST_KIB, OWASP_T_COST, OWASP_P_COST).unwrap();
        println!("{}", h.dummy.as_str());
    }
}

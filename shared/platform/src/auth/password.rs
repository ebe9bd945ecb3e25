//! Passwords of local users: the policy a new password must meet, and Argon2id hashes.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) made with the
//! RustCrypto `argon2` crate and the OWASP parameters for Argon2id (19 MiB of memory, 2
//! passes, 1 lane). The parameters travel inside each string, so a hash made today still
//! verifies after they are raised; [`needs_rehash`] tells the caller when to re-hash a
//! password it has just verified. Salts are 16 bytes from the operating system
//! (`getrandom`).
//!
//! Nothing here stores anything: the caller keeps the [`PasswordHash`] it gets back. When a
//! login names a user that does not exist, the caller runs [`verify_against_nothing`] so that
//! the answer takes as long as for a real user with a wrong password.

use std::fmt;

use argon2::password_hash::{self, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The fewest characters a password may have (NIST SP 800-63B asks for at least 8; 12 leaves
/// room for passphrases without a composition rule).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The most characters a password may have: long enough for any passphrase or password
/// manager, short enough that nobody sends megabytes to hash.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Argon2 memory cost, in KiB (OWASP: 19 MiB).
const M_COST_KIB: u32 = 19_456;
/// Argon2 passes over the memory (OWASP: 2).
const T_COST: u32 = 2;
/// Argon2 lanes (OWASP: 1).
const P_COST: u32 = 1;
/// Bytes of random salt (the PHC string format recommends 16).
const SALT_BYTES: usize = 16;

/// The largest costs a stored hash may ask for before it is refused unverified: a corrupted
/// or hostile string must not make the process allocate gigabytes or spin for minutes. They
/// are well above the costs used here, so that the costs can be raised without touching them.
const MAX_STORED_M_COST_KIB: u32 = 256 * 1024;
const MAX_STORED_T_COST: u32 = 16;
const MAX_STORED_P_COST: u32 = 16;

/// A hash of this module's parameters (of a password nobody knows), verified against when
/// there is no user, so that an unknown user costs the same as a wrong password. The test
/// `dummy_hash_uses_the_current_parameters` fails if the parameters change without it: then
/// replace it with the [`hash_password`] of any random string.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$jsOcShPzL7motc1x3FY7rQ$plCqolQpiBRe8NsYezBFHJYwyRW7xsvd9SN0qjRQDqg";

/// Why a password was refused, or could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("the password must have at least {min} characters", min = MIN_PASSWORD_CHARS)]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("the password must have at most {max} characters", max = MAX_PASSWORD_CHARS)]
    TooLong,
    /// Only spaces, tabs, line breaks and the like.
    #[error("the password must not be only whitespace")]
    Blank,
    /// No randomness from the operating system, or an error of the hash function; the source
    /// chain is for logs only.
    #[error("unexpected error while hashing a password")]
    Unexpected(#[source] anyhow::Error),
}

impl From<PasswordError> for crate::Error {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Unexpected(source) => Self::Unexpected(source),
            policy => Self::invalid("password", policy.to_string()),
        }
    }
}

/// An Argon2id hash of a password, as a PHC string: what the caller stores.
///
/// It is not checked when built from a stored string: a malformed one simply never verifies.
/// `Debug` leaves it out, since a leaked hash can be attacked offline.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read back from storage.
    pub fn from_stored(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

/// Checks a new password against the policy: [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`]
/// characters (Unicode scalar values, so that "é" counts once), not all whitespace. There is
/// deliberately no composition rule (NIST SP 800-63B): length is what makes a password strong.
///
/// # Errors
///
/// [`PasswordError::Blank`] for a non-empty password of only whitespace, whatever its length;
/// otherwise [`PasswordError::TooShort`] or [`PasswordError::TooLong`].
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    // Stop counting past the maximum, so that a huge input costs no more than a long one.
    let chars = password.chars().take(MAX_PASSWORD_CHARS + 1).count();
    if !password.is_empty() && password.chars().all(char::is_whitespace) {
        return Err(PasswordError::Blank);
    }
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a new password with Argon2id and a fresh random salt, after checking it against the
/// policy ([`check_policy`]).
///
/// # Errors
///
/// A policy error if the password breaks a rule; [`PasswordError::Unexpected`] if the
/// operating system gives no randomness.
pub fn hash_password(password: &str) -> Result<PasswordHash, PasswordError> {
    check_policy(password)?;
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt)
        .map_err(|e| unexpected(format!("no randomness from the OS: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(hash_error)?;
    let hash = hasher()?.hash_password(password.as_bytes(), &salt).map_err(hash_error)?;
    Ok(PasswordHash(hash.to_string()))
}

/// Whether `password` is the one `hash` was made from. The comparison is constant-time (done
/// by the `argon2` crate); a malformed hash, or one asking for absurd costs, is `false`.
pub fn verify_password(password: &str, hash: &PasswordHash) -> bool {
    let Ok(parsed) = password_hash::PasswordHash::new(&hash.0) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_STORED_M_COST_KIB
        || params.t_cost() > MAX_STORED_T_COST
        || params.p_cost() > MAX_STORED_P_COST
    {
        return false;
    }
    // The costs, algorithm and version come from the stored string, not from `hasher()`.
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Spends the time of a [`verify_password`] and answers nothing: for a login that names no
/// user, so that "no such user" and "wrong password" take the same time.
pub fn verify_against_nothing(password: &str) {
    let _ = verify_password(password, &PasswordHash(DUMMY_HASH.to_owned()));
}

/// Whether `hash` was made with other parameters than the current ones (or is not a complete
/// Argon2id hash at all), so that the caller should store a new hash of the password it has
/// just verified.
pub fn needs_rehash(hash: &PasswordHash) -> bool {
    let Ok(parsed) = password_hash::PasswordHash::new(&hash.0) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.hash.map(|output| output.len()) != Some(Params::DEFAULT_OUTPUT_LEN)
        || parsed.version != Some(Version::V0x13.into())
        || (params.m_cost(), params.t_cost(), params.p_cost()) != (M_COST_KIB, T_COST, P_COST)
}

/// Argon2id, version 0x13, with this module's costs.
fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
        .map_err(|e| unexpected(format!("invalid Argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_error(error: password_hash::Error) -> PasswordError {
    unexpected(format!("cannot hash the password: {error}"))
}

fn unexpected(message: String) -> PasswordError {
    PasswordError::Unexpected(anyhow::anyhow!(message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const GOOD: &str = "correct horse battery staple";

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password(GOOD).unwrap();
        assert!(verify_password(GOOD, &hash));
        assert!(!verify_password("correct horse battery stapl", &hash));
        assert!(!verify_password("Correct horse battery staple", &hash));
        assert!(!verify_password("", &hash));
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_owasp_costs() {
        let hash = hash_password(GOOD).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_str());
        assert!(!needs_rehash(&hash));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        let first = hash_password(GOOD).unwrap();
        let second = hash_password(GOOD).unwrap();
        assert_ne!(first, second);
        assert!(verify_password(GOOD, &second));
    }

    #[test]
    fn a_stored_hash_round_trips_through_its_string() {
        let hash = hash_password(GOOD).unwrap();
        let stored = PasswordHash::from_stored(hash.as_str());
        assert!(verify_password(GOOD, &stored));
    }

    #[test]
    fn debug_does_not_show_the_hash() {
        let hash = hash_password(GOOD).unwrap();
        let debug = format!("{hash:?}");
        assert!(!debug.contains("argon2"), "{debug}");
    }

    #[test]
    fn policy_refuses_short_long_and_blank_passwords() {
        assert!(matches!(check_policy(""), Err(PasswordError::TooShort)));
        assert!(matches!(check_policy("elevenchars"), Err(PasswordError::TooShort)));
        // Twelve characters but fewer bytes would pass a byte count: count characters.
        assert!(check_policy("twelve chars").is_ok());
        assert!(check_policy(&"é".repeat(12)).is_ok());
        assert!(matches!(check_policy(&"é".repeat(11)), Err(PasswordError::TooShort)));
        assert!(check_policy(&"x".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert!(matches!(
            check_policy(&"x".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(PasswordError::TooLong)
        ));
        assert!(matches!(check_policy(&" ".repeat(20)), Err(PasswordError::Blank)));
        assert!(matches!(check_policy("\t\n \u{a0}\u{3000}      "), Err(PasswordError::Blank)));
        assert!(check_policy("  leading and trailing  ").is_ok());
    }

    #[test]
    fn hashing_applies_the_policy() {
        assert!(matches!(hash_password("short"), Err(PasswordError::TooShort)));
        assert!(matches!(hash_password(&" ".repeat(13)), Err(PasswordError::Blank)));
    }

    #[test]
    fn policy_errors_become_validation_errors_on_the_password_field() {
        let error: crate::Error = PasswordError::TooShort.into();
        match error {
            crate::Error::Validation { field, reason } => {
                assert_eq!(field, "password");
                assert!(reason.contains("at least 12"), "{reason}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_stored_hashes_never_verify() {
        let good = hash_password(GOOD).unwrap();
        let truncated = &good.as_str()[..good.as_str().len() - 5];
        let no_hash = good.as_str().rsplit_once('$').unwrap().0;
        for stored in [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$bcrypt$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
            "$argon2id$v=19$m=notanumber,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            truncated,
            no_hash,
        ] {
            assert!(!verify_password(GOOD, &PasswordHash::from_stored(stored)), "{stored}");
            assert!(needs_rehash(&PasswordHash::from_stored(stored)), "{stored}");
        }
        assert!(verify_password(GOOD, &good));
    }

    #[test]
    fn stored_hashes_asking_for_absurd_costs_are_refused_unverified() {
        let good = hash_password(GOOD).unwrap();
        let huge = good.as_str().replace("m=19456", "m=4194304");
        assert!(!verify_password(GOOD, &PasswordHash::from_stored(huge)));
        let slow = good.as_str().replace("t=2", "t=1000");
        assert!(!verify_password(GOOD, &PasswordHash::from_stored(slow)));
    }

    #[test]
    fn hashes_with_other_costs_still_verify_but_need_a_rehash() {
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(GOOD.as_bytes(), &salt)
            .unwrap()
            .to_string();
        let weak = PasswordHash::from_stored(weak);
        assert!(verify_password(GOOD, &weak));
        assert!(needs_rehash(&weak));
    }

    #[test]
    fn dummy_hash_uses_the_current_parameters() {
        let dummy = PasswordHash::from_stored(DUMMY_HASH);
        assert!(!needs_rehash(&dummy));
        // It is a complete hash, so verifying against it does the full work.
        let parsed = password_hash::PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        assert!(!verify_password(GOOD, &dummy));
        verify_against_nothing(GOOD);
    }
}

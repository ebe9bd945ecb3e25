//! Second factors: time-based one-time passwords (TOTP, RFC 6238) and recovery codes.
//!
//! Enrolment: the caller makes a [`TotpSecret`], shows [`otpauth_uri`] as a QR code
//! ([`qr_svg`]) and as text (for apps that cannot scan), and keeps the secret once the user
//! has typed a first code that [`verify`] accepts. At each login, [`verify`] returns the time
//! step it matched, which the caller stores and passes back next time: a code is good once.
//! [`recovery_codes`] makes the codes for a lost phone, shown once and stored as digests.
//!
//! The codes are HOTP values (RFC 4226) of 30-second steps, 6 digits, HMAC-SHA1: the
//! parameters every authenticator app supports (several ignore `algorithm`, `digits` and
//! `period` in the URI and use these whatever it says). [`code_at`] is the general function,
//! with SHA-256 and SHA-512 and any number of digits, so that the tests check every RFC 6238
//! test vector.
//!
//! This is written on `hmac` with `sha1` and `sha2` rather than on `totp-rs`: the algorithm
//! is a dozen lines, and the crate would not save the rest. Its `check` answers yes or no
//! where replay protection needs the matched step, its URI builder (the `otpauth` feature)
//! emits another parameter order and refuses a colon in names rather than encoding it, and it
//! would add `base32` and `constant_time_eq` to the dependency tree, where `hmac`, `sha2`,
//! `sha1` and `subtle` are already in it.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq as _;

/// Seconds per time step (RFC 6238's default, and what apps assume).
pub const PERIOD_SECONDS: u64 = 30;

/// Digits of a code (RFC 4226's minimum, and what apps assume).
pub const DIGITS: u32 = 6;

/// Bytes of a secret: 160 bits, the length of an HMAC-SHA1 output, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// Time steps accepted either side of the current one, for clock drift and typing time.
const SKEW_STEPS: u64 = 1;

/// How many recovery codes [`recovery_codes`] makes.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Base32 characters of a recovery code (5 bits each: 100 bits), shown in groups of
/// [`RECOVERY_GROUP_CHARS`].
const RECOVERY_CODE_CHARS: usize = 20;
const RECOVERY_GROUP_CHARS: usize = 5;

/// The base32 alphabet of RFC 4648, upper case (secrets, as apps expect them).
const BASE32_UPPER: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The same alphabet in lower case (recovery codes, easier to read and type).
const BASE32_LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// What stays unencoded in a URI component: the unreserved characters of RFC 3986. Anything
/// else, `:`, `@`, `&`, `+` and space included, is percent-encoded (a space as `%20`, never
/// `+`, which apps do not all decode).
const URI_COMPONENT: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why a secret could not be made, read or shown.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// A stored secret that is not 32 base32 characters (160 bits).
    #[error("a TOTP secret must be {chars} base32 characters", chars = SECRET_BYTES * 8 / 5)]
    InvalidSecret,
    /// The URI does not fit in a QR code (names of thousands of characters).
    #[error("cannot draw the QR code: {0}")]
    Qr(String),
    /// No randomness from the operating system; the source chain is for logs only.
    #[error("unexpected error while making a TOTP secret or recovery codes")]
    Unexpected(#[source] anyhow::Error),
}

impl From<TotpError> for crate::Error {
    fn from(error: TotpError) -> Self {
        match error {
            TotpError::InvalidSecret => Self::invalid("totp_secret", error.to_string()),
            TotpError::Qr(reason) => Self::Unexpected(anyhow::anyhow!("QR code: {reason}")),
            TotpError::Unexpected(source) => Self::Unexpected(source),
        }
    }
}

/// The hash function of the HMAC (RFC 6238 allows SHA-1, SHA-256 and SHA-512).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1: the one authenticator apps support; what [`verify`] uses.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// The shared secret of a TOTP second factor: 160 random bits.
///
/// The caller stores it (ideally encrypted) as [`TotpSecret::to_base32`] or
/// [`TotpSecret::as_bytes`]. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl TotpSecret {
    /// A new secret from the operating system's random source.
    ///
    /// # Errors
    ///
    /// [`TotpError::Unexpected`] if the operating system gives no randomness.
    pub fn generate() -> Result<Self, TotpError> {
        let mut bytes = [0u8; SECRET_BYTES];
        fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// A secret from its bytes (read back from storage).
    pub fn from_bytes(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(bytes)
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }

    /// Parses the base32 form (32 characters of RFC 4648 base32, either case, no padding).
    ///
    /// # Errors
    ///
    /// [`TotpError::InvalidSecret`] for any other length or character.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let bytes = base32_decode(text).ok_or(TotpError::InvalidSecret)?;
        let bytes: [u8; SECRET_BYTES] = bytes.try_into().map_err(|_| TotpError::InvalidSecret)?;
        Ok(Self(bytes))
    }

    /// The secret in upper-case base32 without padding (32 characters): the form of the
    /// `secret` parameter, which users may also type into an app by hand.
    pub fn to_base32(&self) -> String {
        base32_encode(&self.0, BASE32_UPPER)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

/// The `otpauth://` URI that enrols `secret` in an authenticator app (Google's Key URI
/// format): `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
///
/// `issuer` (the platform or organization name) and `account` (usually the user's email) are
/// percent-encoded; a colon in either is encoded too, though some apps still split the label
/// on it, so callers had better avoid colons there.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, URI_COMPONENT).to_string();
    let account = utf8_percent_encode(account, URI_COMPONENT);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECONDS}",
        secret = secret.to_base32(),
    )
}

/// The QR code of an `otpauth://` URI, as a standalone SVG document (see
/// [`credentials::qr::qr_svg`]). It shows the secret: serve it with `Cache-Control: no-store`.
///
/// # Errors
///
/// [`TotpError::Qr`] if the URI is too long for a QR code.
pub fn qr_svg(uri: &str) -> Result<String, TotpError> {
    credentials::qr::qr_svg(uri).map_err(|e| TotpError::Qr(e.to_string()))
}

/// Checks a 6-digit code typed by the user at `now`, and returns the time step it belongs to,
/// for the caller to store and pass back as `last_used_step` next time.
///
/// The current step and one step either side are accepted (up to about a minute of clock
/// drift or typing time). A step at or before `last_used_step` is refused, so that a code
/// (or any earlier one) cannot be used twice. Anything but exactly six ASCII digits is refused;
/// the caller may strip the space some apps show in the middle. `None` means refused.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: DateTime<Utc>,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let digits = usize::try_from(DIGITS).ok()?;
    if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = u64::try_from(now.timestamp()).ok()? / PERIOD_SECONDS;
    let mut matched = None;
    // Every candidate is computed and compared in constant time, so that the time taken does
    // not tell which step matched. The latest matching step wins: were a code to match two
    // steps, taking the earlier one would let it be replayed for the later one.
    for step in current.saturating_sub(SKEW_STEPS)..=current.saturating_add(SKEW_STEPS) {
        let expected = hotp(secret.as_bytes(), Algorithm::Sha1, DIGITS, step);
        let equal = bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
        if equal && last_used_step.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

/// The TOTP code of `secret` at `unix_time` (seconds since 1970), for 30-second steps: the
/// HOTP value (RFC 4226) of step `unix_time / 30`, with HMAC-`algorithm`, as `digits`
/// decimal digits with leading zeros.
///
/// `digits` is taken within 1 to 10, since the truncated HMAC has 31 bits (at most 10
/// digits); apps use 6 or 8.
pub fn code_at(secret: &[u8], algorithm: Algorithm, digits: u32, unix_time: u64) -> String {
    hotp(secret, algorithm, digits, unix_time / PERIOD_SECONDS)
}

/// The HOTP value (RFC 4226, section 5.3) of `counter`.
fn hotp(secret: &[u8], algorithm: Algorithm, digits: u32, counter: u64) -> String {
    let message = counter.to_be_bytes();
    let mac = match algorithm {
        Algorithm::Sha1 => compute_hmac::<Hmac<Sha1>>(secret, &message),
        Algorithm::Sha256 => compute_hmac::<Hmac<Sha256>>(secret, &message),
        Algorithm::Sha512 => compute_hmac::<Hmac<Sha512>>(secret, &message),
    };
    // HMAC takes keys of any length, so `compute_hmac` never fails and the truncation always finds
    // its four bytes; were either to fail, the empty code would match nothing.
    let Some(value) = mac.as_deref().and_then(dynamic_truncation) else {
        return String::new();
    };
    let digits = digits.clamp(1, 10);
    let modulus = 10_u64.pow(digits);
    format!("{:0width$}", u64::from(value) % modulus, width = digits as usize)
}

/// HMAC of `message` under `key`.
fn compute_hmac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().to_vec())
}

/// RFC 4226's dynamic truncation: 31 bits of the HMAC, at the offset its last nibble gives.
fn dynamic_truncation(mac: &[u8]) -> Option<u32> {
    let offset = usize::from(mac.last()? & 0x0f);
    let bytes: [u8; 4] = mac.get(offset..offset + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes) & 0x7fff_ffff)
}

/// Recovery codes, for a user who has lost the second factor: shown once, stored as digests.
///
/// Each code is 100 random bits, written as 20 lower-case base32 characters in groups of five
/// (`abcde-fghij-klmno-pqrst`). `Debug` does not show the codes.
#[derive(Clone)]
pub struct RecoveryCodes {
    /// The codes, to show the user once (and never store).
    pub to_show: Vec<String>,
    /// Their digests, in the same order, to store; [`recovery_code_matches`] checks a typed
    /// code against one of them. A code is good once: the caller deletes its digest after use.
    pub to_store: Vec<String>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("to_show", &format_args!("[…; {}]", self.to_show.len()))
            .field("to_store", &self.to_store)
            .finish()
    }
}

/// Makes [`RECOVERY_CODE_COUNT`] new recovery codes.
///
/// # Errors
///
/// [`TotpError::Unexpected`] if the operating system gives no randomness.
pub fn recovery_codes() -> Result<RecoveryCodes, TotpError> {
    let mut random = [0u8; RECOVERY_CODE_COUNT * RECOVERY_CODE_CHARS];
    fill_random(&mut random)?;
    let mut to_show = Vec::with_capacity(RECOVERY_CODE_COUNT);
    let mut to_store = Vec::with_capacity(RECOVERY_CODE_COUNT);
    for chunk in random.chunks_exact(RECOVERY_CODE_CHARS) {
        // Five bits of each byte pick a character: 256 is a multiple of 32, so each of the 32
        // is equally likely.
        let mut code = String::with_capacity(RECOVERY_CODE_CHARS + 3);
        for (i, byte) in chunk.iter().enumerate() {
            if i > 0 && i % RECOVERY_GROUP_CHARS == 0 {
                code.push('-');
            }
            code.push(char::from(BASE32_LOWER[usize::from(byte & 0x1f)]));
        }
        to_store.push(recovery_code_digest(&code));
        to_show.push(code);
    }
    Ok(RecoveryCodes { to_show, to_store })
}

/// Whether a code typed by the user is the one `stored` (an entry of
/// [`RecoveryCodes::to_store`]) was made from. Case, spaces and dashes do not matter; the
/// comparison is constant-time; a malformed `stored` matches nothing.
pub fn recovery_code_matches(input: &str, stored: &str) -> bool {
    let Ok(expected) = hex::decode(stored) else {
        return false;
    };
    let actual = Sha256::digest(normalize_recovery_code(input).as_bytes());
    expected.len() == actual.len() && bool::from(<[u8]>::ct_eq(&actual, &expected))
}

/// The stored form of a recovery code: hex SHA-256 of its normalized form. A plain hash is
/// enough, unlike for passwords: 100 random bits cannot be guessed offline, so there is
/// nothing for salt or stretching (Argon2) to slow down.
fn recovery_code_digest(code: &str) -> String {
    hex::encode(Sha256::digest(normalize_recovery_code(code).as_bytes()))
}

/// A recovery code as typed, in lower case without whitespace or dashes.
fn normalize_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Fills `bytes` from the operating system's random source.
fn fill_random(bytes: &mut [u8]) -> Result<(), TotpError> {
    getrandom::fill(bytes)
        .map_err(|e| TotpError::Unexpected(anyhow::anyhow!("no randomness from the OS: {e}")))
}

/// RFC 4648 base32 of `bytes` in `alphabet`, without padding.
fn base32_encode(bytes: &[u8], alphabet: &[u8; 32]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(alphabet[usize::from((buffer >> bits) & 0x1f)]));
        }
    }
    if bits > 0 {
        out.push(char::from(alphabet[usize::from((buffer << (5 - bits)) & 0x1f)]));
    }
    out
}

/// Decodes RFC 4648 base32 without padding, either case; `None` for any other character or
/// for a length no byte string encodes to.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    // 1, 3 and 6 characters (mod 8) leave whole bytes unfinished: no encoder produces them.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a',
            b'2'..=b'7' => byte - b'2' + 26,
            _ => return None,
        };
        buffer = ((buffer << 5) | u16::from(value)) & 0x0fff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    // The leftover bits are padding and must be zero, so that each secret has one spelling.
    if buffer & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::TimeZone as _;

    /// The seeds of RFC 6238 Appendix B: ASCII "1234567890" repeated to 20, 32 and 64 bytes.
    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn at(unix_time: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(unix_time, 0).unwrap()
    }

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(SEED_SHA1.try_into().unwrap())
    }

    /// The 6-digit code of the RFC secret for `step`.
    fn code_for_step(step: u64) -> String {
        code_at(SEED_SHA1, Algorithm::Sha1, DIGITS, step * PERIOD_SECONDS)
    }

    #[test]
    fn codes_match_every_rfc_6238_test_vector() {
        // RFC 6238, Appendix B: time, then the 8-digit codes for SHA-1, SHA-256 and SHA-512.
        let vectors: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1_111_111_109, ["07081804", "68084774", "25091201"]),
            (1_111_111_111, ["14050471", "67062674", "99943326"]),
            (1_234_567_890, ["89005924", "91819424", "93441116"]),
            (2_000_000_000, ["69279037", "90698825", "38618901"]),
            (20_000_000_000, ["65353130", "77737706", "47863826"]),
        ];
        for (time, [sha1, sha256, sha512]) in vectors {
            assert_eq!(code_at(SEED_SHA1, Algorithm::Sha1, 8, time), sha1, "SHA-1 at {time}");
            assert_eq!(
                code_at(SEED_SHA256, Algorithm::Sha256, 8, time),
                sha256,
                "SHA-256 at {time}"
            );
            assert_eq!(
                code_at(SEED_SHA512, Algorithm::Sha512, 8, time),
                sha512,
                "SHA-512 at {time}"
            );
        }
    }

    #[test]
    fn six_digit_codes_match_the_rfc_4226_test_vectors() {
        // RFC 4226, Appendix D: HOTP of counters 0 to 9 (here, steps 0 to 9).
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (step, code) in expected.iter().enumerate() {
            assert_eq!(code_for_step(step as u64), *code, "step {step}");
        }
    }

    #[test]
    fn digits_are_kept_within_one_to_ten() {
        let ten = code_at(SEED_SHA1, Algorithm::Sha1, 10, 59);
        assert_eq!(ten.len(), 10);
        assert!(ten.ends_with("94287082"));
        assert_eq!(code_at(SEED_SHA1, Algorithm::Sha1, u32::MAX, 59), ten);
        assert_eq!(code_at(SEED_SHA1, Algorithm::Sha1, 0, 59), "2");
    }

    #[test]
    fn the_current_code_is_accepted_and_its_step_returned() {
        // t = 59 is in step 1, whose code is 287082.
        assert_eq!(verify(&rfc_secret(), "287082", at(59), None), Some(1));
        assert_eq!(verify(&rfc_secret(), "287082", at(30), None), Some(1));
    }

    #[test]
    fn one_step_of_skew_is_accepted_either_way_but_not_two() {
        let secret = rfc_secret();
        let now = at(10 * 30 + 7); // step 10
        assert_eq!(verify(&secret, &code_for_step(9), now, None), Some(9));
        assert_eq!(verify(&secret, &code_for_step(11), now, None), Some(11));
        assert_eq!(verify(&secret, &code_for_step(8), now, None), None);
        assert_eq!(verify(&secret, &code_for_step(12), now, None), None);
        // At the very start of time there is no previous step to look at.
        assert_eq!(verify(&secret, &code_for_step(1), at(0), None), Some(1));
        assert_eq!(verify(&secret, &code_for_step(0), at(0), None), Some(0));
    }

    #[test]
    fn a_used_step_and_earlier_ones_are_refused() {
        let secret = rfc_secret();
        let now = at(10 * 30); // step 10
        let code = code_for_step(10);
        let used = verify(&secret, &code, now, None).unwrap();
        assert_eq!(used, 10);
        // The same code again, even within its window, is refused.
        assert_eq!(verify(&secret, &code, now, Some(used)), None);
        assert_eq!(verify(&secret, &code, at(11 * 30), Some(used)), None);
        // So is the previous step's code, still within the skew window.
        assert_eq!(verify(&secret, &code_for_step(9), now, Some(used)), None);
        // The next step's code is fine.
        assert_eq!(verify(&secret, &code_for_step(11), now, Some(used)), Some(11));
        // A last use long ago does not get in the way.
        assert_eq!(verify(&secret, &code, now, Some(3)), Some(10));
    }

    #[test]
    fn a_wrong_code_is_refused() {
        let secret = rfc_secret();
        let good = code_for_step(10);
        let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(verify(&secret, &wrong, at(300), None), None);
        // Another secret's code is refused too.
        let other = TotpSecret::from_bytes([7; SECRET_BYTES]);
        assert_eq!(verify(&other, &good, at(300), None), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = rfc_secret();
        let good = code_for_step(1);
        assert_eq!(verify(&secret, &good, at(59), None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "28708a",
            " 287082",
            "287082 ",
            "287 082",
            "-28708",
            "+28708",
            "２８７０８２", // full-width digits
            "94287082",     // the 8-digit code of the same step
        ] {
            assert_eq!(verify(&secret, bad, at(59), None), None, "{bad:?}");
        }
    }

    #[test]
    fn times_before_1970_are_refused() {
        assert_eq!(verify(&rfc_secret(), &code_for_step(0), at(-1), None), None);
    }

    #[test]
    fn secrets_are_160_random_bits() {
        let first = TotpSecret::generate().unwrap();
        let second = TotpSecret::generate().unwrap();
        assert_eq!(first.as_bytes().len(), 20);
        assert_ne!(first, second);
        assert_ne!(first.as_bytes(), &[0; SECRET_BYTES]);
    }

    #[test]
    fn secrets_round_trip_through_unpadded_upper_case_base32() {
        let secret = rfc_secret();
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(), secret);
        assert_eq!(TotpSecret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap(), secret);
        let random = TotpSecret::generate().unwrap();
        let text = random.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text).unwrap(), random);
    }

    #[test]
    fn malformed_base32_secrets_are_refused() {
        for bad in [
            "",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ",   // 31 characters
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA", // 33
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBV", // 25 bytes
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",  // not in the alphabet
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ=",
            "GEZDGNBV GY3TQOJQGEZDGNBVGY3TQOJ",
        ] {
            assert!(matches!(TotpSecret::from_base32(bad), Err(TotpError::InvalidSecret)), "{bad}");
        }
    }

    #[test]
    fn base32_matches_the_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes(), BASE32_UPPER), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes(), "{encoded}");
        }
        // Non-zero leftover bits and impossible lengths have no decoding.
        assert_eq!(base32_decode("MZ"), None);
        assert_eq!(base32_decode("MZX"), None);
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let secret = rfc_secret();
        let debug = format!("{secret:?}");
        assert!(!debug.contains("GEZDGNBV") && !debug.contains("49"), "{debug}");
    }

    #[test]
    fn the_otpauth_uri_has_the_key_uri_format() {
        let uri = otpauth_uri(&rfc_secret(), "Acme Badges", "alice@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Badges:alice%40example.org\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Badges\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_otpauth_uri_encodes_issuer_and_account() {
        let issuer = "R&D: Bädges+Co/?#=%";
        let account = "bob+2fa@example.org";
        let uri = otpauth_uri(&rfc_secret(), issuer, account);
        assert!(
            uri.starts_with(
                "otpauth://totp/R%26D%3A%20B%C3%A4dges%2BCo%2F%3F%23%3D%25:bob%2B2fa%40example.org?"
            ),
            "{uri}"
        );
        // A URI parser gets the names back exactly.
        let parsed = url::Url::parse(&uri).unwrap();
        assert_eq!(parsed.scheme(), "otpauth");
        assert_eq!(parsed.host_str(), Some("totp"));
        let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("issuer"), Some(issuer));
        assert_eq!(get("secret"), Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        assert_eq!(query.len(), 5);
        let label = parsed.path().trim_start_matches('/');
        let (encoded_issuer, encoded_account) = label.split_once(':').unwrap();
        let decode =
            |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned();
        assert_eq!(decode(encoded_issuer), issuer);
        assert_eq!(decode(encoded_account), account);
    }

    #[test]
    fn the_qr_code_is_an_svg_with_a_path() {
        let uri = otpauth_uri(&rfc_secret(), "Acme Badges", "alice@example.org");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("<path"), "{svg}");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn a_uri_too_long_for_a_qr_code_is_an_error() {
        let uri = otpauth_uri(&rfc_secret(), "Acme", &"a".repeat(3000));
        assert!(matches!(qr_svg(&uri), Err(TotpError::Qr(_))));
    }

    #[test]
    fn recovery_codes_are_ten_distinct_grouped_base32_codes() {
        let codes = recovery_codes().unwrap();
        assert_eq!(codes.to_show.len(), RECOVERY_CODE_COUNT);
        assert_eq!(codes.to_store.len(), RECOVERY_CODE_COUNT);
        for code in &codes.to_show {
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4, "{code}");
            for group in groups {
                assert_eq!(group.len(), 5, "{code}");
                assert!(group.bytes().all(|b| BASE32_LOWER.contains(&b)), "{code}");
            }
        }
        let mut distinct = codes.to_show.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        // Another batch is different.
        let again = recovery_codes().unwrap();
        assert!(again.to_show.iter().all(|code| !codes.to_show.contains(code)));
    }

    #[test]
    fn recovery_codes_are_stored_as_hex_sha256_of_the_normalized_code() {
        let codes = recovery_codes().unwrap();
        for (code, stored) in codes.to_show.iter().zip(&codes.to_store) {
            assert_eq!(stored.len(), 64);
            let expected = hex::encode(Sha256::digest(code.replace('-', "").as_bytes()));
            assert_eq!(stored, &expected);
        }
    }

    #[test]
    fn a_recovery_code_matches_its_digest_however_it_is_typed() {
        let codes = recovery_codes().unwrap();
        let code = &codes.to_show[3];
        let stored = &codes.to_store[3];
        let bare = code.replace('-', "");
        let spaced = code.replace('-', " ");
        for typed in [
            code.clone(),
            code.to_uppercase(),
            bare.clone(),
            spaced,
            format!("  {}\t", bare.to_uppercase()),
        ] {
            assert!(recovery_code_matches(&typed, stored), "{typed:?}");
        }
        // Not another code's digest, and not a changed code.
        assert!(!recovery_code_matches(code, &codes.to_store[4]));
        let mut changed = bare.into_bytes();
        changed[0] = if changed[0] == b'a' { b'b' } else { b'a' };
        assert!(!recovery_code_matches(&String::from_utf8(changed).unwrap(), stored));
        assert!(!recovery_code_matches("", stored));
    }

    #[test]
    fn a_malformed_stored_recovery_code_matches_nothing() {
        let codes = recovery_codes().unwrap();
        let code = &codes.to_show[0];
        let stored = &codes.to_store[0];
        for bad in [String::new(), "zz".repeat(32), stored[..62].to_owned(), format!("{stored}00")]
        {
            assert!(!recovery_code_matches(code, &bad), "{bad}");
        }
        assert!(recovery_code_matches(code, stored));
    }

    #[test]
    fn debug_does_not_show_the_recovery_codes() {
        let codes = recovery_codes().unwrap();
        let debug = format!("{codes:?}");
        assert!(codes.to_show.iter().all(|code| !debug.contains(code.as_str())), "{debug}");
    }

    #[test]
    fn errors_map_to_the_use_case_errors() {
        assert!(matches!(
            crate::Error::from(TotpError::InvalidSecret),
            crate::Error::Validation { field, .. } if field == "totp_secret"
        ));
        assert!(matches!(
            crate::Error::from(TotpError::Qr("too long".into())),
            crate::Error::Unexpected(_)
        ));
    }
}

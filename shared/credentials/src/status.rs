//! W3C Bitstring Status List: the bitstring, its encoding, the entries credentials carry and
//! the `BitstringStatusListCredential` that publishes it.
//!
//! Bit `i` is bit `7 - i % 8` of byte `i / 8` (index 0 is the most significant bit of the
//! first byte). The published form is GZIP, then multibase base64url (`u` prefix, no padding).
//! Lists hold at least 131,072 entries, so that one revoked credential hides among many.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::{Error, Result, contexts};

/// The smallest list the specification allows (16 KiB of bits).
pub const MIN_ENTRIES: usize = 131_072;
/// The largest decoded list accepted from others (a gzip bomb stops here).
pub const MAX_DECODED_BYTES: usize = 16 * 1024 * 1024;

/// What a set bit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// Set: the credential is revoked, for good.
    Revocation,
    /// Set: the credential is suspended, until the bit is cleared.
    Suspension,
}

impl StatusPurpose {
    /// The `statusPurpose` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }

    /// Parses a `statusPurpose` string.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "revocation" => Ok(Self::Revocation),
            "suspension" => Ok(Self::Suspension),
            other => Err(Error::StatusList(format!("unsupported statusPurpose `{other}`"))),
        }
    }
}

/// A bitstring of credential statuses.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.bits.iter().map(|b| b.count_ones() as usize).sum::<usize>();
        f.debug_struct("StatusList").field("entries", &self.len()).field("set", &set).finish()
    }
}

impl StatusList {
    /// A list of `entries` cleared bits; at least [`MIN_ENTRIES`], a multiple of 8.
    pub fn new(entries: usize) -> Result<Self> {
        if entries < MIN_ENTRIES || !entries.is_multiple_of(8) || entries / 8 > MAX_DECODED_BYTES {
            return Err(Error::StatusList(format!(
                "a list holds a multiple of 8 entries, from {MIN_ENTRIES} to {}",
                MAX_DECODED_BYTES * 8
            )));
        }
        Ok(Self { bits: vec![0; entries / 8] })
    }

    /// A list from its raw bits (8 entries a byte, most significant bit first).
    pub fn from_bytes(bits: Vec<u8>) -> Result<Self> {
        if bits.len() * 8 < MIN_ENTRIES || bits.len() > MAX_DECODED_BYTES {
            return Err(Error::StatusList(format!(
                "a list holds from {MIN_ENTRIES} to {} entries",
                MAX_DECODED_BYTES * 8
            )));
        }
        Ok(Self { bits })
    }

    /// The raw bits.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.bits.len() * 8
    }

    /// Whether the list has no entries (never, for a list built by this crate).
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// The bit at `index`.
    pub fn get(&self, index: usize) -> Result<bool> {
        let byte = self.bits.get(index / 8).ok_or_else(|| self.out_of_range(index))?;
        Ok(byte & (0x80 >> (index % 8)) != 0)
    }

    /// Sets or clears the bit at `index`.
    pub fn set(&mut self, index: usize, value: bool) -> Result<()> {
        let error = self.out_of_range(index);
        let byte = self.bits.get_mut(index / 8).ok_or(error)?;
        if value {
            *byte |= 0x80 >> (index % 8);
        } else {
            *byte &= !(0x80 >> (index % 8));
        }
        Ok(())
    }

    fn out_of_range(&self, index: usize) -> Error {
        Error::StatusList(format!("index {index} is outside the list of {} entries", self.len()))
    }

    /// `encodedList`: `u` + base64url(gzip(bits)).
    pub fn encode(&self) -> String {
        let mut gzip =
            GzEncoder::new(Vec::with_capacity(self.bits.len() / 64 + 64), Compression::default());
        // Writing to a Vec cannot fail.
        let compressed =
            gzip.write_all(&self.bits).and_then(|()| gzip.finish()).unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    /// Reads an `encodedList` (multibase `u`; the prefix-less base64url of older lists too).
    pub fn decode(encoded: &str) -> Result<Self> {
        let body = encoded.strip_prefix('u').unwrap_or(encoded);
        let compressed = URL_SAFE_NO_PAD
            .decode(body.trim_end_matches('='))
            .map_err(|_| Error::StatusList("encodedList is not base64url".into()))?;
        let mut bits = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .take(MAX_DECODED_BYTES as u64 + 1)
            .read_to_end(&mut bits)
            .map_err(|_| Error::StatusList("encodedList is not GZIP".into()))?;
        if bits.len() > MAX_DECODED_BYTES {
            return Err(Error::StatusList("encodedList expands beyond the size limit".into()));
        }
        if bits.len() * 8 < MIN_ENTRIES {
            return Err(Error::StatusList(format!(
                "a list must hold at least {MIN_ENTRIES} entries"
            )));
        }
        Ok(Self { bits })
    }
}

/// The `credentialStatus` entry for `index` in the list published at `list_url`.
pub fn entry(list_url: &str, index: usize, purpose: StatusPurpose) -> Value {
    json!({
        "id": format!("{list_url}#{index}"),
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.as_str(),
        "statusListIndex": index.to_string(),
        "statusListCredential": list_url,
    })
}

/// The unsigned `BitstringStatusListCredential` publishing `list` at `list_url`.
pub fn list_credential(
    list_url: &str,
    issuer: &str,
    purpose: StatusPurpose,
    list: &StatusList,
    valid_from: DateTime<Utc>,
) -> Value {
    json!({
        "@context": [contexts::VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from.to_rfc3339_opts(SecondsFormat::Secs, true),
        "credentialSubject": {
            "id": format!("{list_url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.as_str(),
            "encodedList": list.encode(),
        }
    })
}

/// A `BitstringStatusListEntry` as a credential carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    /// `statusListCredential`.
    pub list_url: String,
    /// `statusListIndex`.
    pub index: usize,
    /// `statusPurpose`.
    pub purpose: StatusPurpose,
}

impl EntryRef {
    /// Reads an entry; `statusListIndex` may be a string (as specified) or a number.
    pub fn parse(entry: &Value) -> Result<Self> {
        if entry.get("type").and_then(Value::as_str) != Some("BitstringStatusListEntry") {
            return Err(Error::StatusList("not a BitstringStatusListEntry".into()));
        }
        let list_url = entry
            .get("statusListCredential")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::StatusList("entry has no statusListCredential".into()))?
            .to_owned();
        let index = match entry.get("statusListIndex") {
            Some(Value::String(text)) => text.parse::<usize>().ok(),
            Some(Value::Number(number)) => number.as_u64().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        }
        .ok_or_else(|| Error::StatusList("statusListIndex is not a non-negative integer".into()))?;
        let purpose = StatusPurpose::parse(
            entry.get("statusPurpose").and_then(Value::as_str).unwrap_or_default(),
        )?;
        Ok(Self { list_url, index, purpose })
    }

    /// The bit for this entry in `list_credential` (whose proof the caller has verified):
    /// the credential must be a `BitstringStatusListCredential` with the same purpose.
    pub fn is_set_in(&self, list_credential: &Value) -> Result<bool> {
        let is_list = list_credential
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t == "BitstringStatusListCredential"));
        if !is_list {
            return Err(Error::StatusList(
                "the status list credential is not a BitstringStatusListCredential".into(),
            ));
        }
        let subject = list_credential.get("credentialSubject").ok_or_else(|| {
            Error::StatusList("the status list credential has no credentialSubject".into())
        })?;
        let purposes = match subject.get("statusPurpose") {
            Some(Value::String(purpose)) => vec![purpose.as_str()],
            Some(Value::Array(purposes)) => purposes.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !purposes.contains(&self.purpose.as_str()) {
            return Err(Error::StatusList(format!(
                "the list is not for `{}`",
                self.purpose.as_str()
            )));
        }
        let encoded = subject
            .get("encodedList")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::StatusList("the status list has no encodedList".into()))?;
        StatusList::decode(encoded)?.get(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_set_cleared_and_most_significant_first() {
        let mut list = StatusList::new(MIN_ENTRIES).unwrap();
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        assert_eq!(&list.bits[..2], &[0x80, 0x40]);
        assert!(list.get(9).unwrap());
        list.set(9, false).unwrap();
        assert!(!list.get(9).unwrap());
        assert!(list.get(MIN_ENTRIES).is_err());
        assert!(list.set(MIN_ENTRIES, true).is_err());
    }

    #[test]
    fn lists_below_the_minimum_are_refused() {
        assert!(StatusList::new(1024).is_err());
        assert!(StatusList::new(MIN_ENTRIES + 1).is_err());
    }

    #[test]
    fn encoding_round_trips_and_starts_with_the_gzip_magic() {
        let mut list = StatusList::new(MIN_ENTRIES * 2).unwrap();
        list.set(1337, true).unwrap();
        list.set(MIN_ENTRIES * 2 - 1, true).unwrap();
        let encoded = list.encode();
        assert!(encoded.starts_with("uH4sI"), "{encoded}");
        assert_eq!(StatusList::decode(&encoded).unwrap(), list);
    }

    #[test]
    fn the_vectors_status_list_has_bit_1337_set() {
        let credential: Value =
            serde_json::from_slice(include_bytes!("../tests/vectors/status-list.json")).unwrap();
        let entry = |index: usize| EntryRef {
            list_url: "https://badges.example.com/status/revocation/1".into(),
            index,
            purpose: StatusPurpose::Revocation,
        };
        assert!(entry(1337).is_set_in(&credential).unwrap());
        assert!(!entry(1336).is_set_in(&credential).unwrap());
        let suspension = EntryRef { purpose: StatusPurpose::Suspension, ..entry(1337) };
        assert!(suspension.is_set_in(&credential).is_err());
    }

    #[test]
    fn entries_round_trip() {
        let value = entry("https://x.example/status/1", 42, StatusPurpose::Suspension);
        assert_eq!(value["statusListIndex"], "42");
        let parsed = EntryRef::parse(&value).unwrap();
        assert_eq!(parsed.index, 42);
        assert_eq!(parsed.purpose, StatusPurpose::Suspension);
        assert!(
            EntryRef::parse(&json!({"type": "BitstringStatusListEntry", "statusListIndex": "-1"}))
                .is_err()
        );
    }

    #[test]
    fn garbage_and_gzip_bombs_are_refused() {
        assert!(StatusList::decode("u!!!").is_err());
        assert!(StatusList::decode("uAAAA").is_err());
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&vec![0u8; MAX_DECODED_BYTES + 1024]).unwrap();
        let bomb = format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().unwrap()));
        assert!(StatusList::decode(&bomb).is_err());
    }
}

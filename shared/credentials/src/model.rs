//! The Open Badges 3.0 data model, its builder, and the structural checks every credential
//! passes before it is signed or trusted.
//!
//! The types serialize to the JSON the 1EdTech schema expects: `type`, `proof`, `evidence`
//! and `credentialSchema` are arrays; optional fields are left out rather than `null`; dates
//! are RFC 3339 in UTC with whole seconds. [`CredentialBuilder::build`] refuses what a
//! verifier would refuse later (missing required fields, bad URLs, bad dates, control
//! characters other than LF and CR), so an issuer finds out before signing.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Error, Result, contexts};

/// Dates as `YYYY-MM-DDTHH:MM:SSZ`.
mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(
        date: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&date.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map(|d| d.to_utc()).map_err(D::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            date: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match date {
                Some(date) => super::serialize(date, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| {
                    DateTime::parse_from_rfc3339(&text)
                        .map(|d| d.to_utc())
                        .map_err(D::Error::custom)
                })
                .transpose()
        }
    }
}

/// An image: its URL (or `data:` URI) and an optional caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

impl Image {
    /// An `Image` at `url`.
    pub fn new(url: impl Into<String>, caption: Option<String>) -> Self {
        Self { id: url.into(), kind: "Image".into(), caption }
    }
}

/// An issuer or creator profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

impl Profile {
    /// A profile with an id (a `did:web`, usually) and a name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: vec!["Profile".into()],
            name: Some(name.into()),
            url: None,
            email: None,
            description: None,
            image: None,
        }
    }
}

/// How the achievement is earned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Criteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// A skill, competency or standard the achievement aligns to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    pub target_name: String,
    pub target_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
}

impl Alignment {
    /// An alignment to `target_name` at `target_url`.
    pub fn new(target_name: impl Into<String>, target_url: impl Into<String>) -> Self {
        Self {
            kind: vec!["Alignment".into()],
            target_name: target_name.into(),
            target_url: target_url.into(),
            target_description: None,
            target_framework: None,
            target_code: None,
            target_type: None,
        }
    }
}

/// A kind of result an achievement can record (a grade, a score, a level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDescription {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    pub name: String,
    pub result_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_value: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_max: Option<String>,
}

/// The achievement a credential attests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    pub name: String,
    pub description: String,
    pub criteria: Criteria,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<Alignment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result_description: Vec<ResultDescription>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Profile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_of_study: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_language: Option<String>,
}

impl Achievement {
    /// An achievement with its required fields; criteria as a narrative.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        criteria_narrative: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            kind: vec!["Achievement".into()],
            achievement_type: None,
            name: name.into(),
            description: description.into(),
            criteria: Criteria { id: None, narrative: Some(criteria_narrative.into()) },
            image: None,
            alignment: Vec::new(),
            result_description: Vec::new(),
            tag: Vec::new(),
            creator: None,
            human_code: None,
            field_of_study: None,
            version: None,
            in_language: None,
        }
    }
}

/// A recipient identifier: a plain or salted-hash identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub identity_hash: String,
    pub identity_type: String,
    pub hashed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

impl IdentityObject {
    /// An email address hashed as OB 3.0 says: `sha256$` + hex(sha256(email + salt)).
    pub fn hashed_email(email: &str, salt: &str) -> Self {
        Self {
            kind: "IdentityObject".into(),
            identity_hash: hash_identity(email, salt),
            identity_type: "emailAddress".into(),
            hashed: true,
            salt: Some(salt.into()),
        }
    }

    /// Whether `email` is the identity this object holds (hashed or plain).
    pub fn matches(&self, email: &str) -> bool {
        if self.hashed {
            self.identity_hash == hash_identity(email, self.salt.as_deref().unwrap_or_default())
        } else {
            self.identity_hash == email
        }
    }
}

/// `sha256$` + hex(sha256(value + salt)).
pub fn hash_identity(value: &str, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(value.as_bytes());
    hasher.update(salt.as_bytes());
    format!("sha256${}", hex::encode(hasher.finalize()))
}

/// A result the recipient obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementResult {
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl AchievementResult {
    /// A result with a value for the result description `description_id`.
    pub fn new(description_id: Option<String>, value: impl Into<String>) -> Self {
        Self {
            kind: vec!["Result".into()],
            result_description: description_id,
            value: Some(value.into()),
            achieved_level: None,
            status: None,
        }
    }
}

/// The recipient and what they achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<IdentityObject>,
    pub achievement: Achievement,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<AchievementResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_end_date: Option<String>,
}

impl AchievementSubject {
    /// A subject identified by an id (a DID or URL).
    pub fn with_id(id: impl Into<String>, achievement: Achievement) -> Self {
        Self { id: Some(id.into()), ..Self::anonymous(achievement) }
    }

    /// A subject identified by a hashed identity (no id).
    pub fn with_identity(identity: IdentityObject, achievement: Achievement) -> Self {
        Self { identifier: vec![identity], ..Self::anonymous(achievement) }
    }

    fn anonymous(achievement: Achievement) -> Self {
        Self {
            id: None,
            kind: vec!["AchievementSubject".into()],
            name: None,
            identifier: Vec::new(),
            achievement,
            result: Vec::new(),
            activity_end_date: None,
        }
    }
}

/// Evidence of the achievement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

impl Evidence {
    /// Evidence at a URL.
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            id: Some(url.into()),
            kind: vec!["Evidence".into()],
            name: None,
            narrative: None,
            description: None,
            genre: None,
            audience: None,
        }
    }
}

/// A JSON Schema the credential claims to satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialSchema {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A `BitstringStatusListEntry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BitstringStatusListEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status_purpose: String,
    pub status_list_index: String,
    pub status_list_credential: String,
}

impl BitstringStatusListEntry {
    /// The entry for `index` of the list at `list_url`.
    pub fn new(list_url: &str, index: usize, purpose: crate::status::StatusPurpose) -> Self {
        Self {
            id: format!("{list_url}#{index}"),
            kind: "BitstringStatusListEntry".into(),
            status_purpose: purpose.as_str().into(),
            status_list_index: index.to_string(),
            status_list_credential: list_url.into(),
        }
    }
}

/// `credentialStatus`: one entry, or several (for example revocation and suspension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CredentialStatus {
    One(BitstringStatusListEntry),
    Many(Vec<BitstringStatusListEntry>),
}

/// An Open Badges 3.0 credential, unsigned or signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenBadgeCredential {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Vec<String>,
    pub issuer: Profile,
    #[serde(with = "rfc3339")]
    pub valid_from: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339::option")]
    pub valid_until: Option<DateTime<Utc>>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub credential_subject: AchievementSubject,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<CredentialStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_schema: Vec<CredentialSchema>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proof: Vec<Value>,
}

/// `AchievementCredential` is the same type as `OpenBadgeCredential` in OB 3.0.
pub type AchievementCredential = OpenBadgeCredential;

impl OpenBadgeCredential {
    /// Starts a credential with its required parts.
    pub fn builder(
        id: impl Into<String>,
        issuer: Profile,
        subject: AchievementSubject,
    ) -> CredentialBuilder {
        CredentialBuilder {
            credential: Self {
                context: vec![contexts::VC_V2.into(), contexts::OB_V3.into()],
                id: id.into(),
                kind: vec!["VerifiableCredential".into(), "OpenBadgeCredential".into()],
                name: subject.achievement.name.clone(),
                issuer,
                valid_from: DateTime::UNIX_EPOCH,
                valid_until: None,
                description: None,
                image: None,
                credential_subject: subject,
                evidence: Vec::new(),
                credential_status: None,
                credential_schema: Vec::new(),
                proof: Vec::new(),
            },
            valid_from: None,
        }
    }

    /// The JSON form, after the structural checks.
    pub fn to_json(&self) -> Result<Value> {
        let value = serde_json::to_value(self).map_err(|e| Error::Json(e.to_string()))?;
        check_credential_json(&value)?;
        Ok(value)
    }

    /// Reads a credential, after the structural checks.
    pub fn from_json(value: &Value) -> Result<Self> {
        check_credential_json(value)?;
        serde_json::from_value(value.clone()).map_err(|e| Error::Json(e.to_string()))
    }
}

/// Assembles an [`OpenBadgeCredential`]; [`build`](Self::build) validates it.
#[derive(Debug, Clone)]
pub struct CredentialBuilder {
    credential: OpenBadgeCredential,
    valid_from: Option<DateTime<Utc>>,
}

impl CredentialBuilder {
    /// `validFrom` (required).
    pub fn valid_from(mut self, date: DateTime<Utc>) -> Self {
        self.valid_from = Some(date);
        self
    }

    /// `validUntil`.
    pub fn valid_until(mut self, date: Option<DateTime<Utc>>) -> Self {
        self.credential.valid_until = date;
        self
    }

    /// The credential's own name (defaults to the achievement's).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.credential.name = name.into();
        self
    }

    /// The credential's description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.credential.description = Some(description.into());
        self
    }

    /// The credential's image.
    pub fn image(mut self, image: Image) -> Self {
        self.credential.image = Some(image);
        self
    }

    /// Adds evidence.
    pub fn evidence(mut self, evidence: Evidence) -> Self {
        self.credential.evidence.push(evidence);
        self
    }

    /// Sets `credentialStatus` (one entry per purpose).
    pub fn status(mut self, mut entries: Vec<BitstringStatusListEntry>) -> Self {
        self.credential.credential_status = match entries.len() {
            0 => None,
            1 => entries.pop().map(CredentialStatus::One),
            _ => Some(CredentialStatus::Many(entries)),
        };
        self
    }

    /// Adds a `credentialSchema`; the OB extensions context comes with it.
    pub fn schema(mut self, id: impl Into<String>) -> Self {
        self.credential.credential_schema.push(CredentialSchema {
            id: id.into(),
            kind: "1EdTechJsonSchemaValidator2019".into(),
        });
        if !self.credential.context.iter().any(|c| c == contexts::OB_EXTENSIONS) {
            self.credential.context.push(contexts::OB_EXTENSIONS.into());
        }
        self
    }

    /// Types it as `AchievementCredential` instead of `OpenBadgeCredential`.
    pub fn achievement_credential(mut self) -> Self {
        self.credential.kind = vec!["VerifiableCredential".into(), "AchievementCredential".into()];
        self
    }

    /// The credential, or the first thing wrong with it.
    pub fn build(self) -> Result<OpenBadgeCredential> {
        let mut credential = self.credential;
        credential.valid_from =
            self.valid_from.ok_or_else(|| Error::field("validFrom", "is required"))?;
        credential.to_json()?;
        Ok(credential)
    }
}

/// The structural checks of an OB 3.0 credential as JSON (signed or not): required fields,
/// types, contexts, ids and URLs, dates, and no control characters other than LF and CR.
pub fn check_credential_json(value: &Value) -> Result<()> {
    let object = value
        .as_object()
        .ok_or_else(|| Error::Json("a credential must be a JSON object".into()))?;
    let contexts = match object.get("@context") {
        Some(Value::Array(entries)) => {
            entries.iter().map(|e| e.as_str().unwrap_or_default()).collect::<Vec<_>>()
        }
        _ => return Err(Error::field("@context", "must be an array of context URLs")),
    };
    if contexts.first() != Some(&contexts::VC_V2) && contexts.first() != Some(&contexts::VC_V1) {
        return Err(Error::field("@context", "must start with the Verifiable Credentials context"));
    }
    if !contexts.iter().any(|c| c.starts_with("https://purl.imsglobal.org/spec/ob/v3p0/context")) {
        return Err(Error::field("@context", "must include the Open Badges 3.0 context"));
    }
    uri(object.get("id"), "id")?;
    let types: Vec<&str> = match object.get("type") {
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(single)) => vec![single.as_str()],
        _ => return Err(Error::field("type", "is required")),
    };
    if !types.contains(&"VerifiableCredential") {
        return Err(Error::field("type", "must include VerifiableCredential"));
    }
    if !types.iter().any(|t| *t == "OpenBadgeCredential" || *t == "AchievementCredential") {
        return Err(Error::field(
            "type",
            "must include OpenBadgeCredential or AchievementCredential",
        ));
    }
    match object.get("issuer") {
        Some(Value::String(_)) => uri(object.get("issuer"), "issuer")?,
        Some(issuer @ Value::Object(_)) => {
            uri(issuer.get("id"), "issuer.id")?;
            optional_web_url(issuer.get("url"), "issuer.url")?;
            image(issuer.get("image"), "issuer.image")?;
        }
        _ => return Err(Error::field("issuer", "is required")),
    }
    let valid_from = match (object.get("validFrom"), object.get("issuanceDate")) {
        (Some(date), _) => date_time(date, "validFrom")?,
        (None, Some(date)) if contexts.first() == Some(&contexts::VC_V1) => {
            date_time(date, "issuanceDate")?
        }
        _ => return Err(Error::field("validFrom", "is required")),
    };
    let valid_until = match (object.get("validUntil"), object.get("expirationDate")) {
        (Some(date), _) => Some(date_time(date, "validUntil")?),
        (None, Some(date)) => Some(date_time(date, "expirationDate")?),
        _ => None,
    };
    if valid_until.is_some_and(|until| until <= valid_from) {
        return Err(Error::field("validUntil", "must be after validFrom"));
    }
    image(object.get("image"), "image")?;
    let subject = object
        .get("credentialSubject")
        .ok_or_else(|| Error::field("credentialSubject", "is required"))?;
    let subjects: Vec<&Value> = match subject {
        Value::Array(subjects) => subjects.iter().collect(),
        single => vec![single],
    };
    for subject in subjects {
        check_subject(subject)?;
    }
    if let Some(evidence) = object.get("evidence") {
        let Value::Array(items) = evidence else {
            return Err(Error::field("evidence", "must be an array"));
        };
        for item in items {
            if item.get("id").is_some() {
                uri(item.get("id"), "evidence.id")?;
            }
        }
    }
    check_text(value, &mut String::new())
}

fn check_subject(subject: &Value) -> Result<()> {
    if !subject.is_object() {
        return Err(Error::field("credentialSubject", "must be an object"));
    }
    if subject.get("id").is_some() {
        uri(subject.get("id"), "credentialSubject.id")?;
    }
    let achievement = subject
        .get("achievement")
        .ok_or_else(|| Error::field("credentialSubject.achievement", "is required"))?;
    uri(achievement.get("id"), "credentialSubject.achievement.id")?;
    for field in ["name", "description"] {
        let text = achievement.get(field).and_then(Value::as_str).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(Error::field(
                format!("credentialSubject.achievement.{field}"),
                "is required",
            ));
        }
    }
    let criteria = achievement
        .get("criteria")
        .filter(|c| c.get("id").is_some() || c.get("narrative").is_some())
        .ok_or_else(|| {
            Error::field("credentialSubject.achievement.criteria", "needs an id or a narrative")
        })?;
    if criteria.get("id").is_some() {
        uri(criteria.get("id"), "credentialSubject.achievement.criteria.id")?;
    }
    image(achievement.get("image"), "credentialSubject.achievement.image")?;
    for alignment in achievement.get("alignment").and_then(Value::as_array).into_iter().flatten() {
        let name = alignment.get("targetName").and_then(Value::as_str).unwrap_or_default();
        if name.trim().is_empty() {
            return Err(Error::field(
                "credentialSubject.achievement.alignment.targetName",
                "is required",
            ));
        }
        web_url(alignment.get("targetUrl"), "credentialSubject.achievement.alignment.targetUrl")?;
    }
    for identity in subject.get("identifier").and_then(Value::as_array).into_iter().flatten() {
        let hashed = identity.get("hashed").and_then(Value::as_bool);
        let hash = identity.get("identityHash").and_then(Value::as_str).unwrap_or_default();
        match hashed {
            Some(true) if !is_sha256_identity(hash) => {
                return Err(Error::field(
                    "credentialSubject.identifier.identityHash",
                    "must be sha256$ + 64 hex digits",
                ));
            }
            None => return Err(Error::field("credentialSubject.identifier.hashed", "is required")),
            _ => {}
        }
    }
    Ok(())
}

fn is_sha256_identity(hash: &str) -> bool {
    hash.strip_prefix("sha256$")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn uri(value: Option<&Value>, field: &str) -> Result<()> {
    let text = value.and_then(Value::as_str).ok_or_else(|| Error::field(field, "is required"))?;
    let parsed = url::Url::parse(text)
        .map_err(|_| Error::field(field, format!("`{text}` is not an absolute URI")))?;
    if text.chars().any(char::is_whitespace) || parsed.scheme().is_empty() {
        return Err(Error::field(field, format!("`{text}` is not an absolute URI")));
    }
    // The URL parser accepts characters an RDF IRI may not hold (`{`, `|`, `^`, ...); such an
    // IRI would be left out of the signed data, so it is refused here, where the field is known.
    if oxrdf::NamedNode::new(text).is_err() {
        return Err(Error::field(field, format!("`{text}` is not a valid IRI")));
    }
    Ok(())
}

fn web_url(value: Option<&Value>, field: &str) -> Result<()> {
    uri(value, field)?;
    let text = value.and_then(Value::as_str).unwrap_or_default();
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(Error::field(field, format!("`{text}` is not an http(s) URL"))),
    }
}

fn optional_web_url(value: Option<&Value>, field: &str) -> Result<()> {
    value.map_or(Ok(()), |v| web_url(Some(v), field))
}

fn image(value: Option<&Value>, field: &str) -> Result<()> {
    match value {
        None => Ok(()),
        Some(Value::String(_)) => uri(value, field),
        Some(image) => uri(image.get("id"), &format!("{field}.id")),
    }
}

fn date_time(value: &Value, field: &str) -> Result<DateTime<Utc>> {
    let text = value.as_str().ok_or_else(|| Error::field(field, "must be a date-time string"))?;
    DateTime::parse_from_rfc3339(text)
        .map(|date| date.to_utc())
        .map_err(|_| Error::field(field, format!("`{text}` is not an RFC 3339 date-time")))
}

/// No string (key or value) may hold a control character other than LF or CR: JSON-LD
/// libraries escape them differently, which breaks signatures across implementations.
fn check_text(value: &Value, path: &mut String) -> Result<()> {
    let bad = |text: &str| {
        // Printable ASCII (the usual case) needs no look at characters.
        let plain = text.bytes().all(|b| (0x20..0x7F).contains(&b) || b == b'\n' || b == b'\r');
        !plain
            && text.chars().any(|c| {
                (c.is_control() && c != '\n' && c != '\r') || c == '\u{FFFE}' || c == '\u{FFFF}'
            })
    };
    match value {
        Value::String(text) if bad(text) => Err(Error::field(
            if path.is_empty() { "(root)".to_owned() } else { path.clone() },
            "contains a control character other than LF or CR",
        )),
        Value::Object(object) => {
            for (key, child) in object {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if bad(key) {
                    return Err(Error::field(path.clone(), "key contains a control character"));
                }
                check_text(child, path)?;
                path.truncate(length);
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|item| check_text(item, path)),
        _ => Ok(()),
    }
}

/// Formats a date as the model serializes it.
pub fn format_date(date: DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StatusPurpose;

    fn date(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn builder() -> CredentialBuilder {
        let achievement =
            Achievement::new("https://example.com/a/1", "Rust", "Writes Rust.", "Pass the test.");
        let subject = AchievementSubject::with_identity(
            IdentityObject::hashed_email("ada@example.com", "salt"),
            achievement,
        );
        OpenBadgeCredential::builder(
            "urn:uuid:0b3c0de0-0000-4000-8000-000000000001",
            Profile::new("did:web:example.com", "Ex"),
            subject,
        )
        .valid_from(date("2025-01-01T00:00:00Z"))
    }

    #[test]
    fn a_built_credential_serializes_with_arrays_and_canonicalizes() {
        let credential = builder()
            .valid_until(Some(date("2030-01-01T00:00:00Z")))
            .evidence(Evidence::at("https://example.com/evidence/1"))
            .status(vec![BitstringStatusListEntry::new("https://example.com/status/1", 7, StatusPurpose::Revocation)])
            .schema("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json")
            .build()
            .unwrap();
        let json = credential.to_json().unwrap();
        assert!(json["type"].is_array());
        assert!(json["evidence"].is_array());
        assert!(json["credentialSchema"].is_array());
        assert_eq!(json["validFrom"], "2025-01-01T00:00:00Z");
        assert_eq!(
            json["credentialSubject"]["identifier"][0]["identityHash"],
            hash_identity("ada@example.com", "salt")
        );
        assert!(json.get("proof").is_none());
        crate::canon::canonicalize(&json).unwrap();
        assert_eq!(OpenBadgeCredential::from_json(&json).unwrap(), credential);
    }

    #[test]
    fn the_vectors_unsigned_credentials_pass_the_structural_checks_and_parse() {
        for kind in ["minimal", "typical", "rich"] {
            let path = format!("{}/tests/vectors/{kind}/unsigned.json", env!("CARGO_MANIFEST_DIR"));
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            check_credential_json(&value).unwrap();
            OpenBadgeCredential::from_json(&value).unwrap();
        }
    }

    #[test]
    fn hashed_identities_match_their_email_only() {
        let identity = IdentityObject::hashed_email("ada@example.com", "pepper");
        assert!(identity.matches("ada@example.com"));
        assert!(!identity.matches("eve@example.com"));
        assert!(identity.identity_hash.starts_with("sha256$"));
    }

    #[test]
    fn invalid_input_is_a_typed_error_naming_the_field() {
        let field_of = |result: Result<OpenBadgeCredential>| match result {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        let mut no_date = builder();
        no_date.valid_from = None;
        assert_eq!(field_of(no_date.build()), "validFrom");
        assert_eq!(
            field_of(builder().valid_until(Some(date("2024-01-01T00:00:00Z"))).build()),
            "validUntil"
        );
        let mut bad_id = builder();
        bad_id.credential.id = "not a uri".into();
        assert_eq!(field_of(bad_id.build()), "id");
        let mut bad_url = builder();
        bad_url
            .credential
            .credential_subject
            .achievement
            .alignment
            .push(Alignment::new("Skill", "ftp//nope"));
        assert_eq!(field_of(bad_url.build()), "credentialSubject.achievement.alignment.targetUrl");
        let mut control = builder();
        control.credential.credential_subject.achievement.name = "Tab\there".into();
        assert_eq!(field_of(control.build()), "credentialSubject.achievement.name");
        let mut empty = builder();
        empty.credential.credential_subject.achievement.description = " ".into();
        assert_eq!(field_of(empty.build()), "credentialSubject.achievement.description");
        // LF and CR are allowed.
        let mut multiline = builder();
        multiline.credential.credential_subject.achievement.criteria.narrative =
            Some("1.\r\n2.".into());
        multiline.build().unwrap();
        // URLs the URL parser takes but RDF does not: they would be left out of the signature.
        let braces = builder().image(Image::new("https://example.com/{badge}.png", None)).build();
        assert_eq!(field_of(braces), "image.id");
        let bar = builder().evidence(Evidence::at("https://example.com/a|b")).build();
        assert_eq!(field_of(bar), "evidence.id");
    }
}

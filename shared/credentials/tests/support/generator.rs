//! A generator of Open Badges 3.0 documents for differential testing of the two
//! canonicalization paths, shared by `tests/fast_path.rs` and the `canonicalize_differential`
//! fuzz target (which includes this file by path).
//!
//! Every decision comes from a [`Source`] of random numbers: a seeded [`SplitMix`] in tests,
//! the fuzzer's input bytes in the fuzz target (so that libFuzzer's mutations change the
//! structure of the document). It covers the whole OB 3.0 data model (credentials with
//! AchievementSubjects, nested achievements, results and result descriptions with rubrics and
//! `allowedValue` lists, evidence, alignments, profiles with addresses and geo coordinates,
//! identity objects and identifier entries, endorsements, status entries, credential schemas,
//! refresh services), signed documents (`proof`, a `@graph` container), proof
//! configurations, DID documents and status lists, with every context list the bundle
//! allows; strings with combining marks, right-to-left text, emoji and every control
//! character; numbers of every shape; and identical siblings (blank nodes that only the
//! N-degree hash of RDFC-1.0 tells apart). A share of the documents is then mutated: undefined
//! terms, keywords, compact and relative IRIs, blank node identifiers, wrong value types,
//! nulls, empty and nested arrays, inline contexts.

#![allow(dead_code)]

use serde_json::{Map, Number, Value, json};

/// Random numbers.
pub trait Source {
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: small, fast, good enough for test data.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl Source for SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Fuzzer bytes, eight at a time; zeros once they run out.
#[derive(Debug, Clone)]
pub struct Bytes<'a>(pub &'a [u8]);

impl Source for Bytes<'_> {
    fn next_u64(&mut self) -> u64 {
        let take = self.0.len().min(8);
        let mut buffer = [0u8; 8];
        buffer[..take].copy_from_slice(&self.0[..take]);
        self.0 = &self.0[take..];
        u64::from_le_bytes(buffer)
    }
}

pub struct Gen<S> {
    source: S,
    /// Share (percent) of documents that get mutations.
    pub mutation_percent: u64,
    depth: usize,
}

const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
const VC_V1: &str = "https://www.w3.org/2018/credentials/v1";
const OB_300: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context.json";
const OB_301: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json";
const OB_302: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json";
const OB_303: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
const OB_EXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
const STATUS_V1: &str = "https://www.w3.org/ns/credentials/status/v1";
const DI_V1: &str = "https://w3id.org/security/data-integrity/v1";
const DI_V2: &str = "https://w3id.org/security/data-integrity/v2";
const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
const DID_V1: &str = "https://www.w3.org/ns/did/v1";
const ALL_CONTEXTS: &[&str] = &[
    VC_V2,
    VC_V1,
    OB_300,
    OB_301,
    OB_302,
    OB_303,
    OB_EXT,
    STATUS_V1,
    DI_V1,
    DI_V2,
    MULTIKEY_V1,
    DID_V1,
];

const WORDS: &[&str] = &[
    "badge",
    "Cloud Security",
    "Assessment",
    "narrative",
    "level 3",
    "Example Corp",
    "skills",
    "ESF-SEC-IAM-01",
    "ceasn:Competency",
    "Certification",
    "1. Complete the course.\n2. Pass the exam.",
    "80%",
    "sha256$f578e0d01370e8e2de374ec8c0be063e716c2da049d39cbe2c200bc7655fcf49",
    "emailAddress",
    "Kosher-2024",
    "",
    " ",
    "a",
    "Ünïcödé",
    "e\u{301}\u{327}",
    "日本語のバッジ",
    "العربية",
    "עברית",
    "\u{202E}rtl override\u{202C}",
    "😀",
    "👩\u{200D}💻",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "quote \" and backslash \\",
    "tab\tand\r\ncrlf",
    "nul \u{0} bell \u{7} bs \u{8} vt \u{b} ff \u{c} esc \u{1b} us \u{1f}",
    "del \u{7f} c1 \u{80}\u{85}\u{9f} nbsp \u{a0}",
    "\u{2028}\u{2029}\u{feff}",
    "\u{fffe}\u{ffff}\u{fffd}",
    "<tag> & 'apostrophe'",
    "@value",
    "_:b0",
    "urn:x-undefined-term:foo",
    "https://example.com/not-an-id",
];

const IRIS: &[&str] = &[
    "https://badges.example.com/achievements/cloud-security",
    "https://example.com/",
    "https://example.com/a/b?query=1&x=y#fragment",
    "http://example.com/a%20b",
    "https://例え.jp/パス/バッジ",
    "https://example.com/~user/é",
    "did:web:badges.example.com",
    "did:web:example.com%3A8443:issuers:1",
    "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",
    "urn:uuid:6f2d8a55-1b9a-4c1e-9f7a-000000000002",
    "mailto:learner@example.com",
    "tag:example.com,2024:badge",
    "urn:isbn:0451450523",
    "ceasn:Competency",
    "http://[::1]:8080/x",
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
];

/// IRIs the safe mode refuses or that are not IRIs at all.
const BAD_IRIS: &[&str] = &[
    "achievements/1",
    "",
    "#fragment",
    "//host/path",
    "_:b0",
    "_:b1",
    "_:",
    "http://exa mple.com",
    "https://example.com/\u{7f}",
    "https://example.com/<>",
    "urn:x-undefined-term:foo",
    "https://relative-iri.invalid/x",
    "@foo",
    "@id",
    "id",
    "type",
    "name",
    "name:foo",
    "xsd:dateTime",
    "cred:issuer",
    "1a:b",
    "a b:c",
    ":x",
    "Achievement",
];

const DATES: &[&str] = &[
    "2024-06-01T00:00:00Z",
    "2099-12-31T23:59:59Z",
    "2024-06-01T12:30:45.123+02:00",
    "2024-06-01",
    "1999-01-01T00:00:00-11:00",
    "not a date",
    "",
];

impl<S: Source> Gen<S> {
    pub fn new(source: S) -> Self {
        Self { source, mutation_percent: 20, depth: 0 }
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.source.next_u64() % n }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn word(&mut self) -> String {
        match self.below(10) {
            0..=5 => self.pick(WORDS).to_owned(),
            6 | 7 => {
                let a = self.pick(WORDS);
                let b = self.pick(WORDS);
                format!("{a} {b}")
            }
            8 => {
                // Random code points, including controls and astral planes.
                let len = self.below(6);
                (0..len)
                    .map(|_| {
                        let c = match self.below(4) {
                            0 => self.below(0x80) as u32,
                            1 => 0x80 + self.below(0x780) as u32,
                            2 => 0x800 + self.below(0xF800) as u32,
                            _ => 0x10000 + self.below(0x100000) as u32,
                        };
                        char::from_u32(c).unwrap_or('\u{fffd}')
                    })
                    .collect()
            }
            _ => format!("word-{}", self.below(1000)),
        }
    }

    fn text(&mut self) -> Value {
        Value::String(self.word())
    }

    fn iri(&mut self) -> String {
        match self.below(12) {
            0..=6 => self.pick(IRIS).to_owned(),
            7 => format!("urn:uuid:00000000-0000-4000-8000-{:012x}", self.below(1 << 40)),
            8 => format!(
                "https://badges.example.com/{}/{}",
                self.pick(&["a", "b", "c"]),
                self.below(50)
            ),
            9 => format!("did:web:issuer{}.example.com", self.below(5)),
            10 => format!("https://example.com/{}", self.below(3)),
            _ => format!("urn:example:{}", self.below(4)),
        }
    }

    fn id(&mut self) -> Value {
        Value::String(self.iri())
    }

    fn date(&mut self) -> Value {
        if self.chance(90) { json!(self.pick(&DATES[..5])) } else { json!(self.pick(DATES)) }
    }

    pub fn number(&mut self) -> Value {
        match self.below(16) {
            0 => json!(self.below(100)),
            1 => json!(-(self.below(1000) as i64)),
            2 => json!(0),
            3 => json!(-0.0),
            4 => json!(u64::MAX),
            5 => json!(i64::MIN),
            6 => json!(1.5),
            7 => json!(0.1),
            8 => json!(2.0),
            9 => json!(1e21),
            10 => json!(1e-7),
            11 => json!(1.2345678901234567e20),
            12 => json!(f64::MAX),
            13 => json!(5e-324),
            14 => {
                let mantissa = self.below(1 << 53) as f64;
                let exponent = self.below(80) as i32 - 40;
                let value = mantissa * 10f64.powi(exponent);
                let value = if self.chance(50) { -value } else { value };
                Number::from_f64(value).map_or(Value::Null, Value::Number)
            }
            _ => json!(self.source.next_u64() as i64),
        }
    }

    /// A scalar of any JSON type, mostly of the expected kind `expected`.
    fn scalar_or(&mut self, expected: Value) -> Value {
        if !self.chance(8) {
            return expected;
        }
        match self.below(5) {
            0 => self.number(),
            1 => Value::Bool(self.chance(50)),
            2 => self.text(),
            3 => Value::Null,
            _ => self.id(),
        }
    }

    fn types(&mut self, name: &str) -> Value {
        match self.below(4) {
            0 => json!(name),
            _ => json!([name]),
        }
    }

    /// Inserts `key` with `value` into `object` with probability `percent`.
    fn maybe(&mut self, object: &mut Map<String, Value>, percent: u64, key: &str, value: Value) {
        if self.chance(percent) {
            object.insert(key.to_owned(), value);
        }
    }

    /// Zero to `max` items from `make`, sometimes with an identical sibling, as an array (or
    /// a single value, when the item count is one and `single_ok`).
    fn many(&mut self, max: u64, single_ok: bool, make: impl Fn(&mut Self) -> Value) -> Value {
        let count = self.below(max + 1);
        let mut items: Vec<Value> = (0..count).map(|_| make(self)).collect();
        if !items.is_empty() && self.chance(25) {
            let twin = items[self.below(items.len() as u64) as usize].clone();
            items.push(twin);
        }
        if items.len() == 1 && single_ok && self.chance(40) {
            items.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        }
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        self.depth < 5
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn image(&mut self) -> Value {
        if self.chance(30) {
            return self.id();
        }
        let mut o = Map::new();
        o.insert("id".into(), self.id());
        o.insert("type".into(), json!("Image"));
        let caption = self.text();
        self.maybe(&mut o, 60, "caption", caption);
        Value::Object(o)
    }

    fn address(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), self.types("Address"));
        for key in [
            "addressCountry",
            "addressCountryCode",
            "addressRegion",
            "addressLocality",
            "streetAddress",
            "postOfficeBoxNumber",
            "postalCode",
        ] {
            let value = self.text();
            let value = self.scalar_or(value);
            self.maybe(&mut o, 50, key, value);
        }
        if self.chance(50) {
            let mut geo = Map::new();
            geo.insert("type".into(), json!("GeoCoordinates"));
            let latitude = self.number();
            let longitude = self.number();
            geo.insert("latitude".into(), latitude);
            geo.insert("longitude".into(), longitude);
            o.insert("geo".into(), Value::Object(geo));
        }
        Value::Object(o)
    }

    fn identifier_entry(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), json!("IdentifierEntry"));
        let identifier = self.text();
        o.insert("identifier".into(), identifier);
        let kind = json!(self.pick(&["sisSourcedId", "email", "ext:custom", "identifier"]));
        o.insert("identifierType".into(), kind);
        Value::Object(o)
    }

    fn profile(&mut self) -> Value {
        if !self.enter() || self.chance(15) {
            self.leave();
            return self.id();
        }
        let mut o = Map::new();
        o.insert("id".into(), self.id());
        o.insert("type".into(), self.types("Profile"));
        let name = self.text();
        self.maybe(&mut o, 80, "name", name);
        let url = self.id();
        self.maybe(&mut o, 40, "url", url);
        for key in [
            "phone",
            "description",
            "email",
            "familyName",
            "givenName",
            "additionalName",
            "patronymicName",
            "honorificPrefix",
            "honorificSuffix",
            "familyNamePrefix",
            "official",
        ] {
            let value = self.text();
            let value = self.scalar_or(value);
            self.maybe(&mut o, 20, key, value);
        }
        let birth = self.date();
        self.maybe(&mut o, 15, "dateOfBirth", birth);
        let image = self.image();
        self.maybe(&mut o, 40, "image", image);
        if self.chance(20) {
            let address = self.address();
            o.insert("address".into(), address);
        }
        if self.chance(20) {
            let entries = self.many(2, true, Self::identifier_entry);
            o.insert("otherIdentifier".into(), entries);
        }
        if self.chance(10) {
            let parent = self.profile();
            o.insert("parentOrg".into(), parent);
        }
        if self.chance(8) {
            let endorsements = self.many(1, true, Self::endorsement);
            o.insert("endorsement".into(), endorsements);
        }
        self.leave();
        Value::Object(o)
    }

    fn alignment(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), self.types("Alignment"));
        let name = self.text();
        o.insert("targetName".into(), name);
        let url = self.id();
        o.insert("targetUrl".into(), url);
        for key in ["targetDescription", "targetFramework", "targetCode", "targetType"] {
            let value = self.text();
            self.maybe(&mut o, 50, key, value);
        }
        Value::Object(o)
    }

    fn rubric_level(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), self.id());
        o.insert("type".into(), self.types("RubricCriterionLevel"));
        for key in ["level", "name", "description", "points"] {
            let value = self.text();
            let value = self.scalar_or(value);
            self.maybe(&mut o, 60, key, value);
        }
        if self.chance(20) {
            let alignments = self.many(2, true, Self::alignment);
            o.insert("alignment".into(), alignments);
        }
        Value::Object(o)
    }

    fn result_description(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), self.id());
        o.insert("type".into(), self.types("ResultDescription"));
        let name = self.text();
        o.insert("name".into(), name);
        let kind =
            json!(self.pick(&["ScaledScore", "Status", "RubricCriterionLevel", "ext:Custom"]));
        o.insert("resultType".into(), kind);
        for key in ["requiredValue", "valueMin", "valueMax"] {
            let value = self.text();
            let value = self.scalar_or(value);
            self.maybe(&mut o, 40, key, value);
        }
        let level = self.id();
        self.maybe(&mut o, 20, "requiredLevel", level);
        if self.chance(40) {
            // An `@list` container: order matters, duplicates stay.
            let values = match self.below(5) {
                0 => json!([]),
                1 => self.text(),
                2 => json!(["A", "B", "A", null, "C"]),
                3 => {
                    let n = self.number();
                    json!([n, true, "x"])
                }
                _ => self.many(4, false, |g| g.text()),
            };
            o.insert("allowedValue".into(), values);
        }
        if self.chance(30) {
            let levels = self.many(3, true, Self::rubric_level);
            o.insert("rubricCriterionLevel".into(), levels);
        }
        if self.chance(15) {
            let alignments = self.many(2, true, Self::alignment);
            o.insert("alignment".into(), alignments);
        }
        Value::Object(o)
    }

    fn related(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), self.id());
        o.insert("type".into(), self.types("Related"));
        let language = json!(self.pick(&["en", "fr-CA", "ar", "zh-Hant"]));
        self.maybe(&mut o, 50, "inLanguage", language);
        let version = self.text();
        self.maybe(&mut o, 50, "version", version);
        Value::Object(o)
    }

    fn achievement(&mut self) -> Value {
        if !self.enter() {
            self.leave();
            return self.id();
        }
        let mut o = Map::new();
        o.insert("id".into(), self.id());
        o.insert("type".into(), self.types("Achievement"));
        let kind =
            json!(self.pick(&["Certification", "Badge", "Competency", "ext:Custom", "Diploma"]));
        self.maybe(&mut o, 60, "achievementType", kind);
        let name = self.text();
        o.insert("name".into(), name);
        let description = self.text();
        o.insert("description".into(), description);
        let mut criteria = Map::new();
        let criteria_id = self.id();
        self.maybe(&mut criteria, 50, "id", criteria_id);
        let narrative = self.text();
        self.maybe(&mut criteria, 80, "narrative", narrative);
        o.insert("criteria".into(), Value::Object(criteria));
        let image = self.image();
        self.maybe(&mut o, 50, "image", image);
        if self.chance(50) {
            let alignments = self.many(3, true, Self::alignment);
            o.insert("alignment".into(), alignments);
        }
        if self.chance(50) {
            let tags = self.many(4, true, |g| g.text());
            o.insert("tag".into(), tags);
        }
        if self.chance(40) {
            let creator = self.profile();
            o.insert("creator".into(), creator);
        }
        let credits = self.number();
        self.maybe(&mut o, 25, "creditsAvailable", credits);
        for key in ["fieldOfStudy", "humanCode", "specialization", "version"] {
            let value = self.text();
            self.maybe(&mut o, 25, key, value);
        }
        let language = json!(self.pick(&["en", "fr", "ar-EG"]));
        self.maybe(&mut o, 20, "inLanguage", language);
        if self.chance(30) {
            let descriptions = self.many(3, true, Self::result_description);
            o.insert("resultDescription".into(), descriptions);
        }
        if self.chance(15) {
            let entries = self.many(2, true, Self::identifier_entry);
            o.insert("otherIdentifier".into(), entries);
        }
        if self.chance(15) {
            let related = self.many(2, true, Self::related);
            o.insert("related".into(), related);
        }
        if self.chance(8) {
            let endorsements = self.many(1, true, Self::endorsement);
            o.insert("endorsement".into(), endorsements);
        }
        self.leave();
        Value::Object(o)
    }

    fn identity(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), json!("IdentityObject"));
        let hash = json!(self.pick(&[
            "sha256$f578e0d01370e8e2de374ec8c0be063e716c2da049d39cbe2c200bc7655fcf49",
            "learner@example.com",
            "md5$0123456789abcdef",
        ]));
        o.insert("identityHash".into(), hash);
        let kind = json!(self.pick(&["emailAddress", "sourcedId", "ext:id", "name"]));
        o.insert("identityType".into(), kind);
        let hashed = Value::Bool(self.chance(70));
        let hashed = self.scalar_or(hashed);
        o.insert("hashed".into(), hashed);
        let salt = self.text();
        self.maybe(&mut o, 60, "salt", salt);
        Value::Object(o)
    }

    fn result(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), self.types("Result"));
        let description = self.id();
        self.maybe(&mut o, 70, "resultDescription", description);
        let value = self.text();
        let value = self.scalar_or(value);
        self.maybe(&mut o, 60, "value", value);
        let level = self.id();
        self.maybe(&mut o, 20, "achievedLevel", level);
        let status = json!(self.pick(&["Completed", "Enrolled", "Failed", "InProgress"]));
        self.maybe(&mut o, 30, "status", status);
        if self.chance(15) {
            let alignments = self.many(2, true, Self::alignment);
            o.insert("alignment".into(), alignments);
        }
        Value::Object(o)
    }

    fn subject(&mut self) -> Value {
        let mut o = Map::new();
        let id = self.id();
        self.maybe(&mut o, 40, "id", id);
        o.insert("type".into(), self.types("AchievementSubject"));
        if self.chance(70) {
            let identities = self.many(2, true, Self::identity);
            o.insert("identifier".into(), identities);
        }
        let achievement = self.achievement();
        o.insert("achievement".into(), achievement);
        if self.chance(40) {
            let results = self.many(3, true, Self::result);
            o.insert("result".into(), results);
        }
        let start = self.date();
        self.maybe(&mut o, 20, "activityStartDate", start);
        let end = self.date();
        self.maybe(&mut o, 20, "activityEndDate", end);
        let credits = self.number();
        self.maybe(&mut o, 20, "creditsEarned", credits);
        for key in ["licenseNumber", "narrative", "role", "term"] {
            let value = self.text();
            self.maybe(&mut o, 15, key, value);
        }
        let image = self.image();
        self.maybe(&mut o, 15, "image", image);
        if self.chance(10) {
            let source = self.profile();
            o.insert("source".into(), source);
        }
        Value::Object(o)
    }

    fn evidence(&mut self) -> Value {
        let mut o = Map::new();
        let id = self.id();
        self.maybe(&mut o, 50, "id", id);
        o.insert("type".into(), self.types("Evidence"));
        for key in ["name", "description", "narrative", "genre", "audience"] {
            let value = self.text();
            self.maybe(&mut o, 50, key, value);
        }
        Value::Object(o)
    }

    fn status_entry(&mut self, extensions: bool) -> Value {
        if extensions && self.chance(30) {
            return json!({"id": self.iri(), "type": "1EdTechRevocationList"});
        }
        let index =
            if self.chance(80) { json!(self.below(131_072).to_string()) } else { self.number() };
        let size = self.number();
        let mut o = Map::new();
        o.insert(
            "id".into(),
            json!(format!("https://badges.example.com/status/1#{}", self.below(100))),
        );
        o.insert("type".into(), json!("BitstringStatusListEntry"));
        let purpose = json!(self.pick(&["revocation", "suspension", "message"]));
        o.insert("statusPurpose".into(), purpose);
        o.insert("statusListIndex".into(), index);
        o.insert("statusListCredential".into(), json!("https://badges.example.com/status/1"));
        self.maybe(&mut o, 10, "statusSize", size);
        if self.chance(10) {
            let message = json!([{"status": "0x0", "message": self.word()}, {"status": "0x1", "message": "x"}]);
            o.insert("statusMessage".into(), message);
        }
        Value::Object(o)
    }

    /// The contexts of a credential: mostly what issuers use, sometimes any bundled list.
    fn credential_contexts(&mut self) -> Vec<&'static str> {
        match self.below(40) {
            0..=21 => vec![VC_V2, OB_303],
            22..=30 => vec![VC_V2, OB_303, OB_EXT],
            31 | 32 => vec![VC_V2, self.pick(&[OB_300, OB_301, OB_302])],
            33 | 34 => vec![VC_V1, self.pick(&[OB_300, OB_301, OB_302, OB_303])],
            35 => vec![VC_V2, OB_EXT, OB_303],
            36 => vec![VC_V1, OB_303, OB_EXT],
            // Lists where definitions clash (protected terms redefined), or that miss one.
            37 => vec![VC_V2, OB_303, self.pick(&[DI_V2, STATUS_V1, DI_V1])],
            _ => {
                let n = 1 + self.below(4);
                (0..n).map(|_| self.pick(ALL_CONTEXTS)).collect()
            }
        }
    }

    fn endorsement(&mut self) -> Value {
        if !self.enter() {
            self.leave();
            return self.id();
        }
        let mut o = Map::new();
        o.insert("@context".into(), json!([VC_V2, OB_303]));
        o.insert("id".into(), self.id());
        o.insert("type".into(), json!(["VerifiableCredential", "EndorsementCredential"]));
        let name = self.text();
        o.insert("name".into(), name);
        let issuer = self.profile();
        o.insert("issuer".into(), issuer);
        o.insert("validFrom".into(), self.date());
        let mut subject = Map::new();
        subject.insert("id".into(), self.id());
        subject.insert("type".into(), self.types("EndorsementSubject"));
        let comment = self.text();
        self.maybe(&mut subject, 70, "endorsementComment", comment);
        o.insert("credentialSubject".into(), Value::Object(subject));
        self.leave();
        Value::Object(o)
    }

    /// An OpenBadgeCredential or AchievementCredential.
    pub fn credential(&mut self) -> Value {
        let contexts = self.credential_contexts();
        let extensions = contexts.contains(&OB_EXT);
        let v1 = contexts.first() == Some(&VC_V1);
        let mut o = Map::new();
        o.insert("@context".into(), json!(contexts));
        let id = if v1 && self.chance(20) {
            json!(self.pick(&["cred:x", "sec:y", "xsd:z"]))
        } else {
            self.id()
        };
        o.insert("id".into(), id);
        let kind = self.pick(&["OpenBadgeCredential", "AchievementCredential"]);
        let types = match self.below(5) {
            0 => json!(["VerifiableCredential", "OpenBadgeCredential", "AchievementCredential"]),
            _ => json!(["VerifiableCredential", kind]),
        };
        o.insert("type".into(), types);
        let issuer = self.profile();
        o.insert("issuer".into(), issuer);
        if v1 {
            o.insert("issuanceDate".into(), self.date());
            let expiration = self.date();
            self.maybe(&mut o, 30, "expirationDate", expiration);
        } else {
            o.insert("validFrom".into(), self.date());
            let until = self.date();
            self.maybe(&mut o, 50, "validUntil", until);
        }
        let name = self.text();
        o.insert("name".into(), name);
        let description = self.text();
        self.maybe(&mut o, 60, "description", description);
        let image = self.image();
        self.maybe(&mut o, 30, "image", image);
        let awarded = self.date();
        self.maybe(&mut o, 30, "awardedDate", awarded);
        let subject =
            if self.chance(12) { self.many(3, false, Self::subject) } else { self.subject() };
        o.insert("credentialSubject".into(), subject);
        if self.chance(40) {
            let evidence = self.many(3, true, Self::evidence);
            o.insert("evidence".into(), evidence);
        }
        if v1 && self.chance(30) {
            // VC 1.1's property-scoped contexts (with compact IRIs in them).
            o.insert(
                "credentialSchema".into(),
                json!({"id": self.iri(), "type": "JsonSchemaValidator2018"}),
            );
            if self.chance(50) {
                o.insert(
                    "refreshService".into(),
                    json!({"id": self.pick(&["cred:refresh", "sec:x", "https://example.com/r"]), "type": "ManualRefreshService2018"}),
                );
            }
        }
        // The schema validator type is defined by the extensions context only.
        if !v1 && self.chance(if extensions { 40 } else { 3 }) {
            let schema = json!([{
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019"
            }]);
            o.insert("credentialSchema".into(), schema);
        }
        if self.chance(40) {
            let status = if self.chance(15) {
                let a = self.status_entry(extensions);
                let b = self.status_entry(extensions);
                json!([a, b])
            } else {
                self.status_entry(extensions)
            };
            o.insert("credentialStatus".into(), status);
        }
        if extensions && self.chance(20) {
            o.insert(
                "refreshService".into(),
                json!({"id": self.iri(), "type": "1EdTechCredentialRefresh"}),
            );
        }
        if self.chance(15) {
            let endorsements = self.many(2, true, Self::endorsement);
            o.insert("endorsement".into(), endorsements);
        }
        Value::Object(o)
    }

    fn proof(&mut self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), json!("DataIntegrityProof"));
        o.insert("created".into(), self.date());
        o.insert(
            "verificationMethod".into(),
            json!(self.pick(&[
                "did:web:badges.example.com#key-1",
                "did:key:z6Mk#z6Mk",
                "https://example.com/keys/1"
            ])),
        );
        o.insert(
            "cryptosuite".into(),
            json!(self.pick(&["eddsa-rdfc-2022", "ecdsa-rdfc-2019", "x"])),
        );
        let purpose = json!(self.pick(&[
            "assertionMethod",
            "authentication",
            "capabilityInvocation",
            "keyAgreement"
        ]));
        o.insert("proofPurpose".into(), purpose);
        if self.chance(50) {
            o.insert("proofValue".into(), json!("z58DAdFfa9SkqZMVPxAQpic7ndSayn1PzZs6ZjWp1CktyGesjuTSwRdoWhAfGFCF5bppETSTojQCrfFPP2oumHKtz"));
        }
        for key in ["challenge", "domain", "nonce"] {
            let value = self.text();
            self.maybe(&mut o, 10, key, value);
        }
        let expires = self.date();
        self.maybe(&mut o, 10, "expires", expires);
        Value::Object(o)
    }

    /// A DID document with Multikey verification methods.
    fn did_document(&mut self) -> Value {
        let did = "did:web:badges.example.com";
        let method = json!({
            "id": format!("{did}#key-{}", self.below(3)),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
        });
        let mut o = Map::new();
        o.insert("@context".into(), json!([DID_V1, MULTIKEY_V1]));
        o.insert("id".into(), json!(did));
        o.insert("verificationMethod".into(), json!([method.clone()]));
        o.insert("assertionMethod".into(), json!([method["id"].clone()]));
        if self.chance(30) {
            o.insert("authentication".into(), json!([method]));
        }
        if self.chance(20) {
            o.insert(
                "service".into(),
                json!([{"id": format!("{did}#svc"), "type": "LinkedDomains", "serviceEndpoint": "https://example.com/"}]),
            );
        }
        Value::Object(o)
    }

    fn status_list(&mut self) -> Value {
        json!({
            "@context": [VC_V2],
            "id": "https://badges.example.com/status/1",
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": "did:web:badges.example.com",
            "validFrom": self.date(),
            "credentialSubject": {
                "id": "https://badges.example.com/status/1#list",
                "type": "BitstringStatusList",
                "statusPurpose": self.pick(&["revocation", "suspension"]),
                "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
                "ttl": self.number()
            }
        })
    }

    /// Any document: mostly credentials, sometimes signed ones, proof configurations, DID
    /// documents and status lists; a share of them mutated.
    pub fn document(&mut self) -> Value {
        let mut document = match self.below(20) {
            0..=13 => self.credential(),
            14 | 15 => {
                let mut credential = self.credential();
                let proofs = self.many(2, true, Self::proof);
                credential["proof"] = proofs;
                credential
            }
            16 => {
                let mut proof = self.proof();
                proof["@context"] = json!(self.credential_contexts());
                proof
            }
            17 => self.did_document(),
            18 => self.status_list(),
            _ => self.endorsement(),
        };
        if self.chance(self.mutation_percent) {
            let rounds = 1 + self.below(3);
            for _ in 0..rounds {
                self.mutate(&mut document);
            }
        }
        document
    }

    /// One random change somewhere in `document`.
    pub fn mutate(&mut self, document: &mut Value) {
        let mut paths = Vec::new();
        collect_paths(document, &mut Vec::new(), &mut paths);
        if paths.is_empty() {
            return;
        }
        let path = paths[self.below(paths.len() as u64) as usize].clone();
        let Some(target) = at_mut(document, &path) else {
            return;
        };
        match self.below(14) {
            0 => {
                // An undefined term, or a key the fast path must leave alone.
                if let Value::Object(object) = target {
                    let key = self.pick(&[
                        "favouriteColour",
                        "http://example.com/p",
                        "schema:name",
                        "name:x",
                        "_:b0",
                        "@foo",
                        "@id",
                        "@type",
                        "@value",
                        "@list",
                        "@set",
                        "@graph",
                        "@index",
                        "@language",
                        "@reverse",
                        "@nest",
                        "@included",
                        "@json",
                        "@context",
                        "@1",
                        "",
                        "id",
                        "type",
                    ]);
                    let value = self.any_value();
                    object.insert(key.to_owned(), value);
                }
            }
            1 | 2 => *target = self.any_value(),
            3 => {
                let bad = self.pick(BAD_IRIS);
                *target = json!(bad);
            }
            4 => *target = Value::Null,
            5 => *target = json!([]),
            6 => *target = json!({}),
            7 => {
                let inner = target.clone();
                *target = json!([inner, [inner.clone()]]);
            }
            8 => {
                // Duplicate a value into an array (identical siblings).
                let inner = target.clone();
                *target = json!([inner.clone(), inner]);
            }
            9 => {
                if let Value::Object(object) = target {
                    let context = self.pick(ALL_CONTEXTS);
                    let value = match self.below(4) {
                        0 => json!(context),
                        1 => json!([context]),
                        2 => json!({"ex": "http://example.com/"}),
                        _ => Value::Null,
                    };
                    object.insert("@context".into(), value);
                }
            }
            10 => {
                // A type from elsewhere in the model, or an undefined one.
                if let Value::Object(object) = target {
                    let kind = self.pick(&[
                        "Achievement",
                        "Profile",
                        "Result",
                        "ResultDescription",
                        "Image",
                        "Evidence",
                        "Alignment",
                        "IdentityObject",
                        "DataIntegrityProof",
                        "BitstringStatusListEntry",
                        "VerifiableCredential",
                        "FancyType",
                        "ceasn:Thing",
                        "_:t",
                        "Multikey",
                    ]);
                    let types = if self.chance(50) {
                        json!(kind)
                    } else {
                        let other = self.pick(&["Achievement", "Profile", "Result", "Image"]);
                        json!([kind, other])
                    };
                    object.insert("type".into(), types);
                }
            }
            11 => *target = self.number(),
            12 => {
                // Keys moved around: `id` after `type`, and so on.
                if let Value::Object(object) = target {
                    let mut entries: Vec<(String, Value)> =
                        std::mem::take(object).into_iter().collect();
                    entries.reverse();
                    object.extend(entries);
                }
            }
            _ => {
                // A nested node with only an id, or only an id and a type.
                let id = self.iri();
                *target = if self.chance(50) {
                    json!({"id": id})
                } else {
                    json!({"id": id, "type": self.pick(&["Achievement", "Result", "Profile"])})
                };
            }
        }
    }

    fn any_value(&mut self) -> Value {
        match self.below(8) {
            0 => self.number(),
            1 => Value::Bool(self.chance(50)),
            2 => self.text(),
            3 => self.id(),
            4 => Value::Null,
            5 => json!([self.word(), self.number()]),
            6 => json!({"id": self.iri()}),
            _ => json!({"@value": self.word()}),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Step {
    Key(String),
    Index(usize),
}

fn collect_paths(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(path.clone());
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                path.push(Step::Key(key.clone()));
                collect_paths(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(Step::Index(index));
                collect_paths(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut node = value;
    for step in path {
        node = match step {
            Step::Key(key) => node.get_mut(key.as_str())?,
            Step::Index(index) => node.get_mut(*index)?,
        };
    }
    Some(node)
}

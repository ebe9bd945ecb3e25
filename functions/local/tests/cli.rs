//! The offline `badges` commands, black-box: what they issue verifies with the independent
//! Open Badges 3.0 harness (`../shared/conformance/ob3/ob3`, built on Digital Bazaar's
//! libraries), what the harness issues verifies with `badges verify`, and bad input gets a
//! one-line reason and the documented exit code.
//!
//! The harness path can be overridden with `OB3_HARNESS`; without it these tests fail rather
//! than skip, so CI can never pass them vacuously.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration};
use credentials::model::{
    Achievement, AchievementResult, AchievementSubject, Alignment, BitstringStatusListEntry,
    Evidence, IdentityObject, Image, OpenBadgeCredential, Profile, ResultDescription,
};
use credentials::status::StatusPurpose;
use serde_json::Value;

const ISSUER: &str = "did:web:badges.example.com";
const METHOD: &str = "did:web:badges.example.com#key-1";
const LIST_URL: &str = "https://badges.example.com/status/revocation/1";
/// The bit set in the vectors' status list.
const REVOKED_INDEX: usize = 1337;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/credentials/tests/vectors")
}

fn harness() -> PathBuf {
    std::env::var_os("OB3_HARNESS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/ob3/ob3")
    })
}

fn badges(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_badges")).args(args).output().unwrap()
}

fn ob3(args: &[&str]) -> Output {
    let harness = harness();
    assert!(harness.exists(), "the conformance harness is missing at {}", harness.display());
    Command::new(harness).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A deterministic generator of OB 3.0 credentials of varied shape.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        // SplitMix64: small, deterministic, good enough to vary shapes.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn words(&mut self) -> String {
        const SAMPLES: &[&str] = &[
            "Cloud Security",
            "Zertifizierte Prüfung für Fortgeschrittene",
            "データサイエンス基礎",
            "شهادة إتمام الدورة",
            "Ελληνικά και emoji 🎓🏅",
            "Café Crème — naïve façade",
            "Line one\nLine two\r\nLine three",
            "Quotes \"double\" and 'single' and \\backslash\\",
            "<script>alert('x')</script> & friends",
            "Zalgo ẑ̸͓a̷l̵g̷o and combining marks",
            "1234567890",
            "true",
        ];
        SAMPLES[self.below(SAMPLES.len() as u64) as usize].to_owned()
    }

    fn long_text(&mut self) -> String {
        let base = self.words();
        let times = 1 + self.below(400) as usize;
        std::iter::repeat_n(base, times).collect::<Vec<_>>().join(" ")
    }

    fn credential(&mut self, n: usize, status_index: Option<usize>) -> Value {
        let mut achievement = Achievement::new(
            format!("https://badges.example.com/achievements/{n}"),
            self.words(),
            if self.chance(30) { self.long_text() } else { self.words() },
            self.words(),
        );
        if self.chance(50) {
            achievement.criteria.id =
                Some(format!("https://badges.example.com/achievements/{n}/criteria"));
        }
        if self.chance(60) {
            const TYPES: &[&str] =
                &["Badge", "Certificate", "Certification", "Course", "Competency", "Diploma"];
            achievement.achievement_type =
                Some(TYPES[self.below(TYPES.len() as u64) as usize].into());
        }
        if self.chance(70) {
            achievement.image = Some(Image::new(
                format!("https://badges.example.com/images/{n}.png"),
                Some(self.words()),
            ));
        }
        let many = self.chance(20);
        for i in 0..self.below(if many { 30 } else { 4 }) {
            let mut alignment =
                Alignment::new(self.words(), format!("https://skills.example.org/skills/{n}-{i}"));
            if self.chance(50) {
                alignment.target_description = Some(self.words());
                alignment.target_framework = Some("Example Skills Framework".into());
                alignment.target_code = Some(format!("ESF-{n}-{i}"));
                alignment.target_type = Some("ceasn:Competency".into());
            }
            achievement.alignment.push(alignment);
        }
        for _ in 0..self.below(5) {
            achievement.tag.push(self.words());
        }
        let with_results = self.chance(40);
        if with_results {
            achievement.result_description.push(ResultDescription {
                id: format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
                kind: vec!["ResultDescription".into()],
                name: "Final score".into(),
                result_type: "Percent".into(),
                allowed_value: Vec::new(),
                required_value: Some("80".into()),
                value_min: Some("0".into()),
                value_max: Some("100".into()),
            });
        }
        if self.chance(40) {
            let mut creator = Profile::new(ISSUER, self.words());
            creator.url = Some("https://www.example.com/".into());
            achievement.creator = Some(creator);
        }
        let mut subject = if self.chance(50) {
            AchievementSubject::with_identity(
                IdentityObject::hashed_email(
                    &format!("learner{n}@example.com"),
                    &format!("salt-{n}"),
                ),
                achievement,
            )
        } else {
            AchievementSubject::with_id(format!("did:example:learner-{n}"), achievement)
        };
        if self.chance(40) {
            subject.name = Some(self.words());
        }
        if with_results {
            subject.result.push(AchievementResult::new(
                Some(format!("urn:uuid:00000000-0000-4000-8000-{n:012}")),
                format!("{}", 80 + self.below(20)),
            ));
        }
        let mut issuer = Profile::new(ISSUER, self.words());
        if self.chance(50) {
            issuer.url = Some("https://www.example.com/".into());
            issuer.email = Some("badges@example.com".into());
            issuer.image = Some(Image::new("https://badges.example.com/images/issuer.png", None));
        }
        let valid_from = DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z").unwrap().to_utc()
            + Duration::days(self.below(300) as i64);
        let mut builder = OpenBadgeCredential::builder(
            format!("urn:uuid:7a1b2c3d-0000-4000-8000-{n:012}"),
            issuer,
            subject,
        )
        .valid_from(valid_from)
        .valid_until(self.chance(60).then(|| valid_from + Duration::days(365 * 50)));
        for i in 0..self.below(3) {
            let mut evidence = Evidence::at(format!("https://evidence.example.org/{n}/{i}"));
            evidence.name = Some(self.words());
            evidence.narrative = Some(self.words());
            evidence.genre = Some("Project".into());
            builder = builder.evidence(evidence);
        }
        if let Some(index) = status_index {
            builder = builder.status(vec![BitstringStatusListEntry::new(
                LIST_URL,
                index,
                StatusPurpose::Revocation,
            )]);
        }
        if self.chance(20) {
            builder = builder.achievement_credential();
        }
        if self.chance(20) {
            builder = builder.schema("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json");
        }
        if self.chance(30) {
            builder = builder.description(self.long_text());
        }
        builder.build().unwrap().to_json().unwrap()
    }
}

fn sign_file(dir: &Path, name: &str, unsigned: &Value, format: &str) -> PathBuf {
    let unsigned_path = dir.join(format!("{name}.unsigned.json"));
    std::fs::write(&unsigned_path, unsigned.to_string()).unwrap();
    let key = vectors().join("key.json");
    let output = badges(&[
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--verification-method",
        METHOD,
        "--format",
        format,
        unsigned_path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "badges sign {name}: {}", text(&output.stderr));
    let signed = dir.join(format!("{name}.{}", if format == "jwt" { "jwt" } else { "json" }));
    std::fs::write(&signed, &output.stdout).unwrap();
    signed
}

#[test]
fn twenty_four_varied_credentials_signed_by_badges_pass_the_independent_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let did = vectors().join("did.json");
    let status = vectors().join("status-list.json");
    let mut generator = Generator(2026);
    let files: Vec<(PathBuf, bool)> = (0..24)
        .map(|n| {
            let status_index = match n % 4 {
                0 => None,
                1 => Some(94_567 + n),
                2 => Some(REVOKED_INDEX),
                _ => Some(n * 131),
            };
            let credential = generator.credential(n, status_index);
            let format = if n % 6 == 5 { "jwt" } else { "di" };
            (
                sign_file(dir.path(), &format!("c{n}"), &credential, format),
                status_index != Some(REVOKED_INDEX),
            )
        })
        .collect();
    // Two at a time: each harness call starts Node.
    std::thread::scope(|scope| {
        for chunk in files.chunks(files.len() / 2) {
            let (did, status) = (&did, &status);
            scope.spawn(move || {
                for (file, active) in chunk {
                    let output = ob3(&[
                        file.to_str().unwrap(),
                        "--did-doc",
                        did.to_str().unwrap(),
                        "--did-doc",
                        status.to_str().unwrap(),
                    ]);
                    let expected = if *active { 0 } else { 1 };
                    assert_eq!(
                        output.status.code(),
                        Some(expected),
                        "ob3 on {}: {}{}",
                        file.display(),
                        text(&output.stdout),
                        text(&output.stderr)
                    );
                    let ours = badges(&[
                        "verify",
                        file.to_str().unwrap(),
                        "--did-document",
                        did.to_str().unwrap(),
                        "--status-list",
                        status.to_str().unwrap(),
                    ]);
                    assert_eq!(
                        ours.status.code(),
                        Some(expected),
                        "badges verify on {}: {}",
                        file.display(),
                        text(&ours.stdout)
                    );
                    if !*active {
                        assert!(
                            text(&ours.stdout).starts_with("revoked"),
                            "{}",
                            text(&ours.stdout)
                        );
                    }
                }
            });
        }
    });
}

#[test]
fn badges_verify_accepts_a_vc_jwt_made_by_the_independent_signer_and_rejects_it_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let output = ob3(&["sign", "--kind", "typical", "--jwt"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let token = text(&output.stdout).trim().to_owned();
    let did = vectors().join("did.json");
    let path = dir.path().join("typical.jwt");
    std::fs::write(&path, &token).unwrap();
    let verified =
        badges(&["verify", path.to_str().unwrap(), "--did-document", did.to_str().unwrap()]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified.stdout));
    assert!(text(&verified.stdout).starts_with("valid"));

    let mut parts: Vec<&str> = token.split('.').collect();
    let payload = text(&base64_decode(parts[1]))
        .replace("Cloud Security Practitioner", "Cloud Security Architect");
    let forged_payload = base64_encode(payload.as_bytes());
    parts[1] = &forged_payload;
    std::fs::write(&path, parts.join(".")).unwrap();
    let rejected = badges(&[
        "verify",
        path.to_str().unwrap(),
        "--did-document",
        did.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(rejected.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&rejected.stdout).unwrap();
    assert_eq!(report["verdict"], "invalid");
}

#[test]
fn badges_verify_accepts_the_vectors_and_rejects_them_tampered() {
    let did = vectors().join("did.json");
    let status = vectors().join("status-list.json");
    let dir = tempfile::tempdir().unwrap();
    for kind in ["minimal", "typical", "rich"] {
        let signed = vectors().join(format!("{kind}/signed.json"));
        let ok = badges(&[
            "verify",
            signed.to_str().unwrap(),
            "--did-document",
            did.to_str().unwrap(),
            "--status-list",
            status.to_str().unwrap(),
        ]);
        assert_eq!(ok.status.code(), Some(0), "{kind}: {}", text(&ok.stdout));
        let mut value: Value = serde_json::from_slice(&std::fs::read(&signed).unwrap()).unwrap();
        value["validFrom"] = "2024-06-01T00:00:01Z".into();
        let tampered = dir.path().join(format!("{kind}.json"));
        std::fs::write(&tampered, value.to_string()).unwrap();
        let bad = badges(&[
            "verify",
            tampered.to_str().unwrap(),
            "--did-document",
            did.to_str().unwrap(),
            "--status-list",
            status.to_str().unwrap(),
        ]);
        assert_eq!(bad.status.code(), Some(1), "{kind}");
        assert!(text(&bad.stdout).starts_with("invalid: proof"), "{}", text(&bad.stdout));
    }
}

#[test]
fn keygen_writes_a_private_multikey_file_that_signs() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    let output = badges(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(output.status.success());
    let file: Value = serde_json::from_slice(&std::fs::read(&key).unwrap()).unwrap();
    assert_eq!(file["type"], "Multikey");
    assert!(file["publicKeyMultibase"].as_str().unwrap().starts_with("z6Mk"));
    assert!(file["secretKeyMultibase"].as_str().unwrap().starts_with("z3u2"));
    assert_eq!(text(&output.stdout).trim(), file["publicKeyMultibase"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Never overwrites.
    assert_eq!(badges(&["keygen", "--out", key.to_str().unwrap()]).status.code(), Some(2));
}

#[test]
fn bake_and_unbake_round_trip_and_the_baked_badge_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let signed = vectors().join("typical/signed.json");
    let did = vectors().join("did.json");
    for (name, image) in [
        ("badge.png", credentials::qr::qr_png("https://badges.example.com", 4).unwrap()),
        ("badge.svg", credentials::qr::qr_svg("https://badges.example.com").unwrap().into_bytes()),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, image).unwrap();
        let out = dir.path().join(format!("baked-{name}"));
        let baked = badges(&[
            "bake",
            "--credential",
            signed.to_str().unwrap(),
            "--image",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(baked.status.success(), "{}", text(&baked.stderr));
        let unbaked = badges(&["unbake", out.to_str().unwrap()]);
        let original: Value = serde_json::from_slice(&std::fs::read(&signed).unwrap()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&unbaked.stdout).unwrap(), original);
        let verified =
            badges(&["verify", out.to_str().unwrap(), "--did-document", did.to_str().unwrap()]);
        assert_eq!(verified.status.code(), Some(0), "{name}: {}", text(&verified.stdout));
    }
}

#[test]
fn bad_input_is_one_line_on_stderr_and_a_nonzero_exit_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let key = vectors().join("key.json");
    let key = key.to_str().unwrap();
    let unsigned = vectors().join("typical/unsigned.json");
    let unsigned = unsigned.to_str().unwrap();
    let mut undefined: Value = serde_json::from_slice(&std::fs::read(unsigned).unwrap()).unwrap();
    undefined["credentialSubject"]["favouriteColour"] = "blue".into();
    let undefined = write("undefined.json", undefined.to_string().as_bytes());
    let mut unknown: Value = serde_json::from_slice(&std::fs::read(unsigned).unwrap()).unwrap();
    unknown["@context"].as_array_mut().unwrap().push("https://evil.example/ctx.json".into());
    let unknown = write("unknown.json", unknown.to_string().as_bytes());
    let malformed = write("malformed.json", b"{\"@context\": ");
    let garbage_png = write("garbage.png", b"\x89PNG\r\n\x1a\nnot really");
    let bad_key = write("bad-key.json", b"{\"type\":\"Multikey\",\"secretKeyMultibase\":\"zzz\"}");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["sign", "--key", key, "--verification-method", METHOD, &malformed],
            2,
            "not valid JSON",
        ),
        (
            vec!["sign", "--key", key, "--verification-method", METHOD, &undefined],
            2,
            "favouriteColour",
        ),
        (
            vec!["sign", "--key", key, "--verification-method", METHOD, &unknown],
            2,
            "unknown JSON-LD context",
        ),
        (vec!["sign", "--key", &bad_key, "--verification-method", METHOD, unsigned], 2, "key"),
        (
            vec!["sign", "--key", key, "--verification-method", "no-fragment", unsigned],
            2,
            "DID#fragment",
        ),
        (
            vec![
                "sign",
                "--key",
                key,
                "--verification-method",
                METHOD,
                "--created",
                "yesterday",
                unsigned,
            ],
            2,
            "--created",
        ),
        (vec!["verify", &malformed], 1, "invalid: parse"),
        (vec!["verify", &garbage_png], 1, "invalid: parse"),
        (vec!["verify", unsigned], 1, "invalid: proof"),
        (vec!["verify", unsigned, "--now", "tomorrow"], 2, "--now"),
        (vec!["unbake", &garbage_png], 2, "baking"),
        (vec!["verify"], 2, "Usage"),
    ];
    for (args, code, needle) in cases {
        let output = badges(&args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        let message = if code == 1 { text(&output.stdout) } else { text(&output.stderr) };
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
        if code == 1 || !needle.starts_with("Usage") {
            assert_eq!(message.trim_end().lines().count(), 1, "{args:?}: one line, got {message}");
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

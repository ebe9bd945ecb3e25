//! The public verification page: what a person sees when they open a credential's link or
//! scan its QR code.
//!
//! What the page says about the achievement, the issuer and the recipient comes from the
//! signed document (what was attested), not from the template as it is today. The verdict
//! combines the verifier's report with the platform's record (see [`verdict`]). Everything
//! user-supplied goes through askama's HTML escaping; links are only rendered for `http(s)`
//! URLs, so no `javascript:` link can get in.

use askama::Template;
use chrono::{DateTime, Datelike, Utc};
use credentials::verify::{Outcome, Report, Verdict};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use platform::App;
use platform::app::Verification;
use platform::model::{CredentialRecord, CredentialStatus};
use serde_json::Value;

/// What the page says about a credential, from most to least serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageVerdict {
    /// Not genuine or not well-formed: the signature, the issuer key or the shape failed.
    Invalid,
    /// Revoked by its issuer.
    Revoked,
    /// Suspended by its issuer.
    Suspended,
    /// Past `validUntil`.
    Expired,
    /// Before `validFrom`.
    NotYetValid,
    /// Genuine, but its status list could not be checked.
    StatusUnknown,
    /// Genuine, in date, neither revoked nor suspended.
    Active,
}

impl PageVerdict {
    /// The value of `data-verdict` and the CSS modifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::StatusUnknown => "status-unknown",
            Self::Active => "active",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Invalid => "Invalid credential",
            Self::Revoked => "Revoked",
            Self::Suspended => "Suspended",
            Self::Expired => "Expired",
            Self::NotYetValid => "Not yet valid",
            Self::StatusUnknown => "Status unknown",
            Self::Active => "Valid and active",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Self::Active => "✓",
            Self::Invalid | Self::Revoked => "✕",
            Self::Suspended | Self::Expired | Self::NotYetValid | Self::StatusUnknown => "!",
        }
    }
}

/// The page's verdict for a stored credential: the report of verifying it now, and the
/// record the platform keeps, each able to make it worse, never better.
///
/// 1. a report that is `invalid` wins (a tampered document proves nothing else);
/// 2. `revoked` if the record or the published status list says so (the list is written
///    first, so it can be ahead of the record for a moment);
/// 3. `suspended`, likewise;
/// 4. `expired` if the record is expired or the report's `dates` check found the credential
///    past `validUntil` (at once, before the expiry sweep marks the record);
/// 5. `not-yet-valid` if the report says so;
/// 6. `status-unknown` if the status list could not be checked;
/// 7. otherwise `active`.
pub fn verdict(report: &Report, status: &CredentialStatus) -> PageVerdict {
    let past_valid_until = report.verdict == Verdict::Expired
        || report.check("dates").is_some_and(|check| {
            check.outcome == Outcome::Failed && check.detail.as_deref() == Some("expired")
        });
    match (&report.verdict, status) {
        (Verdict::Invalid(_), _) => PageVerdict::Invalid,
        (Verdict::Revoked, _) | (_, CredentialStatus::Revoked { .. }) => PageVerdict::Revoked,
        (Verdict::Suspended, _) | (_, CredentialStatus::Suspended { .. }) => PageVerdict::Suspended,
        (_, CredentialStatus::Expired { .. }) => PageVerdict::Expired,
        _ if past_valid_until => PageVerdict::Expired,
        (Verdict::NotYetValid, _) => PageVerdict::NotYetValid,
        (Verdict::StatusUnknown(_), _) => PageVerdict::StatusUnknown,
        (Verdict::Valid | Verdict::Expired, _) => PageVerdict::Active,
    }
}

/// The sentence under the verdict.
fn verdict_detail(verdict: PageVerdict, report: &Report, record: &CredentialRecord) -> String {
    match verdict {
        PageVerdict::Active => {
            "This credential is genuine: its signature checks out against the issuer's published key, and the issuer reports it active.".into()
        }
        PageVerdict::Invalid => match &report.verdict {
            Verdict::Invalid(reason) => format!("This credential could not be verified ({reason})."),
            _ => "This credential could not be verified.".into(),
        },
        PageVerdict::Revoked => match &record.status {
            CredentialStatus::Revoked { at, reason } => {
                format!("The issuer revoked this credential on {}. Reason: {reason}", human_date(*at))
            }
            _ => "The issuer has revoked this credential.".into(),
        },
        PageVerdict::Suspended => match &record.status {
            CredentialStatus::Suspended { at } => format!(
                "The issuer suspended this credential on {}. It is not valid while suspended.",
                human_date(*at)
            ),
            _ => "The issuer has suspended this credential. It is not valid while suspended.".into(),
        },
        PageVerdict::Expired => match record.valid_until {
            Some(until) => format!("This credential was valid until {}.", human_date(until)),
            None => "This credential has expired.".into(),
        },
        PageVerdict::NotYetValid => {
            format!("This credential becomes valid on {}.", human_date(record.valid_from))
        }
        PageVerdict::StatusUnknown => match &report.verdict {
            Verdict::StatusUnknown(reason) => format!(
                "The signature is genuine, but whether it was revoked or suspended could not be checked ({reason})."
            ),
            _ => "Whether this credential was revoked or suspended could not be checked.".into(),
        },
    }
}

/// `5 March 2031`.
fn human_date(date: DateTime<Utc>) -> String {
    date.format("%-d %B %Y").to_string()
}

/// Query values are percent-encoded as URI components: everything but unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What LinkedIn's "Add to profile" form is prefilled with.
#[derive(Debug, Clone)]
pub struct LinkedInCertification<'a> {
    pub name: &'a str,
    pub organization: &'a str,
    pub issued: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    pub url: &'a str,
    pub id: &'a str,
}

/// The LinkedIn "Add to profile" link of a certification; every value percent-encoded, the
/// expiration left out when there is none.
pub fn linkedin_url(cert: &LinkedInCertification<'_>) -> String {
    let encode = |value: &str| utf8_percent_encode(value, COMPONENT).to_string();
    let mut url = format!(
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name={}&organizationName={}&issueYear={}&issueMonth={}",
        encode(cert.name),
        encode(cert.organization),
        cert.issued.year(),
        cert.issued.month(),
    );
    if let Some(expires) = cert.expires {
        url.push_str(&format!(
            "&expirationYear={}&expirationMonth={}",
            expires.year(),
            expires.month()
        ));
    }
    url.push_str(&format!("&certUrl={}&certId={}", encode(cert.url), encode(cert.id)));
    url
}

/// One check of the report, for display.
#[derive(Debug)]
struct CheckRow {
    label: &'static str,
    outcome: &'static str,
    mark: &'static str,
    detail: Option<String>,
}

/// One skill (alignment), for display.
#[derive(Debug)]
struct Skill {
    name: String,
    url: Option<String>,
    framework: Option<String>,
    code: Option<String>,
    description: Option<String>,
}

/// The verification page.
#[derive(Debug, Template)]
#[template(path = "credential.html")]
struct CredentialPage {
    base_path: String,
    id: String,
    verdict: &'static str,
    verdict_title: &'static str,
    verdict_icon: &'static str,
    verdict_detail: String,
    image_url: String,
    achievement_name: String,
    achievement_type: Option<String>,
    description: String,
    criteria: Option<String>,
    skills: Vec<Skill>,
    issuer_name: String,
    issuer_url: Option<String>,
    issuer_did: Option<String>,
    /// The recipient's name; none when their data was erased.
    recipient_name: Option<String>,
    issued_on: String,
    expires_on: Option<String>,
    checks: Vec<CheckRow>,
    verification_url: String,
    linkedin_url: Option<String>,
}

/// A page with one message (not found, error).
#[derive(Debug, Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    base_path: &'a str,
    verdict: &'a str,
    heading: &'a str,
    message: &'a str,
}

/// The path of the public base URL (empty unless the deployment lives under a prefix), so
/// that links work behind a path prefix too.
pub fn base_path(app: &App) -> String {
    app.settings().public_url.path().trim_end_matches('/').to_owned()
}

/// A string member.
fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// An absolute `http(s)` URL, the only kind rendered as a link.
fn web_url(text: Option<String>) -> Option<String> {
    text.filter(|t| {
        url::Url::parse(t)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
    })
}

/// The first of a value that may be one object or an array of them.
fn first(value: Option<&Value>) -> Option<&Value> {
    match value? {
        Value::Array(items) => items.first(),
        other => Some(other),
    }
}

/// Labels for the verifier's check names.
fn check_label(name: &str) -> &'static str {
    match name {
        "size" => "Size",
        "parse" => "Readable",
        "structure" => "Open Badges 3.0 structure",
        "issuer-key" => "Issuer key",
        "proof" => "Signature",
        "dates" => "Validity dates",
        "status" => "Revocation and suspension",
        _ => "Check",
    }
}

/// Renders the page of a verified credential; links start with `base_path` (see
/// [`base_path`]), and `verification_url` is the page's own public URL.
pub fn render_credential(
    base_path: &str,
    verification_url: String,
    verification: &Verification,
) -> Result<String, askama::Error> {
    let Verification { credential, report } = verification;
    let record = &credential.record;
    let document: Value = serde_json::from_str(&record.document).unwrap_or(Value::Null);
    let subject = first(document.get("credentialSubject")).cloned().unwrap_or(Value::Null);
    let achievement = subject.get("achievement").cloned().unwrap_or(Value::Null);
    let template = credential.template.as_ref();
    let issuer = document.get("issuer").cloned().unwrap_or(Value::Null);

    let achievement_name = text(&achievement, "name")
        .or_else(|| template.map(|t| t.name.clone()))
        .unwrap_or_else(|| "Credential".into());
    let issuer_name =
        text(&issuer, "name").unwrap_or_else(|| credential.workspace.issuer.name.clone());
    let id = record.id.to_string();
    let base = base_path.to_owned();

    // The template's own image when it is one the page may show (CSP: https or data),
    // otherwise the generated badge.
    let image = match achievement.get("image") {
        Some(Value::String(url)) => Some(url.clone()),
        Some(image) => text(image, "id"),
        None => None,
    };
    let image_url = image
        .filter(|url| url.starts_with("https://") || url.starts_with("data:image/"))
        .unwrap_or_else(|| format!("{base}/credentials/{id}/badge.svg"));

    let skills = achievement
        .get("alignment")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|a| {
                    Some(Skill {
                        name: text(a, "targetName")?,
                        url: web_url(text(a, "targetUrl")),
                        framework: text(a, "targetFramework"),
                        code: text(a, "targetCode"),
                        description: text(a, "targetDescription"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    let kind = verdict(report, &record.status);
    let checks = report
        .checks
        .iter()
        .map(|check| {
            let (outcome, mark) = match check.outcome {
                Outcome::Passed => ("passed", "✓"),
                Outcome::Failed => ("failed", "✕"),
                Outcome::Skipped => ("skipped", "–"),
            };
            CheckRow { label: check_label(check.name), outcome, mark, detail: check.detail.clone() }
        })
        .collect();
    let linkedin = (kind == PageVerdict::Active).then(|| {
        linkedin_url(&LinkedInCertification {
            name: &achievement_name,
            organization: &issuer_name,
            issued: record.issued_at,
            expires: record.valid_until,
            url: &verification_url,
            id: &id,
        })
    });

    let page = CredentialPage {
        verdict: kind.as_str(),
        verdict_title: kind.title(),
        verdict_icon: kind.icon(),
        verdict_detail: verdict_detail(kind, report, record),
        image_url,
        achievement_type: text(&achievement, "achievementType").map(|t| spaced(&t)),
        description: text(&achievement, "description")
            .or_else(|| template.map(|t| t.description.clone()))
            .unwrap_or_default(),
        criteria: achievement.get("criteria").and_then(|c| text(c, "narrative")),
        skills,
        issuer_url: web_url(text(&issuer, "url")),
        issuer_did: report.issuer.clone(),
        recipient_name: credential.recipient.data().map(|data| data.name.clone()),
        issued_on: human_date(record.issued_at),
        expires_on: record.valid_until.map(human_date),
        checks,
        linkedin_url: linkedin,
        verification_url,
        achievement_name,
        issuer_name,
        base_path: base,
        id,
    };
    page.render()
}

/// `CertificateOfCompletion` → `Certificate Of Completion`; `ext:Foo` stays as it is.
fn spaced(kind: &str) -> String {
    if kind.contains(':') {
        return kind.to_owned();
    }
    let mut out = String::with_capacity(kind.len() + 4);
    for (i, c) in kind.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Renders a page with one message; `verdict` is its `data-verdict` (`not-found`, `error`).
pub fn render_message(
    base_path: &str,
    verdict: &str,
    heading: &str,
    message: &str,
) -> Result<String, askama::Error> {
    MessagePage { base_path, verdict, heading, message }.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use credentials::verify::Check;

    fn report(verdict: Verdict, dates: Option<&str>) -> Report {
        let mut checks = vec![Check { name: "proof", outcome: Outcome::Passed, detail: None }];
        if let Some(detail) = dates {
            checks.push(Check {
                name: "dates",
                outcome: Outcome::Failed,
                detail: Some(detail.into()),
            });
        }
        Report {
            verdict,
            source: None,
            format: None,
            credential_id: None,
            issuer: None,
            verification_method: None,
            checks,
            credential: None,
        }
    }

    #[test]
    fn the_verdict_takes_the_worse_of_report_and_record() {
        let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let revoked = CredentialStatus::Revoked { at, reason: "fraud".into() };
        let suspended = CredentialStatus::Suspended { at };
        let active = CredentialStatus::Active;
        let cases = [
            (report(Verdict::Valid, None), &active, PageVerdict::Active),
            (report(Verdict::Invalid("proof: bad".into()), None), &active, PageVerdict::Invalid),
            (report(Verdict::Invalid("proof: bad".into()), None), &revoked, PageVerdict::Invalid),
            (report(Verdict::Valid, None), &revoked, PageVerdict::Revoked),
            (report(Verdict::Revoked, None), &active, PageVerdict::Revoked),
            (report(Verdict::Suspended, Some("expired")), &suspended, PageVerdict::Suspended),
            (report(Verdict::Valid, None), &suspended, PageVerdict::Suspended),
            (report(Verdict::Expired, Some("expired")), &active, PageVerdict::Expired),
            (
                report(Verdict::StatusUnknown("x".into()), Some("expired")),
                &active,
                PageVerdict::Expired,
            ),
            (report(Verdict::Valid, None), &CredentialStatus::Expired { at }, PageVerdict::Expired),
            (
                report(Verdict::NotYetValid, Some("not yet valid")),
                &active,
                PageVerdict::NotYetValid,
            ),
            (
                report(Verdict::StatusUnknown("no list".into()), None),
                &active,
                PageVerdict::StatusUnknown,
            ),
        ];
        for (report, status, expected) in cases {
            assert_eq!(verdict(&report, status), expected, "{:?} / {status:?}", report.verdict);
        }
    }

    #[test]
    fn the_linkedin_link_encodes_every_value() {
        let url = linkedin_url(&LinkedInCertification {
            name: "Rust & Safety: 100% <Fun>",
            organization: "Acme Académie",
            issued: Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap(),
            expires: Some(Utc.with_ymd_and_hms(2027, 11, 1, 0, 0, 0).unwrap()),
            url: "https://badges.example/credentials/abc?x=1&y=2",
            id: "abc def",
        });
        assert_eq!(
            url,
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME\
             &name=Rust%20%26%20Safety%3A%20100%25%20%3CFun%3E\
             &organizationName=Acme%20Acad%C3%A9mie&issueYear=2025&issueMonth=3\
             &expirationYear=2027&expirationMonth=11\
             &certUrl=https%3A%2F%2Fbadges.example%2Fcredentials%2Fabc%3Fx%3D1%26y%3D2&certId=abc%20def"
        );
    }

    #[test]
    fn the_linkedin_link_leaves_out_a_missing_expiry() {
        let url = linkedin_url(&LinkedInCertification {
            name: "A",
            organization: "B",
            issued: Utc.with_ymd_and_hms(2025, 12, 31, 0, 0, 0).unwrap(),
            expires: None,
            url: "u",
            id: "i",
        });
        assert!(!url.contains("expiration"));
        assert!(url.contains("&issueYear=2025&issueMonth=12&certUrl=u&certId=i"));
    }

    fn verification(name: &str, status: CredentialStatus, verdict: Verdict) -> Verification {
        use platform::app::PublicCredential;
        use platform::ids::{
            CredentialId, Email, OrganizationId, TemplateId, WorkspaceId, WorkspaceSlug,
        };
        use platform::model::{IssuerProfile, Workspace};
        use platform::personal::{Recipient, RecipientData, RecipientId, SealedRecipient};
        let at = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
        let document = serde_json::json!({
            "id": "urn:uuid:x",
            "issuer": {"id": "did:web:example.com:ws:acme", "name": "Acme <b>Academy</b>", "url": "javascript:alert(1)"},
            "credentialSubject": {"achievement": {
                "name": name, "description": "Line one\nLine two", "achievementType": "Certificate",
                "criteria": {"narrative": "Pass the <exam>"},
                "alignment": [{"targetName": "Rust", "targetUrl": "https://skills.example/rust", "targetFramework": "ESCO"}]
            }}
        });
        let record = CredentialRecord {
            id: CredentialId::generate(),
            workspace_id: WorkspaceId::generate(),
            template_id: TemplateId::generate(),
            recipient: SealedRecipient {
                id: RecipientId::parse(&"a".repeat(64)).unwrap(),
                key_id: uuid::Uuid::nil(),
                sealed: Vec::new(),
            },
            status,
            status_index: 0,
            issued_at: at,
            valid_from: at,
            valid_until: Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
            document: document.to_string(),
        };
        let workspace = Workspace {
            id: record.workspace_id,
            organization_id: OrganizationId::generate(),
            slug: WorkspaceSlug::parse("acme").unwrap(),
            name: "Acme".into(),
            issuer: IssuerProfile { name: "Acme".into(), url: None, email: None, image: None },
            did: "did:web:example.com:ws:acme".into(),
            current_key_id: "key-1".into(),
            created_at: at,
            requires_approval: false,
        };
        let report = Report { verdict, ..report(Verdict::Valid, None) };
        let recipient = Recipient::Known(RecipientData {
            email: Email::parse("email", "ada@example.com").unwrap(),
            name: "Ada \"Countess\" Lovelace".into(),
        });
        Verification {
            credential: PublicCredential { record, recipient, workspace, template: None },
            report,
        }
    }

    #[test]
    fn the_page_escapes_what_users_typed_and_marks_the_verdict() {
        let v = verification("<script>alert(1)</script>", CredentialStatus::Active, Verdict::Valid);
        let id = v.credential.record.id;
        let html =
            render_credential("", format!("https://b.example/credentials/{id}"), &v).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&#60;script&#62;"));
        assert!(!html.contains("<b>Academy"));
        assert!(!html.contains("<exam>"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains(r#"id="verdict""#) && html.contains(r#"data-verdict="active""#));
        assert!(html.contains(&format!(r#"<img class="qr" src="/credentials/{id}/qr.svg""#)));
        assert!(html.contains(&format!(r#"href="/credentials/{id}/credential.json""#)));
        assert!(html.contains(&format!(r#"src="/credentials/{id}/badge.svg""#)));
        assert!(html.contains("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&#38;name=%3Cscript%3E"));
        assert!(html.contains(r#"href="https://skills.example/rust""#));
        assert!(html.contains("5 March 2025") && html.contains("1 January 2027"));
        assert!(!html.contains("style=") && !html.contains("<style") && !html.contains("<script"));
    }

    #[test]
    fn a_revoked_page_shows_the_reason_and_no_linkedin_link() {
        let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let status = CredentialStatus::Revoked { at, reason: "issued <by mistake>".into() };
        let v = verification("Rust", status, Verdict::Revoked);
        let html = render_credential("/prefix", "u".into(), &v).unwrap();
        assert!(html.contains(r#"data-verdict="revoked""#));
        assert!(html.contains("issued &#60;by mistake&#62;"));
        assert!(!html.contains("linkedin.com"));
        assert!(html.contains(r#"href="/prefix/assets/site.css""#));
    }

    #[test]
    fn achievement_types_read_as_words() {
        assert_eq!(spaced("CertificateOfCompletion"), "Certificate Of Completion");
        assert_eq!(spaced("ext:MyType"), "ext:MyType");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(web_url(Some("javascript:alert(1)".into())), None);
        assert_eq!(web_url(Some("data:text/html,x".into())), None);
        assert_eq!(
            web_url(Some("https://example.com/x".into())),
            Some("https://example.com/x".into())
        );
    }
}

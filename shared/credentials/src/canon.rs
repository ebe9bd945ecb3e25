//! JSON-LD to RDF, then RDFC-1.0 canonical N-Quads.
//!
//! A JSON-LD processor silently drops what it cannot map to an IRI: a term no context defines,
//! a relative `id` when there is no base. A signature over such a document would not cover
//! those fields, so an attacker could change them freely. This module refuses them instead
//! (the "safe mode" of JSON-LD signatures):
//!
//! - the document is expanded with one extra, last context entry `{"@vocab": SENTINEL}`, so a
//!   term that no real context defines expands to a sentinel IRI instead of vanishing, and
//!   with a sentinel base IRI, so a relative IRI resolves to something recognisable;
//! - any quad that mentions a sentinel IRI is an error naming the term.
//!
//! Neither sentinel changes the expansion of a defined term, so for every document accepted
//! the quads are exactly those of plain JSON-LD 1.1 `toRdf`. Contexts come only from the
//! bundle in [`crate::contexts`]; nothing is fetched.
//!
//! There are two paths to the same N-Quads:
//!
//! - the **fast path** ([`canonicalize_fast`]): the bundled contexts are compiled once into
//!   shared active contexts (`compiled`), each document is expanded and converted to quads in
//!   one walk against them (`expand`), and a dedicated RDFC-1.0 implementation canonicalizes
//!   and serializes the quads (`rdfc`). It covers what credentials, proofs, DID documents and
//!   status lists use, and declines anything else: an inline or unknown context, an undefined
//!   term, a relative IRI, a blank node identifier, a keyword other than `@id` and `@type`,
//!   a language, `@json`, ... A declined document is never an error by itself;
//! - the **general path** ([`canonicalize_general`]): `oxjsonld` with the bundled contexts,
//!   then `oxrdf`'s RDFC-1.0. Every declined document goes there, so it decides every error
//!   and every unusual document, and the fast path only ever returns what it would return
//!   (differential tests and a fuzz target compare the two).
//!
//! [`canonicalize`], [`canonical_hash`] and [`to_rdf`] try the fast path first.

mod compiled;
mod expand;
mod rdfc;

use oxjsonld::{JsonLdParser, JsonLdRemoteDocument};
use oxrdf::dataset::{CanonicalizationAlgorithm, CanonicalizationHashAlgorithm};
use oxrdf::{
    BlankNode, Dataset, GraphNameRef, Literal, NamedNode, NamedOrBlankNodeRef, QuadRef, TermRef,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{Error, Result, contexts};

/// Where undefined terms land; never a real vocabulary.
const UNDEFINED_VOCAB: &str = "urn:x-undefined-term:";
/// Where relative IRIs land; the `.invalid` TLD cannot name a real host.
const RELATIVE_BASE: &str = "https://relative-iri.invalid/";

/// The RDFC-1.0 canonical N-Quads of a JSON-LD document (sorted lines, each ending in `\n`).
///
/// Fails on malformed JSON-LD, an unknown context, an undefined term or a relative IRI.
pub fn canonicalize(document: &Value) -> Result<String> {
    match canonicalize_fast(document) {
        Some(nquads) => Ok(nquads),
        None => canonicalize_general(document),
    }
}

/// The canonical N-Quads of the document `object` without its top-level entry `excluded`
/// (the proof of a signed document), without copying the document when the fast path takes
/// it. The same as [`canonicalize`] on a copy without that entry.
pub fn canonicalize_without(object: &Map<String, Value>, excluded: &str) -> Result<String> {
    if let Some(nquads) = expand::object_to_quads(object, Some(excluded))
        .ok()
        .and_then(|quads| rdfc::canonical_nquads(quads.quads, quads.blanks))
    {
        return Ok(nquads);
    }
    let mut copy = object.clone();
    copy.shift_remove(excluded);
    canonicalize_general(&Value::Object(copy))
}

/// The fast path alone: the canonical N-Quads of `document`, or `None` when the fast path
/// declines it (which says nothing about whether the document is valid). When it returns
/// N-Quads, they are those [`canonicalize_general`] returns. Use [`canonicalize`]; this is
/// public for differential testing.
pub fn canonicalize_fast(document: &Value) -> Option<String> {
    let quads = expand::to_quads(document).ok()?;
    rdfc::canonical_nquads(quads.quads, quads.blanks)
}

/// The general path alone (`oxjsonld`, then `oxrdf`'s RDFC-1.0), which decides every
/// document the fast path declines. Use [`canonicalize`]; this is public for differential
/// testing.
pub fn canonicalize_general(document: &Value) -> Result<String> {
    let quads = to_rdf_general(document)?;
    Ok(canonical_nquads(quads))
}

/// SHA-256 of the canonical N-Quads of `document`.
pub fn canonical_hash(document: &Value) -> Result<[u8; 32]> {
    Ok(Sha256::digest(canonicalize(document)?.as_bytes()).into())
}

/// Expands `document` to an RDF dataset with the bundled contexts, refusing anything lossy.
pub fn to_rdf(document: &Value) -> Result<Dataset> {
    match expand::to_quads(document) {
        Ok(quads) => Ok(quads.into_dataset()),
        Err(expand::Declined) => to_rdf_general(document),
    }
}

fn to_rdf_general(document: &Value) -> Result<Dataset> {
    let Value::Object(object) = document else {
        return Err(Error::Json("a JSON-LD document must be an object".into()));
    };
    check_keys_and_contexts(document)?;
    let guarded = with_sentinel_vocab(object)?;
    let bytes = serde_json::to_vec(&guarded).map_err(|e| Error::Json(e.to_string()))?;
    let parser = JsonLdParser::new()
        .with_base_iri(RELATIVE_BASE)
        .map_err(|e| Error::JsonLd(e.to_string()))?;
    let mut dataset = Dataset::new();
    for quad in parser.for_slice(&bytes).with_load_document_callback(load_bundled) {
        let quad = quad.map_err(|e| Error::JsonLd(e.to_string()))?;
        check_quad(quad.as_ref())?;
        dataset.insert(&quad);
    }
    check_nothing_dropped(&bytes)?;
    Ok(dataset)
}

/// The strict parser leaves out, without an error, every statement with a term RDF does not
/// allow: an IRI with a space or a `{`, a malformed blank node identifier, a bad language tag,
/// a key that expands to such an IRI. A signature would not cover those fields. The lenient
/// parser keeps them (unchecked), so parsing again leniently and checking every term finds
/// them. Only the general path pays for this; the fast path declines such documents itself.
fn check_nothing_dropped(bytes: &[u8]) -> Result<()> {
    let parser = JsonLdParser::new()
        .lenient()
        .with_base_iri(RELATIVE_BASE)
        .map_err(|e| Error::JsonLd(e.to_string()))?;
    // The strict parse decided the syntax; a lenient error adds nothing to it.
    for quad in parser.for_slice(bytes).with_load_document_callback(load_bundled).flatten() {
        check_quad(quad.as_ref())?;
        check_terms(quad.as_ref())?;
    }
    Ok(())
}

fn check_terms(quad: QuadRef<'_>) -> Result<()> {
    let named = |iri: &str| {
        NamedNode::new(iri).map(|_| ()).map_err(|_| Error::InvalidRdfTerm(iri.to_owned()))
    };
    let blank = |id: &str| {
        BlankNode::new(id).map(|_| ()).map_err(|_| Error::InvalidRdfTerm(format!("_:{id}")))
    };
    match quad.subject {
        NamedOrBlankNodeRef::NamedNode(node) => named(node.as_str())?,
        NamedOrBlankNodeRef::BlankNode(node) => blank(node.as_str())?,
    }
    named(quad.predicate.as_str())?;
    match quad.object {
        TermRef::NamedNode(node) => named(node.as_str())?,
        TermRef::BlankNode(node) => blank(node.as_str())?,
        TermRef::Literal(literal) => {
            named(literal.datatype().as_str())?;
            if let Some(language) = literal.language() {
                Literal::new_language_tagged_literal(literal.value(), language)
                    .map_err(|_| Error::InvalidRdfTerm(language.to_owned()))?;
            }
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
    match quad.graph_name {
        GraphNameRef::NamedNode(node) => named(node.as_str()),
        GraphNameRef::BlankNode(node) => blank(node.as_str()),
        GraphNameRef::DefaultGraph => Ok(()),
    }
}

/// Canonicalizes the blank nodes of `dataset` with RDFC-1.0 (SHA-256) and serializes it.
pub fn canonical_nquads(mut dataset: Dataset) -> String {
    dataset.canonicalize(CanonicalizationAlgorithm::Rdfc10 {
        hash_algorithm: CanonicalizationHashAlgorithm::Sha256,
    });
    let mut lines: Vec<String> = dataset.iter().map(|quad| format!("{quad} .\n")).collect();
    // Canonical N-Quads are ordered by Unicode code point, which is byte order in UTF-8.
    lines.sort_unstable();
    lines.concat()
}

fn load_bundled(
    url: &str,
    _options: &oxjsonld::JsonLdLoadDocumentOptions,
) -> std::result::Result<JsonLdRemoteDocument, Box<dyn std::error::Error + Send + Sync>> {
    let context = contexts::get(url)?;
    Ok(JsonLdRemoteDocument { document: context.document.to_vec(), document_url: url.to_owned() })
}

/// Appends the sentinel `@vocab` as the last entry of the top-level `@context`.
fn with_sentinel_vocab(object: &Map<String, Value>) -> Result<Value> {
    let mut guarded = object.clone();
    let sentinel = serde_json::json!({ "@vocab": UNDEFINED_VOCAB });
    let context = match guarded.shift_remove("@context") {
        None => return Err(Error::field("@context", "is required")),
        Some(Value::Array(mut entries)) => {
            entries.push(sentinel);
            Value::Array(entries)
        }
        Some(single) => Value::Array(vec![single, sentinel]),
    };
    // `@context` must come first for a streaming JSON-LD parser.
    let mut ordered = Map::with_capacity(guarded.len() + 1);
    ordered.insert("@context".into(), context);
    ordered.extend(guarded);
    Ok(Value::Object(ordered))
}

/// Walks the JSON: every `@context` string must be bundled, and no key may be an unknown
/// keyword. Both would otherwise fail late or be dropped silently.
fn check_keys_and_contexts(value: &Value) -> Result<()> {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                // A key of keyword form that is no keyword (`@foo`) would be ignored silently.
                if key.starts_with('@') && !compiled::KEYWORDS.contains(&key.as_str()) {
                    return Err(Error::UndefinedTerm(key.clone()));
                }
                if key == "@context" {
                    check_context_urls(child)?;
                } else {
                    check_keys_and_contexts(child)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_keys_and_contexts),
        _ => Ok(()),
    }
}

fn check_context_urls(context: &Value) -> Result<()> {
    match context {
        Value::String(url) => contexts::get(url).map(|_| ()),
        Value::Array(entries) => entries.iter().try_for_each(check_context_urls),
        // Embedded contexts are processed as they are; a nested `@import` must be bundled.
        Value::Object(object) => match object.get("@import") {
            Some(import) => check_context_urls(import),
            None => Ok(()),
        },
        Value::Null => Ok(()),
        other => Err(Error::JsonLd(format!("invalid @context entry {other}"))),
    }
}

fn check_quad(quad: QuadRef<'_>) -> Result<()> {
    check_subject(quad.subject)?;
    check_iri(quad.predicate.as_str())?;
    match quad.object {
        TermRef::NamedNode(node) => check_iri(node.as_str())?,
        TermRef::Literal(literal) => check_iri(literal.datatype().as_str())?,
        _ => {}
    }
    if let GraphNameRef::NamedNode(node) = quad.graph_name {
        check_iri(node.as_str())?;
    }
    Ok(())
}

fn check_subject(subject: NamedOrBlankNodeRef<'_>) -> Result<()> {
    match subject {
        NamedOrBlankNodeRef::NamedNode(node) => check_iri(node.as_str()),
        _ => Ok(()),
    }
}

fn check_iri(iri: &str) -> Result<()> {
    if let Some(term) = iri.strip_prefix(UNDEFINED_VOCAB) {
        return Err(Error::UndefinedTerm(term.to_owned()));
    }
    if let Some(relative) = iri.strip_prefix(RELATIVE_BASE) {
        return Err(Error::RelativeIri(relative.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn credential() -> Value {
        json!({
            "@context": [contexts::VC_V2, contexts::OB_V3],
            "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "did:web:example.com", "type": ["Profile"], "name": "Example"},
            "validFrom": "2024-01-01T00:00:00Z",
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": "https://example.com/a",
                    "type": ["Achievement"],
                    "name": "A",
                    "description": "B",
                    "criteria": {"narrative": "C"}
                }
            }
        })
    }

    #[test]
    fn a_valid_credential_canonicalizes_to_sorted_lines() {
        let nquads = canonicalize(&credential()).unwrap();
        let lines: Vec<&str> = nquads.lines().collect();
        assert!(lines.len() > 10);
        assert!(lines.windows(2).all(|w| w[0] <= w[1]));
        assert!(nquads.contains("<https://schema.org/name> \"A\" ."));
        assert!(!nquads.contains(UNDEFINED_VOCAB));
    }

    #[test]
    fn an_undefined_term_is_an_error_not_silently_dropped() {
        let mut doc = credential();
        doc["credentialSubject"]["achievement"]["favouriteColour"] = json!("blue");
        assert_eq!(canonicalize(&doc).unwrap_err(), Error::UndefinedTerm("favouriteColour".into()));
    }

    #[test]
    fn an_undefined_type_is_an_error() {
        let mut doc = credential();
        doc["type"] = json!(["VerifiableCredential", "FancyCredential"]);
        assert_eq!(canonicalize(&doc).unwrap_err(), Error::UndefinedTerm("FancyCredential".into()));
    }

    #[test]
    fn an_unknown_keyword_is_an_error() {
        let mut doc = credential();
        doc["@foo"] = json!("bar");
        assert_eq!(canonicalize(&doc).unwrap_err(), Error::UndefinedTerm("@foo".into()));
    }

    #[test]
    fn a_relative_id_is_an_error() {
        let mut doc = credential();
        doc["credentialSubject"]["achievement"]["id"] = json!("achievements/1");
        assert_eq!(canonicalize(&doc).unwrap_err(), Error::RelativeIri("achievements/1".into()));
    }

    /// Each of these was once left out of the RDF data by the general path without an error,
    /// so the field could be changed without breaking a signature.
    #[test]
    fn a_term_rdf_does_not_allow_is_an_error_on_both_paths() {
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "an image IRI with braces",
                Box::new(|doc| {
                    doc["credentialSubject"]["achievement"]["image"] =
                        json!({"id": "https://example.com/{x}.png", "type": "Image"});
                }),
            ),
            (
                "an evidence id with a bar",
                Box::new(|doc| {
                    doc["evidence"] = json!([{"id": "https://example.com/a|b",
                        "type": ["Evidence"], "name": "E"}]);
                }),
            ),
            (
                "an empty blank node identifier",
                Box::new(|doc| {
                    doc["evidence"] = json!([{"id": "_:", "type": ["Evidence"], "name": "E"}]);
                }),
            ),
            (
                "a key with a space",
                Box::new(|doc| {
                    doc["credentialSubject"]["achievement"]["favourite colour"] = json!("blue");
                }),
            ),
        ];
        for (case, edit) in cases {
            let mut doc = credential();
            edit(&mut doc);
            assert!(canonicalize_fast(&doc).is_none(), "{case}: the fast path must decline");
            let error = canonicalize(&doc).expect_err(case);
            assert!(
                matches!(error, Error::InvalidRdfTerm(_) | Error::UndefinedTerm(_)),
                "{case}: {error}"
            );
        }
    }

    #[test]
    fn an_unknown_context_is_refused_without_fetching() {
        let mut doc = credential();
        doc["@context"] = json!([contexts::VC_V2, "https://attacker.example/ctx.json"]);
        assert_eq!(
            canonicalize(&doc).unwrap_err(),
            Error::UnknownContext("https://attacker.example/ctx.json".into())
        );
    }

    #[test]
    fn a_missing_context_is_a_field_error() {
        let mut doc = credential();
        doc.as_object_mut().unwrap().remove("@context");
        assert!(matches!(canonicalize(&doc), Err(Error::InvalidField { .. })));
    }

    #[test]
    fn leaving_out_an_entry_is_the_same_as_removing_it() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/rich/signed.json");
        let signed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut unsigned = signed.as_object().unwrap().clone();
        unsigned.shift_remove("proof");
        let expected = canonicalize_general(&Value::Object(unsigned)).unwrap();
        assert_eq!(canonicalize_without(signed.as_object().unwrap(), "proof").unwrap(), expected);
        // Declined by the fast path (an inline context), the general path answers the same.
        let mut inline = signed.as_object().unwrap().clone();
        inline.insert("narrative".into(), json!({"@value": "x"}));
        assert!(canonicalize_fast(&Value::Object(inline.clone())).is_none());
        let mut removed = inline.clone();
        removed.shift_remove("proof");
        assert_eq!(
            canonicalize_without(&inline, "proof"),
            canonicalize_general(&Value::Object(removed))
        );
    }

    #[test]
    fn to_rdf_gives_the_same_dataset_on_both_paths() {
        let fast = to_rdf(&credential()).unwrap();
        let general = to_rdf_general(&credential()).unwrap();
        assert_eq!(canonical_nquads(fast), canonical_nquads(general));
    }

    #[test]
    fn key_order_does_not_change_the_canonical_form() {
        let doc = credential();
        let mut reversed = Map::new();
        for (k, v) in doc.as_object().unwrap().iter().rev() {
            reversed.insert(k.clone(), v.clone());
        }
        assert_eq!(canonicalize(&doc).unwrap(), canonicalize(&Value::Object(reversed)).unwrap());
    }
}

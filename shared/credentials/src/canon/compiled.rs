//! Compiled active contexts: the bundled JSON-LD contexts processed once, shared by every
//! document.
//!
//! A compiled context ([`Ctx`]) is the active context of the JSON-LD 1.1 Context Processing
//! algorithm: term definitions, the vocabulary mapping and the "previous context" that
//! type-scoped contexts revert to. The root for a list of bundled context URLs is built the
//! first time a document uses that list, and every context derived from it (type-scoped and
//! property-scoped contexts applied to it) the first time a document needs it; each is then
//! immutable, memoized on the context it was derived from, and shared by all threads.
//!
//! The general path (`oxjsonld`) is the reference: this module reproduces what it computes,
//! including the details where it departs from the letter of the specification (a term
//! definition with an `@id` ending in a gen-delim is a prefix whatever its form; the base URL
//! and the scoped context take part in the comparison of a redefined protected term). What it
//! cannot reproduce with certainty it reports as [`Fail::Unsupported`], and the document goes
//! through the general path; what the general path reports as an error is [`Fail::Error`],
//! and the document goes there too, so that the error is the general path's.
//!
//! Contexts are leaked on purpose: they live as long as the process, like the bundle they come
//! from. Their number is capped ([`MAX_CONTEXTS`]), so a stream of unusual documents cannot
//! grow memory without bound; past the cap, documents that need a new context take the
//! general path.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use oxrdf::NamedNodeRef;
use serde_json::{Map, Value};

use super::{RELATIVE_BASE, UNDEFINED_VOCAB};
use crate::contexts;

/// Why a context (or a document) cannot take the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fail {
    /// Valid JSON-LD that this module does not reproduce.
    Unsupported,
    /// The general path reports an error.
    Error,
}

type Res<T> = Result<T, Fail>;

/// Most contexts compiled per process (roots and derived ones together).
pub(super) const MAX_CONTEXTS: usize = 2048;
/// Most distinct `@context` lists remembered.
const MAX_ROOTS: usize = 64;

const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
pub(super) const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";
const RDF_LANG_STRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";
const RDF_DIR_LANG_STRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#dirLangString";
const RDF_JSON: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON";

/// Whether a term is protected. `Maybe` stands for definitions whose protection the general
/// path decides by hash-map iteration order (a term another term of the same context refers
/// to can be defined through that reference, unprotected); redefining one differently is
/// unsupported rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protected {
    No,
    Yes,
    Maybe,
}

/// How a term behaves as a key of a node object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyUse {
    Id,
    Type,
    /// A property: the IRI is absolute, valid, and no sentinel.
    Property,
    /// Anything else (a null mapping, another keyword, an invalid IRI).
    Unsupported,
}

/// The type coercion of a term, as the fast path uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coercion {
    None,
    Id,
    Vocab,
    /// A datatype IRI ([`Term::datatype`]: absolute, valid; `xsd:string` makes simple
    /// literals).
    Datatype,
    /// `@json`, `@none` or a datatype the fast path does not handle.
    Unsupported,
}

/// The container of a term, as the fast path uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    /// No container, or `@set`: values are just values.
    None,
    List,
    /// `@graph` or `[@graph, @set]`: each node object value is a named graph.
    Graph,
    Unsupported,
}

/// A term definition: every field the general path compares when a protected term is
/// redefined, plus what the fast path derives from them once.
#[derive(Debug)]
pub(super) struct Term {
    /// Unique per definition; keys the memo of scoped contexts.
    id: u32,
    protected: Protected,
    // Compared fields.
    iri: Option<Arc<str>>,
    prefix: bool,
    base_url: Option<Arc<str>>,
    context: Option<&'static Value>,
    container: &'static [&'static str],
    language: Option<Option<String>>,
    direction: Option<Option<String>>,
    nest: Option<String>,
    type_mapping: Option<Arc<str>>,
    // Derived.
    pub(super) key: KeyUse,
    pub(super) coercion: Coercion,
    pub(super) container_use: Container,
    /// A language, a direction or `@nest`, which the fast path does not apply.
    pub(super) unsupported_use: bool,
    /// The scoped context could not be checked by this module (but is not an error).
    scoped_unsupported: bool,
}

impl Term {
    /// The IRI of a term whose [`KeyUse`] is `Property`.
    pub(super) fn iri(&self) -> &str {
        self.iri.as_deref().unwrap_or_default()
    }

    /// The datatype of a term whose [`Coercion`] is `Datatype`.
    pub(super) fn datatype(&self) -> &str {
        self.type_mapping.as_deref().unwrap_or_default()
    }

    /// The IRI the term expands to as a vocabulary value (a type, an `@vocab` value), if it
    /// is one the fast path can emit.
    pub(super) fn vocab_iri(&self) -> Option<&str> {
        (self.key == KeyUse::Property).then(|| self.iri())
    }

    /// Whether the term maps to a keyword or to null (an `@id` value naming it is not an IRI).
    pub(super) fn is_keyword_or_null(&self) -> bool {
        self.iri.as_deref().is_none_or(|iri| iri.starts_with('@'))
    }

    pub(super) fn has_scoped_context(&self) -> bool {
        self.context.is_some()
    }

    /// What the general path compares when a protected term is redefined.
    fn same_definition(&self, other: &Term) -> bool {
        self.iri == other.iri
            && self.prefix == other.prefix
            && self.base_url == other.base_url
            && self.context == other.context
            && self.container == other.container
            && self.language == other.language
            && self.direction == other.direction
            && self.nest == other.nest
            && self.type_mapping == other.type_mapping
    }

    fn derive(&mut self) {
        self.key = match self.iri.as_deref() {
            Some("@id") => KeyUse::Id,
            Some("@type") => KeyUse::Type,
            Some(iri) if is_emittable_iri(iri) => KeyUse::Property,
            _ => KeyUse::Unsupported,
        };
        self.coercion = match self.type_mapping.as_deref() {
            None => Coercion::None,
            Some("@id") => Coercion::Id,
            Some("@vocab") => Coercion::Vocab,
            Some(RDF_LANG_STRING | RDF_DIR_LANG_STRING | RDF_JSON) => Coercion::Unsupported,
            Some(iri) if is_emittable_iri(iri) => Coercion::Datatype,
            Some(_) => Coercion::Unsupported,
        };
        self.container_use = match self.container {
            [] | ["@set"] => Container::None,
            ["@list"] => Container::List,
            ["@graph"] | ["@graph", "@set"] => Container::Graph,
            _ => Container::Unsupported,
        };
        self.unsupported_use =
            self.language.is_some() || self.direction.is_some() || self.nest.is_some();
    }
}

/// An absolute, valid IRI that is not one of the safe-mode sentinels.
pub(super) fn is_emittable_iri(iri: &str) -> bool {
    !iri.starts_with(UNDEFINED_VOCAB)
        && !iri.starts_with(RELATIVE_BASE)
        && NamedNodeRef::new(iri).is_ok()
}

/// Whether `datatype` makes a simple literal (oxrdf normalizes `xsd:string`).
pub(super) fn is_xsd_string(datatype: &str) -> bool {
    datatype == XSD_STRING
}

/// The hasher of rustc (FxHash): a few cycles for a short key, where SipHash takes most of a
/// lookup. Term maps are only ever built from the bundle (documents only look keys up), so
/// crafted collisions cannot grow them.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Terms = HashMap<&'static str, Arc<Term>, BuildHasherDefault<FxHasher>>;
/// Scoped contexts applied: (term id, flags) to the result.
type Derived = HashMap<(u32, u8), Option<&'static Ctx>, BuildHasherDefault<FxHasher>>;

/// An active context.
#[derive(Debug)]
pub(super) struct Ctx {
    terms: Terms,
    vocab: Option<Arc<str>>,
    previous: Option<&'static Ctx>,
    /// Scoped contexts applied to this one: (term id, flags) to the result, `None` when the
    /// fast path cannot use it.
    derived: RwLock<Derived>,
    /// Embedded `@context` lists (of bundled URLs) applied to this one.
    embedded: RwLock<Vec<(Vec<String>, Option<&'static Ctx>)>>,
    /// The terms that map to a keyword or to null (`id`, `type`: a handful), so that telling
    /// a property from them needs no lookup.
    special: Vec<(&'static str, Special)>,
    /// The terms usable as the prefix of a compact IRI, with their IRI (usually none).
    prefixes: Vec<(&'static str, Arc<str>)>,
}

/// What a term that is not a property maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    Id,
    Type,
    /// Another keyword, or null.
    Other,
}

/// Most embedded context lists remembered per context.
const MAX_EMBEDDED: usize = 16;

impl Ctx {
    fn empty() -> Self {
        Self {
            terms: Terms::default(),
            vocab: None,
            previous: None,
            derived: RwLock::default(),
            embedded: RwLock::default(),
            special: Vec::new(),
            prefixes: Vec::new(),
        }
    }

    fn fork(&self) -> Self {
        Self {
            terms: self.terms.clone(),
            vocab: self.vocab.clone(),
            previous: self.previous,
            derived: RwLock::default(),
            embedded: RwLock::default(),
            special: self.special.clone(),
            prefixes: self.prefixes.clone(),
        }
    }

    /// Computes the lists derived from the terms, once they are all defined.
    fn index(&mut self) {
        self.special.clear();
        self.prefixes.clear();
        for (name, term) in &self.terms {
            match term.key {
                KeyUse::Id => self.special.push((name, Special::Id)),
                KeyUse::Type => self.special.push((name, Special::Type)),
                _ if term.is_keyword_or_null() => self.special.push((name, Special::Other)),
                _ => {}
            }
            if term.prefix
                && let Some(iri) = &term.iri
                && !has_keyword_form(iri)
            {
                self.prefixes.push((name, Arc::clone(iri)));
            }
        }
    }

    /// What `key` maps to if it is a term that is not a property.
    pub(super) fn special(&self, key: &str) -> Option<Special> {
        self.special.iter().find(|(name, _)| *name == key).map(|(_, special)| *special)
    }

    /// The IRI of the prefix term `name`, if there is one.
    pub(super) fn prefix(&self, name: &str) -> Option<&str> {
        self.prefixes.iter().find(|(prefix, _)| *prefix == name).map(|(_, iri)| iri.as_ref())
    }

    pub(super) fn term(&self, name: &str) -> Option<&Term> {
        self.terms.get(name).map(Arc::as_ref)
    }

    /// The term `value` names, if it can name one: compiled contexts have no term with a
    /// colon, so IRIs skip the lookup.
    pub(super) fn term_of_value(&self, value: &str) -> Option<&Term> {
        if value.contains(':') { None } else { self.term(value) }
    }

    pub(super) fn previous(&self) -> Option<&'static Ctx> {
        self.previous
    }

    #[cfg(test)]
    fn vocab(&self) -> Option<&str> {
        self.vocab.as_deref()
    }

    /// The context that applying the scoped context of `term` (a definition of this
    /// context) to this one gives, as the general path computes it (`override_protected` and
    /// `propagate` as it passes them), or `None` if the fast path cannot use it.
    pub(super) fn scoped(
        &'static self,
        term: &Term,
        override_protected: bool,
        propagate: bool,
    ) -> Option<&'static Ctx> {
        let local = term.context?;
        if term.scoped_unsupported {
            return None;
        }
        let key = (term.id, u8::from(override_protected) | (u8::from(propagate) << 1));
        if let Ok(derived) = self.derived.read()
            && let Some(found) = derived.get(&key)
        {
            return *found;
        }
        let base = term.base_url.clone().unwrap_or_else(|| Arc::from(RELATIVE_BASE));
        let result =
            match process(self, Some(self), local, Some(&base), override_protected, propagate) {
                Ok(ctx) if ctx.same_as(self) => Some(self),
                Ok(ctx) => leak(ctx),
                Err(_) => None,
            };
        if let Ok(mut derived) = self.derived.write() {
            derived.insert(key, result);
        }
        result
    }

    /// The context that an embedded `@context` of bundled context URLs makes of this one, or
    /// `None` if the fast path cannot use it.
    pub(super) fn embedded(&'static self, urls: &[&str]) -> Option<&'static Ctx> {
        let matches = |key: &Vec<String>| key.len() == urls.len() && key.iter().eq(urls.iter());
        if let Ok(read) = self.embedded.read()
            && let Some((_, found)) = read.iter().find(|(key, _)| matches(key))
        {
            return *found;
        }
        let mut write = self.embedded.write().ok()?;
        if let Some((_, found)) = write.iter().find(|(key, _)| matches(key)) {
            return *found;
        }
        if write.len() >= MAX_EMBEDDED {
            return None;
        }
        let compiled = apply_bundled(self, urls)
            .ok()
            .and_then(|ctx| if ctx.same_as(self) { Some(self) } else { leak(ctx) });
        write.push((urls.iter().map(|url| (*url).to_owned()).collect(), compiled));
        compiled
    }

    /// Same definitions (the very same ones), vocabulary and previous context.
    fn same_as(&self, other: &Ctx) -> bool {
        self.vocab == other.vocab
            && self.previous.map(std::ptr::from_ref) == other.previous.map(std::ptr::from_ref)
            && self.terms.len() == other.terms.len()
            && self.terms.iter().all(|(name, term)| {
                other.terms.get(name).is_some_and(|theirs| Arc::ptr_eq(term, theirs))
            })
    }
}

static CONTEXTS: AtomicUsize = AtomicUsize::new(0);

fn leak(ctx: Ctx) -> Option<&'static Ctx> {
    if CONTEXTS.fetch_add(1, Ordering::Relaxed) >= MAX_CONTEXTS {
        CONTEXTS.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    Some(Box::leak(Box::new(ctx)))
}

type Roots = Vec<(Vec<String>, Option<&'static Ctx>)>;

/// The compiled root context for a document whose `@context` is `urls` (bundled context
/// URLs), with the safe-mode sentinel vocabulary last; `None` if the fast path cannot use it.
pub(super) fn root(urls: &[&str]) -> Option<&'static Ctx> {
    static ROOTS: OnceLock<RwLock<Roots>> = OnceLock::new();
    let roots = ROOTS.get_or_init(RwLock::default);
    let matches = |key: &Vec<String>| key.len() == urls.len() && key.iter().eq(urls.iter());
    if let Ok(read) = roots.read()
        && let Some((_, found)) = read.iter().find(|(key, _)| matches(key))
    {
        return *found;
    }
    let Ok(mut write) = roots.write() else {
        return None;
    };
    if let Some((_, found)) = write.iter().find(|(key, _)| matches(key)) {
        return *found;
    }
    if write.len() >= MAX_ROOTS {
        return None;
    }
    let compiled = compile_root(urls).ok().and_then(leak);
    write.push((urls.iter().map(|url| (*url).to_owned()).collect(), compiled));
    compiled
}

fn compile_root(urls: &[&str]) -> Res<Ctx> {
    let ctx = apply_bundled(&Ctx::empty(), urls)?;
    static SENTINEL: OnceLock<Value> = OnceLock::new();
    let sentinel = SENTINEL.get_or_init(|| serde_json::json!({ "@vocab": UNDEFINED_VOCAB }));
    process(&ctx, None, sentinel, Some(&Arc::from(RELATIVE_BASE)), false, true)
}

/// `active` with the bundled contexts `urls` processed in turn, as remote contexts.
fn apply_bundled(active: &Ctx, urls: &[&str]) -> Res<Ctx> {
    let mut ctx = active.fork();
    for url in urls {
        let local = bundled_context(url)?;
        let base: Arc<str> = Arc::from(*url);
        ctx = process(&ctx, None, local, Some(&base), false, true)?;
    }
    Ok(ctx)
}

/// The `@context` value of a bundled context document, parsed once.
fn bundled_context(url: &str) -> Res<&'static Value> {
    static PARSED: OnceLock<Vec<Option<Value>>> = OnceLock::new();
    // `get` checks the pins (once) and refuses unknown URLs.
    let bundled = contexts::get(url).map_err(|_| Fail::Error)?;
    let parsed = PARSED.get_or_init(|| {
        contexts::BUNDLED
            .iter()
            .map(|context| serde_json::from_slice::<Value>(context.document).ok())
            .collect()
    });
    let index = contexts::BUNDLED
        .iter()
        .position(|context| context.url == bundled.url)
        .ok_or(Fail::Error)?;
    parsed
        .get(index)
        .and_then(Option::as_ref)
        .and_then(|document| document.get("@context"))
        .ok_or(Fail::Error)
}

/// The keywords of JSON-LD 1.1 documents and contexts.
pub(super) const KEYWORDS: &[&str] = &[
    "@base",
    "@container",
    "@context",
    "@direction",
    "@graph",
    "@id",
    "@import",
    "@included",
    "@index",
    "@json",
    "@language",
    "@list",
    "@nest",
    "@none",
    "@prefix",
    "@propagate",
    "@protected",
    "@reverse",
    "@set",
    "@type",
    "@value",
    "@version",
    "@vocab",
];

/// The keywords of JSON-LD 1.1 Framing, which the general path's `is_keyword` accepts too.
const FRAMING_KEYWORDS: &[&str] =
    &["@default", "@embed", "@explicit", "@omitDefault", "@preserve", "@requireAll"];

/// `@` followed by one or more ASCII letters.
pub(super) fn has_keyword_form(value: &str) -> bool {
    value
        .strip_prefix('@')
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphabetic()))
}

pub(super) fn is_keyword(value: &str) -> bool {
    KEYWORDS.contains(&value) || FRAMING_KEYWORDS.contains(&value)
}

/// Allowed container mappings, sorted, as the general path lists them.
const CONTAINERS: &[&[&str]] = &[
    &["@index"],
    &["@index", "@set"],
    &["@language"],
    &["@language", "@set"],
    &["@graph"],
    &["@graph", "@set"],
    &["@graph", "@id"],
    &["@graph", "@id", "@set"],
    &["@graph", "@index"],
    &["@graph", "@index", "@set"],
    &["@id"],
    &["@id", "@set"],
    &["@list"],
    &["@set"],
    &["@type"],
    &["@type", "@set"],
];

static TERM_IDS: AtomicU32 = AtomicU32::new(0);

/// The state of one local context being processed.
struct Local<'l> {
    map: &'static Map<String, Value>,
    defined: HashMap<&'static str, bool>,
    /// Terms that another term of the same local context refers to.
    referenced: &'l HashSet<&'static str>,
    base: Option<&'l Arc<str>>,
    protected: bool,
    override_protected: bool,
}

/// The Context Processing algorithm, for what the bundled contexts use. `active_static` is
/// `active` when it is a compiled (shared) context; a non-propagated context needs it.
fn process(
    active: &Ctx,
    active_static: Option<&'static Ctx>,
    local: &'static Value,
    base: Option<&Arc<str>>,
    override_protected: bool,
    propagate: bool,
) -> Res<Ctx> {
    let mut result = active.fork();
    if let Value::Object(map) = local
        && map.contains_key("@propagate")
    {
        return Err(Fail::Unsupported);
    }
    if !propagate && result.previous.is_none() {
        result.previous = Some(active_static.ok_or(Fail::Unsupported)?);
    }
    let entries = match local {
        Value::Array(entries) => entries.as_slice(),
        single => std::slice::from_ref(single),
    };
    for entry in entries {
        let map = match entry {
            Value::Object(map) => map,
            // A context reset or a remote context inside a context: not in the bundle.
            Value::Null | Value::String(_) => return Err(Fail::Unsupported),
            _ => return Err(Fail::Error),
        };
        if let Some(version) = map.get("@version") {
            match version {
                Value::Number(number) if number.to_string() == "1.1" => {}
                _ => return Err(Fail::Error),
            }
        }
        for unsupported in ["@import", "@base", "@language", "@direction", "@propagate"] {
            if map.contains_key(unsupported) {
                return Err(Fail::Unsupported);
            }
        }
        if let Some(vocab) = map.get("@vocab") {
            match vocab {
                Value::Null => result.vocab = None,
                Value::String(value) => {
                    let expanded = expand_iri(&mut result, value, true, None)?;
                    match expanded {
                        Some(iri) if !has_keyword_form(&iri) => result.vocab = Some(iri.into()),
                        _ => return Err(Fail::Error),
                    }
                }
                _ => return Err(Fail::Error),
            }
        }
        let protected = match map.get("@protected") {
            None => false,
            Some(Value::Bool(protected)) => *protected,
            Some(_) => return Err(Fail::Error),
        };
        let referenced = references(map);
        let mut local = Local {
            map,
            defined: HashMap::new(),
            referenced: &referenced,
            base,
            protected,
            override_protected,
        };
        for term in map.keys() {
            if matches!(
                term.as_str(),
                "@version"
                    | "@import"
                    | "@base"
                    | "@vocab"
                    | "@language"
                    | "@direction"
                    | "@propagate"
                    | "@protected"
            ) {
                continue;
            }
            create_term(&mut result, &mut local, term)?;
        }
    }
    result.index();
    Ok(result)
}

/// The terms of `map` that another term definition of `map` names in its `@id`, `@type` or
/// `@reverse` (whole, or as the prefix of a compact IRI).
fn references(map: &'static Map<String, Value>) -> HashSet<&'static str> {
    let mut referenced = HashSet::new();
    for (term, definition) in map {
        let values: Vec<&'static str> = match definition {
            Value::String(id) => vec![id.as_str()],
            Value::Object(definition) => ["@id", "@type", "@reverse"]
                .iter()
                .filter_map(|key| definition.get(*key).and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        };
        for value in values {
            let mut candidates = vec![value];
            if let Some((prefix, _)) = value.split_once(':') {
                candidates.push(prefix);
            }
            for candidate in candidates {
                if candidate != term
                    && let Some((key, _)) = map.get_key_value(candidate)
                {
                    referenced.insert(key.as_str());
                }
            }
        }
    }
    referenced
}

/// Create Term Definition.
fn create_term(result: &mut Ctx, local: &mut Local<'_>, term: &'static str) -> Res<()> {
    match local.defined.get(term) {
        Some(true) => return Ok(()),
        Some(false) => return Err(Fail::Error), // cyclic IRI mapping
        None => {}
    }
    if term.is_empty() {
        return Err(Fail::Error);
    }
    local.defined.insert(term, false);
    let Some(value) = local.map.get(term) else {
        return Err(Fail::Error);
    };
    if term == "@type" || term.contains(':') {
        // Keyword redefinition and compact IRI or absolute IRI terms: not in the bundle. (No
        // term has a colon, so a value with one is never a term: the fast path relies on it.)
        return Err(Fail::Unsupported);
    }
    if has_keyword_form(term) {
        return if is_keyword(term) { Err(Fail::Error) } else { Err(Fail::Unsupported) };
    }
    let previous = result.terms.remove(term);
    // A string (or null) definition is the expanded definition `{"@id": value}`.
    let definition: Option<&'static Map<String, Value>> = match value {
        Value::Null | Value::String(_) => None,
        Value::Object(map) => Some(map),
        _ => return Err(Fail::Error),
    };
    let get = |key: &str| -> Option<&'static Value> {
        match definition {
            Some(map) => map.get(key),
            None => (key == "@id").then_some(value),
        }
    };
    let referenced = local.referenced.contains(term);
    if referenced && get("@context").is_some() {
        // Defined through a reference, it would get no base URL: not reproduced.
        return Err(Fail::Unsupported);
    }
    let explicit_protected = match get("@protected") {
        None => None,
        Some(Value::Bool(protected)) => Some(*protected),
        Some(_) => return Err(Fail::Error),
    };
    let mut term_def = Term {
        id: TERM_IDS.fetch_add(1, Ordering::Relaxed),
        protected: Protected::No,
        iri: None,
        prefix: false,
        base_url: None,
        context: None,
        container: &[],
        language: None,
        direction: None,
        nest: None,
        type_mapping: None,
        key: KeyUse::Unsupported,
        coercion: Coercion::Unsupported,
        container_use: Container::Unsupported,
        unsupported_use: true,
        scoped_unsupported: false,
    };
    term_def.protected = match explicit_protected {
        Some(true) => Protected::Yes,
        Some(false) => Protected::No,
        // Defined through a reference, the term is unprotected; otherwise it takes the
        // context's flag. Which comes first depends on hash-map order in the general path.
        None if referenced
            && (local.protected
                || previous.as_ref().is_some_and(|p| p.protected != Protected::No)) =>
        {
            Protected::Maybe
        }
        None if local.protected => Protected::Yes,
        None => Protected::No,
    };
    if let Some(type_value) = get("@type") {
        let Value::String(type_value) = type_value else {
            return Err(Fail::Error);
        };
        let expanded = expand_iri(result, type_value, false, Some(local))?.ok_or(Fail::Error)?;
        let keyword = has_keyword_form(&expanded);
        if keyword && !matches!(expanded.as_ref(), "@id" | "@json" | "@none" | "@vocab")
            || expanded.starts_with("_:")
            || !keyword && NamedNodeRef::new(&expanded).is_err()
        {
            return Err(Fail::Error);
        }
        term_def.type_mapping = Some(expanded.into());
    }
    if get("@reverse").is_some() {
        return Err(Fail::Unsupported);
    }
    let explicit_id = get("@id").filter(|id| id.as_str() != Some(term));
    if let Some(id) = explicit_id {
        match id {
            Value::Null => term_def.iri = None,
            Value::String(id) => {
                let Some(expanded) = expand_iri(result, id, false, Some(local))? else {
                    // The general path drops the definition altogether.
                    return Err(Fail::Unsupported);
                };
                if expanded == "@context" {
                    return Err(Fail::Error);
                }
                if term.contains('/') {
                    // Checked against its own expansion by the general path: not in the bundle.
                    return Err(Fail::Unsupported);
                }
                // A prefix, whatever the form of the definition (as the general path has it).
                if expanded.ends_with([':', '/', '?', '#', '[', ']', '@'])
                    || expanded.starts_with("_:")
                {
                    term_def.prefix = true;
                }
                term_def.iri = Some(expanded.into());
            }
            _ => return Err(Fail::Error),
        }
    } else if term.contains('/') {
        // Relative IRI terms: not in the bundle.
        return Err(Fail::Unsupported);
    } else {
        let vocab = result.vocab.as_deref().ok_or(Fail::Error)?;
        term_def.iri = Some(format!("{vocab}{term}").into());
    }
    if let Some(container) = get("@container") {
        let items = match container {
            Value::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        let mut names = Vec::with_capacity(items.len());
        for item in items {
            names.push(item.as_str().ok_or(Fail::Error)?);
        }
        names.sort_unstable();
        term_def.container =
            CONTAINERS.iter().copied().find(|allowed| *allowed == names).ok_or(Fail::Error)?;
        if term_def.container.contains(&"@type") {
            return Err(Fail::Unsupported);
        }
    }
    if get("@index").is_some() {
        return Err(Fail::Unsupported);
    }
    if let Some(scoped) = get("@context") {
        // The general path checks the scoped context now, against the context being built.
        match process(result, None, scoped, local.base, true, true) {
            Ok(_) => {}
            Err(Fail::Unsupported) => term_def.scoped_unsupported = true,
            Err(Fail::Error) => return Err(Fail::Error),
        }
        term_def.context = Some(scoped);
        term_def.base_url = local.base.cloned();
    }
    if let Some(language) = get("@language") {
        if get("@type").is_some() {
            return Err(Fail::Error);
        }
        term_def.language = Some(match language {
            Value::String(language) => Some(language.clone()),
            Value::Null => None,
            _ => return Err(Fail::Error),
        });
    }
    if let Some(direction) = get("@direction") {
        term_def.direction = Some(match direction {
            Value::Null => None,
            Value::String(direction) if direction == "ltr" || direction == "rtl" => {
                Some(direction.clone())
            }
            _ => return Err(Fail::Error),
        });
    }
    if let Some(nest) = get("@nest") {
        let Value::String(nest) = nest else {
            return Err(Fail::Error);
        };
        if is_keyword(nest) && nest != "@nest" {
            return Err(Fail::Error);
        }
        term_def.nest = Some(nest.clone());
    }
    if let Some(prefix) = get("@prefix") {
        if term.contains('/') {
            return Err(Fail::Error);
        }
        let Value::Bool(prefix) = prefix else {
            return Err(Fail::Error);
        };
        term_def.prefix = *prefix;
        if term_def.prefix && term_def.iri.as_deref().is_some_and(is_keyword) {
            return Err(Fail::Error);
        }
    }
    if definition.into_iter().flat_map(Map::keys).any(|key| {
        !matches!(
            key.as_str(),
            "@id"
                | "@reverse"
                | "@container"
                | "@context"
                | "@direction"
                | "@index"
                | "@language"
                | "@nest"
                | "@prefix"
                | "@protected"
                | "@type"
        )
    }) {
        return Err(Fail::Error);
    }
    term_def.derive();
    let mut term_def = Arc::new(term_def);
    if let Some(previous) = previous {
        let same = previous.same_definition(&term_def);
        if referenced {
            // Defined through the reference (never overriding protection) or in turn: where
            // the two orders disagree, the outcome is not reproduced.
            if previous.protected != Protected::No {
                if !same {
                    return Err(Fail::Unsupported);
                }
                if previous.protected != term_def.protected {
                    term_def = with_protection(&term_def, Protected::Maybe);
                }
            }
        } else if !local.override_protected {
            match previous.protected {
                Protected::No => {}
                Protected::Yes if same => term_def = previous,
                Protected::Yes => return Err(Fail::Error),
                Protected::Maybe if same => {
                    if term_def.protected != Protected::Yes {
                        term_def = with_protection(&term_def, Protected::Maybe);
                    }
                }
                Protected::Maybe => return Err(Fail::Unsupported),
            }
        }
    }
    result.terms.insert(term, term_def);
    local.defined.insert(term, true);
    Ok(())
}

fn with_protection(term: &Term, protected: Protected) -> Arc<Term> {
    Arc::new(Term {
        id: TERM_IDS.fetch_add(1, Ordering::Relaxed),
        protected,
        iri: term.iri.clone(),
        prefix: term.prefix,
        base_url: term.base_url.clone(),
        context: term.context,
        container: term.container,
        language: term.language.clone(),
        direction: term.direction.clone(),
        nest: term.nest.clone(),
        type_mapping: term.type_mapping.clone(),
        key: term.key,
        coercion: term.coercion,
        container_use: term.container_use,
        unsupported_use: term.unsupported_use,
        scoped_unsupported: term.scoped_unsupported,
    })
}

/// IRI Expansion during context processing (never document-relative except for `@vocab`,
/// which must then be absolute here).
fn expand_iri(
    result: &mut Ctx,
    value: &'static str,
    document_relative: bool,
    mut local: Option<&mut Local<'_>>,
) -> Res<Option<Cow<'static, str>>> {
    if has_keyword_form(value) {
        return Ok(is_keyword(value).then_some(Cow::Borrowed(value)));
    }
    if let Some(local) = local.as_deref_mut()
        && local.map.contains_key(value)
        && local.defined.get(value) != Some(&true)
    {
        create_term(result, local, value)?;
    }
    if let Some(term) = result.terms.get(value) {
        let Some(iri) = &term.iri else {
            return Ok(None);
        };
        // Vocabulary-relative: the mapping, keyword or not.
        return Ok(Some(Cow::Owned(iri.to_string())));
    }
    if let Some((prefix, suffix)) = value.split_once(':') {
        if prefix == "_" || suffix.starts_with("//") {
            return Ok(Some(Cow::Borrowed(value)));
        }
        if let Some(local) = local
            && local.map.contains_key(prefix)
            && local.defined.get(prefix) != Some(&true)
        {
            let prefix = local.map.get_key_value(prefix).map(|(key, _)| key.as_str());
            if let Some(prefix) = prefix {
                create_term(result, local, prefix)?;
            }
        }
        if let Some(term) = result.terms.get(prefix)
            && term.prefix
            && let Some(iri) = &term.iri
        {
            return Ok(Some(Cow::Owned(format!("{iri}{suffix}"))));
        }
        if NamedNodeRef::new(value).is_ok() {
            return Ok(Some(Cow::Borrowed(value)));
        }
    }
    if let Some(vocab) = &result.vocab {
        return Ok(Some(Cow::Owned(format!("{vocab}{value}"))));
    }
    if document_relative {
        return Err(Fail::Unsupported);
    }
    Ok(Some(Cow::Borrowed(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_context_list_compiles() {
        let ctx = root(&[contexts::VC_V2, contexts::OB_V3]).unwrap();
        assert_eq!(ctx.vocab(), Some(UNDEFINED_VOCAB));
        assert_eq!(ctx.term("type").unwrap().key, KeyUse::Type);
        assert_eq!(ctx.term("id").unwrap().key, KeyUse::Id);
        let name = ctx.term("name").unwrap();
        assert_eq!((name.key, name.iri()), (KeyUse::Property, "https://schema.org/name"));
        // `AchievementCredential` is defined as an alias of another term of the same context.
        assert_eq!(
            ctx.term("AchievementCredential").unwrap().iri(),
            "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"
        );
        let term = ctx.term("Achievement").unwrap();
        let achievement = ctx.scoped(term, false, false).unwrap();
        assert!(std::ptr::eq(achievement.previous().unwrap(), ctx));
        assert_eq!(achievement.term("alignment").unwrap().container_use, Container::None);
        // Memoized: the same context every time.
        assert!(std::ptr::eq(achievement, ctx.scoped(term, false, false).unwrap()));
    }

    #[test]
    fn every_bundled_context_alone_compiles() {
        for context in contexts::BUNDLED {
            assert!(compile_root(&[context.url]).is_ok(), "{}", context.url);
        }
    }

    #[test]
    fn keyword_form() {
        assert!(has_keyword_form("@id") && has_keyword_form("@foo"));
        assert!(!has_keyword_form("@") && !has_keyword_form("@1") && !has_keyword_form("id"));
    }
}

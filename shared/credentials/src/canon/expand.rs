//! Expansion and conversion to RDF in one pass, against compiled contexts.
//!
//! This walks the JSON document once and emits quads directly, reproducing what the general
//! path (`oxjsonld`'s expansion, then its conversion to RDF) gives for the same document:
//! the same active context for every node object (reverting type-scoped contexts, applying
//! property-scoped and type-scoped ones the way it does), the same IRI expansion, type
//! coercion, lists, `@graph` containers and literal forms. Whatever it is not sure to
//! reproduce — an unknown or inline context, a key or a value that is not a defined term or
//! an absolute IRI, a blank node identifier, a keyword other than `@id` and `@type`, a
//! language, `@json`, nested lists, anything the general path would refuse or silently drop
//! — it declines ([`Declined`]), and the document takes the general path, which then gives
//! its own result or error.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use super::compiled::{
    self, Coercion, Container, Ctx, KeyUse, Special, Term, XSD_DOUBLE, has_keyword_form,
    is_emittable_iri, is_xsd_string,
};
use super::rdfc::{Node, Object, Quad};

/// The fast path does not handle this document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Declined;

type Res<T> = Result<T, Declined>;

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";
const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const XSD_BOOLEAN: &str = "http://www.w3.org/2001/XMLSchema#boolean";

/// Deepest nesting of node objects and arrays handled (the JSON parser allows 128 levels).
const MAX_DEPTH: usize = 64;

/// The quads of a document and the number of blank nodes they use.
#[derive(Debug)]
pub(super) struct Quads<'a> {
    pub(super) quads: Vec<Quad<'a>>,
    pub(super) blanks: u32,
}

impl Quads<'_> {
    /// The quads as an `oxrdf` dataset (fresh blank nodes, as the general path makes them).
    pub(super) fn into_dataset(self) -> oxrdf::Dataset {
        use oxrdf::{BlankNode, GraphName, Literal, NamedNode, NamedOrBlankNode, Term};
        let blanks: Vec<BlankNode> = (0..self.blanks).map(|_| BlankNode::default()).collect();
        let blank = |n: u32| blanks.get(n as usize).cloned().unwrap_or_default();
        let node = |node: &Node<'_>| -> NamedOrBlankNode {
            match node {
                Node::Iri(iri) => NamedNode::new_unchecked(iri.as_ref()).into(),
                Node::Blank(n) => blank(*n).into(),
            }
        };
        let mut dataset = oxrdf::Dataset::new();
        for quad in &self.quads {
            let object: Term = match &quad.object {
                Object::Node(object) => node(object).into(),
                Object::Literal { value, datatype: None } => {
                    Literal::new_simple_literal(value.as_ref()).into()
                }
                Object::Literal { value, datatype: Some(datatype) } => {
                    Literal::new_typed_literal(value.as_ref(), NamedNode::new_unchecked(*datatype))
                        .into()
                }
            };
            let graph = quad.graph.map_or(GraphName::DefaultGraph, |g| blank(g).into());
            dataset.insert(&oxrdf::Quad::new(
                node(&quad.subject),
                NamedNode::new_unchecked(quad.predicate),
                object,
                graph,
            ));
        }
        dataset
    }
}

/// Expands `document` and converts it to quads, or declines.
pub(super) fn to_quads(document: &Value) -> Res<Quads<'_>> {
    let Value::Object(object) = document else {
        return Err(Declined);
    };
    object_to_quads(object, None)
}

/// Expands a document given as its top-level object, leaving out the top-level entry
/// `excluded` as if it were not there, and converts it to quads, or declines.
pub(super) fn object_to_quads<'a>(
    object: &'a Map<String, Value>,
    excluded: Option<&str>,
) -> Res<Quads<'a>> {
    let root = match object.get("@context") {
        Some(Value::String(url)) => compiled::root(&[url.as_str()]),
        Some(Value::Array(entries)) => {
            let urls: Option<Vec<&str>> = entries.iter().map(Value::as_str).collect();
            compiled::root(&urls.ok_or(Declined)?)
        }
        _ => None,
    }
    .ok_or(Declined)?;
    let mut expander = Expander {
        quads: Vec::with_capacity(64),
        blanks: 0,
        depth: 0,
        excluded: excluded.map(str::to_owned),
    };
    expander.node(object, root, None, None, true)?;
    Ok(Quads { quads: expander.quads, blanks: expander.blanks })
}

/// How the general path's expansion sees a key of a node object.
enum KeyKind {
    Id,
    Type,
    /// A property (or a key the final context decides about).
    Other,
    /// Another keyword, a null mapping, an unknown keyword-like key.
    Declined,
}

fn key_kind(ctx: &Ctx, key: &str) -> KeyKind {
    if key.starts_with('@') {
        return match key {
            "@id" => KeyKind::Id,
            "@type" => KeyKind::Type,
            // Other keywords, `@foo` (refused by the safe-mode check) and `@1`-like terms.
            _ => KeyKind::Declined,
        };
    }
    match ctx.special(key) {
        None => KeyKind::Other,
        Some(Special::Id) => KeyKind::Id,
        Some(Special::Type) => KeyKind::Type,
        Some(Special::Other) => KeyKind::Declined,
    }
}

struct Expander<'a> {
    quads: Vec<Quad<'a>>,
    blanks: u32,
    depth: usize,
    /// A top-level entry to leave out.
    excluded: Option<String>,
}

/// Where a node object hangs: the subject and predicate that point at it.
type Link<'a> = Option<(Node<'a>, &'a str)>;

impl<'a> Expander<'a> {
    fn blank(&mut self) -> u32 {
        let blank = self.blanks;
        self.blanks += 1;
        blank
    }

    fn push(
        &mut self,
        subject: Node<'a>,
        predicate: &'a str,
        object: Object<'a>,
        graph: Option<u32>,
    ) {
        self.quads.push(Quad { subject, predicate, object, graph });
    }

    /// A node object whose active context is `ctx` (reverted, property-scoped: decided by the
    /// caller), before its own types apply their scoped contexts.
    fn node(
        &mut self,
        object: &'a Map<String, Value>,
        ctx: &'static Ctx,
        link: Link<'a>,
        graph: Option<u32>,
        top: bool,
    ) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Declined);
        }
        // An embedded context (bundled URLs only) applies on top of the node's context.
        let ctx = match object.get("@context") {
            _ if top => ctx,
            None => ctx,
            Some(Value::String(url)) => ctx.embedded(&[url.as_str()]).ok_or(Declined)?,
            Some(Value::Array(entries)) => {
                let urls: Option<Vec<&str>> = entries.iter().map(Value::as_str).collect();
                ctx.embedded(&urls.ok_or(Declined)?).ok_or(Declined)?
            }
            Some(_) => return Err(Declined),
        };
        let mut types: Option<&'a Value> = None;
        let mut id: Option<&'a Value> = None;
        let mut properties: Vec<(&'a str, &'a Value)> = Vec::with_capacity(object.len());
        for (key, value) in object {
            if key == "@context" || top && self.excluded.as_deref() == Some(key.as_str()) {
                continue;
            }
            match key_kind(ctx, key) {
                KeyKind::Id if id.is_none() => id = Some(value),
                KeyKind::Type if types.is_none() => types = Some(value),
                KeyKind::Other => properties.push((key.as_str(), value)),
                _ => return Err(Declined),
            }
        }

        // Types, sorted; the scoped context of the last one that has one applies (as the
        // general path does it: each is applied to the context before any of them).
        let mut type_names: Vec<&'a str> = match types {
            None => Vec::new(),
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => {
                names.iter().map(Value::as_str).collect::<Option<_>>().ok_or(Declined)?
            }
            Some(_) => return Err(Declined),
        };
        type_names.sort_unstable();
        let mut active = ctx;
        let mut type_iris = Vec::with_capacity(type_names.len());
        for name in &type_names {
            if has_keyword_form(name) {
                return Err(Declined);
            }
            let iri = match ctx.term_of_value(name) {
                Some(term) => {
                    if term.has_scoped_context() {
                        active = ctx.scoped(term, false, false).ok_or(Declined)?;
                    }
                    term.vocab_iri().map(Cow::Borrowed).ok_or(Declined)?
                }
                None => expand_absolute(ctx, name)?,
            };
            type_iris.push(iri);
        }

        let subject = match id {
            None => Node::Blank(self.blank()),
            Some(Value::String(id)) => Node::Iri(expand_id(active, id)?),
            Some(_) => return Err(Declined),
        };
        if let Some((parent, predicate)) = link {
            self.push(parent, predicate, Object::Node(subject.clone()), graph);
        }
        for iri in type_iris {
            self.push(subject.clone(), RDF_TYPE, Object::Node(Node::Iri(iri)), graph);
        }
        for (key, value) in properties {
            let term = active.term(key).ok_or(Declined)?;
            if term.key != KeyUse::Property
                || term.unsupported_use
                || term.coercion == Coercion::Unsupported
                || term.container_use == Container::Unsupported
            {
                return Err(Declined);
            }
            self.value(value, active, key, term, &subject, graph, false)?;
        }
        self.depth -= 1;
        Ok(())
    }

    /// The value of property `key` (defined by `term` in `ctx`) of `subject`.
    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        value: &'a Value,
        ctx: &'static Ctx,
        key: &'a str,
        term: &'static Term,
        subject: &Node<'a>,
        graph: Option<u32>,
        in_array: bool,
    ) -> Res<()> {
        let predicate = term.iri();
        match value {
            Value::Null => Ok(()),
            Value::Array(items) if term.container_use == Container::List => {
                if in_array {
                    return Err(Declined); // a list of lists
                }
                let items: Vec<&'a Value> = items.iter().filter(|item| !item.is_null()).collect();
                self.list(&items, ctx, key, term, subject, graph)
            }
            Value::Array(items) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(Declined);
                }
                for item in items {
                    self.value(item, ctx, key, term, subject, graph, true)?;
                }
                self.depth -= 1;
                Ok(())
            }
            Value::Object(object) => match term.container_use {
                Container::Graph => {
                    let name = self.blank();
                    self.push(subject.clone(), predicate, Object::Node(Node::Blank(name)), graph);
                    self.object_value(object, ctx, term, None, Some(name))
                }
                Container::List if !in_array => self.list(&[value], ctx, key, term, subject, graph),
                _ => {
                    let link = Some((subject.clone(), predicate));
                    self.object_value(object, ctx, term, link, graph)
                }
            },
            scalar => match term.container_use {
                Container::Graph => Err(Declined),
                Container::List if !in_array => self.list(&[value], ctx, key, term, subject, graph),
                _ => {
                    let object = self.scalar(scalar, ctx, key, term)?;
                    self.push(subject.clone(), predicate, object, graph);
                    Ok(())
                }
            },
        }
    }

    /// An RDF list of `items` (no nulls) as the value of `key`.
    fn list(
        &mut self,
        items: &[&'a Value],
        ctx: &'static Ctx,
        key: &'a str,
        term: &'static Term,
        subject: &Node<'a>,
        graph: Option<u32>,
    ) -> Res<()> {
        let predicate = term.iri();
        let mut previous: Option<u32> = None;
        for item in items {
            let node = self.blank();
            let (from, via) = match previous {
                None => (subject.clone(), predicate),
                Some(previous) => (Node::Blank(previous), RDF_REST),
            };
            self.push(from, via, Object::Node(Node::Blank(node)), graph);
            match item {
                Value::Object(object) => {
                    let link = Some((Node::Blank(node), RDF_FIRST));
                    self.object_value(object, ctx, term, link, graph)?;
                }
                Value::Array(_) | Value::Null => return Err(Declined),
                scalar => {
                    let object = self.scalar(scalar, ctx, key, term)?;
                    self.push(Node::Blank(node), RDF_FIRST, object, graph);
                }
            }
            previous = Some(node);
        }
        let nil = Object::Node(Node::Iri(Cow::Borrowed(RDF_NIL)));
        match previous {
            None => self.push(subject.clone(), predicate, nil, graph),
            Some(last) => self.push(Node::Blank(last), RDF_REST, nil, graph),
        }
        Ok(())
    }

    /// A node object value of `key` (defined by `term` in `ctx`, the parent's context): the
    /// type-scoped contexts of the parent are reverted unless the object is a lone `@id`
    /// (as the general path decides it), and `key`'s property-scoped context applies.
    fn object_value(
        &mut self,
        object: &'a Map<String, Value>,
        ctx: &'static Ctx,
        term: &'static Term,
        link: Link<'a>,
        graph: Option<u32>,
    ) -> Res<()> {
        let active = if term.has_scoped_context() {
            // Applied to the parent's context itself, reverted or not.
            ctx.scoped(term, true, true).ok_or(Declined)?
        } else {
            match ctx.previous() {
                Some(previous) if !is_single_id(object, ctx) => previous,
                _ => ctx,
            }
        };
        self.node(object, active, link, graph, false)
    }

    /// A string, number or boolean value of `key`, with `key`'s property-scoped context.
    fn scalar(
        &mut self,
        value: &'a Value,
        ctx: &'static Ctx,
        key: &str,
        term: &'static Term,
    ) -> Res<Object<'a>> {
        let (ctx, term) = if term.has_scoped_context() {
            let scoped = ctx.scoped(term, false, true).ok_or(Declined)?;
            (scoped, scoped.term(key).ok_or(Declined)?)
        } else {
            (ctx, term)
        };
        if term.unsupported_use {
            return Err(Declined);
        }
        let datatype = match (term.coercion, value) {
            (Coercion::Id, Value::String(id)) => {
                return Ok(Object::Node(Node::Iri(expand_id(ctx, id)?)));
            }
            (Coercion::Vocab, Value::String(name)) => {
                return Ok(Object::Node(Node::Iri(expand_vocab(ctx, name)?)));
            }
            (Coercion::Unsupported, _) => return Err(Declined),
            (Coercion::Datatype, _) => Some(term.datatype()),
            (Coercion::None | Coercion::Id | Coercion::Vocab, _) => None,
        };
        literal(value, datatype)
    }
}

/// Whether the general path keeps the parent's type-scoped context for this node object
/// (JSON-LD reverts it for new node objects, except a lone `@id`): it does when the keys, in
/// document order, are an `@id`, then possibly `@type`, and nothing else.
fn is_single_id(object: &Map<String, Value>, ctx: &Ctx) -> bool {
    let mut seen_type = false;
    let mut seen_id = false;
    for key in object.keys() {
        match key_kind(ctx, key) {
            KeyKind::Type => seen_type = true,
            KeyKind::Id if !seen_type => seen_id = true,
            // Keys the expansion would decline anyway decide nothing that matters.
            KeyKind::Declined => {}
            _ => return false,
        }
    }
    seen_id
}

/// An `@id` value (document-relative IRI expansion): an absolute IRI or a compact IRI. (A
/// term naming a keyword has no colon, so it is declined with every other relative value.)
fn expand_id<'a>(ctx: &'static Ctx, value: &'a str) -> Res<Cow<'a, str>> {
    if has_keyword_form(value) {
        return Err(Declined);
    }
    expand_absolute(ctx, value)
}

/// A vocabulary-relative value (a type, an `@vocab`-coerced value): a term, an absolute IRI
/// or a compact IRI. Anything else would expand to the undefined-term sentinel.
fn expand_vocab<'a>(ctx: &'static Ctx, value: &'a str) -> Res<Cow<'a, str>> {
    if has_keyword_form(value) {
        return Err(Declined);
    }
    if let Some(term) = ctx.term_of_value(value) {
        return term.vocab_iri().map(Cow::Borrowed).ok_or(Declined);
    }
    expand_absolute(ctx, value)
}

fn expand_absolute<'a>(ctx: &'static Ctx, value: &'a str) -> Res<Cow<'a, str>> {
    let Some((prefix, suffix)) = value.split_once(':') else {
        return Err(Declined);
    };
    if prefix == "_" {
        return Err(Declined); // blank node identifiers
    }
    let expanded = if suffix.starts_with("//") {
        Cow::Borrowed(value)
    } else if let Some(iri) = ctx.prefix(prefix) {
        Cow::Owned(format!("{iri}{suffix}"))
    } else {
        Cow::Borrowed(value)
    };
    if is_emittable_iri(&expanded) { Ok(expanded) } else { Err(Declined) }
}

/// A literal as the general path converts a JSON value with an optional datatype.
fn literal<'a>(value: &'a Value, datatype: Option<&'static str>) -> Res<Object<'a>> {
    let (lexical, default): (Cow<'a, str>, &'static str) = match value {
        Value::String(text) => (Cow::Borrowed(text.as_str()), ""),
        Value::Bool(true) => (Cow::Borrowed("true"), XSD_BOOLEAN),
        Value::Bool(false) => (Cow::Borrowed("false"), XSD_BOOLEAN),
        Value::Number(number) => {
            let (lexical, integer) = canonical_number(number, datatype == Some(XSD_DOUBLE));
            (Cow::Owned(lexical), if integer { XSD_INTEGER } else { XSD_DOUBLE })
        }
        Value::Null | Value::Array(_) | Value::Object(_) => return Err(Declined),
    };
    let datatype = match datatype {
        Some(datatype) if is_xsd_string(datatype) => None,
        Some(datatype) => Some(datatype),
        None if default.is_empty() => None,
        None => Some(default),
    };
    Ok(Object::Literal { value: lexical, datatype })
}

/// The lexical form JSON-LD gives a JSON number, from its JSON text: the canonical
/// `xsd:integer` form when it is a whole number below 10^21 (and no double is asked for),
/// otherwise the canonical `xsd:double` form (`1.5E0`). Returns the form and whether it is an
/// integer. Works on the decimal digits, as the general path does, with no rounding.
fn canonical_number(number: &Number, always_double: bool) -> (String, bool) {
    let text = number.to_string();
    canonical_number_text(&text, always_double).unwrap_or((text, false))
}

fn canonical_number_text(text: &str, always_double: bool) -> Option<(String, bool)> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // All significant digits, and the exponent of the point placed before the first of them
    // (the value is 0.DIGITS × 10^point).
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let mut point = exponent.checked_add(i64::try_from(whole.len()).ok()?)?;
    let mut digits = String::with_capacity(whole.len() + fraction.len());
    if fraction.is_empty() {
        digits.push_str(whole.trim_end_matches('0'));
    } else if whole.is_empty() {
        let significant = fraction.trim_start_matches('0');
        point = point.checked_sub(i64::try_from(fraction.len() - significant.len()).ok()?)?;
        digits.push_str(significant);
    } else {
        digits.push_str(whole);
        digits.push_str(fraction);
    }
    if digits.is_empty() {
        digits.push('0');
        point = 1;
    }
    let zero = digits == "0";
    let count = i64::try_from(digits.len()).ok()?;
    let mut out = String::with_capacity(digits.len() + 8);
    if negative && !zero {
        out.push('-');
    }
    if !always_double && point >= count && point < 21 {
        out.push_str(&digits);
        for _ in 0..point - count {
            out.push('0');
        }
        Some((out, true))
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() == 1 { "0" } else { &digits[1..] });
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("E{}", point.checked_sub(1)?));
        Some((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str, double: bool) -> (String, bool) {
        canonical_number_text(text, double).unwrap()
    }

    #[test]
    fn json_numbers_take_their_canonical_xsd_forms() {
        assert_eq!(number("12", false), ("12".into(), true));
        assert_eq!(number("-12", false), ("-12".into(), true));
        assert_eq!(number("1", true), ("1.0E0".into(), false));
        assert_eq!(number("-12", true), ("-1.2E1".into(), false));
        assert_eq!(number("12.3456E3", false), ("1.23456E4".into(), false));
        assert_eq!(number("-12.3456e3", false), ("-1.23456E4".into(), false));
        assert_eq!(number("12.340E-3", false), ("1.234E-2".into(), false));
        assert_eq!(number("0.01234E-1", false), ("1.234E-3".into(), false));
        assert_eq!(number("1.0", false), ("1".into(), true));
        assert_eq!(number("0.01E2", false), ("1".into(), true));
        assert_eq!(number("1E2", false), ("100".into(), true));
        assert_eq!(number("1e21", false), ("1.0E21".into(), false));
        assert_eq!(number("1.1", false), ("1.1E0".into(), false));
        assert_eq!(number("0", false), ("0".into(), true));
        assert_eq!(number("-0.0", false), ("0".into(), true));
        assert_eq!(number("0", true), ("0.0E0".into(), false));
        assert_eq!(number("0.5", false), ("5.0E-1".into(), false));
        assert_eq!(number("100", false), ("100".into(), true));
        assert_eq!(number("18446744073709551615", false), ("18446744073709551615".into(), true));
    }
}

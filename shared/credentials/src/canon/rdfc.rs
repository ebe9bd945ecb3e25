//! RDFC-1.0 (W3C RDF Dataset Canonicalization) with SHA-256, and canonical N-Quads, for the
//! quads of the fast path.
//!
//! The quads borrow their strings from the document and the compiled contexts; blank nodes
//! are small integers. The algorithm is the specification's: first-degree hashes, canonical
//! identifiers for unique hashes in hash order, then the N-degree hash (with the permutation
//! search and its pruning) for groups of blank nodes that first-degree hashing cannot tell
//! apart. Terms are serialized exactly as `oxrdf` serializes them (its escapes in literals),
//! both inside the hashes and in the output, so the result is byte for byte the general
//! path's.
//!
//! Like every RDFC-1.0 implementation it is exponential on crafted inputs with many
//! indistinguishable blank nodes; past a work budget it gives up ([`None`]) and the caller
//! takes the general path.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

use sha2::{Digest, Sha256};

/// A subject, object or graph name that is not a literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Node<'a> {
    Iri(Cow<'a, str>),
    Blank(u32),
}

/// An object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Object<'a> {
    Node(Node<'a>),
    /// A literal; no datatype means `xsd:string` (a simple literal).
    Literal {
        value: Cow<'a, str>,
        datatype: Option<&'a str>,
    },
}

/// A quad; the graph is the default graph or a blank node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Quad<'a> {
    pub(super) subject: Node<'a>,
    pub(super) predicate: &'a str,
    pub(super) object: Object<'a>,
    pub(super) graph: Option<u32>,
}

/// How blank nodes are written while serializing.
#[derive(Clone, Copy)]
enum Labels<'l> {
    /// `_:a` for the reference node, `_:z` for the others (first-degree hashing).
    Reference(u32),
    /// The canonical identifiers, `_:c14n<N>`.
    Canonical(&'l [Option<u32>]),
}

fn write_blank(out: &mut String, node: u32, labels: Labels<'_>) {
    match labels {
        Labels::Reference(reference) => {
            out.push_str(if node == reference { "_:a" } else { "_:z" });
        }
        Labels::Canonical(ids) => {
            let id = ids.get(node as usize).copied().flatten().unwrap_or(u32::MAX);
            let _ = write!(out, "_:c14n{id}");
        }
    }
}

fn write_node(out: &mut String, node: &Node<'_>, labels: Labels<'_>) {
    match node {
        Node::Iri(iri) => {
            out.push('<');
            out.push_str(iri);
            out.push('>');
        }
        Node::Blank(blank) => write_blank(out, *blank, labels),
    }
}

/// A quoted literal value, escaped as `oxrdf` prints it (canonical N-Quads).
fn write_quoted(out: &mut String, value: &str) {
    out.push('"');
    // Only ASCII controls, `"`, `\` and U+FFFE/U+FFFF (which start with 0xEF) are escaped.
    if !value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7F || b == 0xEF) {
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (index, c) in value.char_indices() {
        let escape = match c {
            '\u{8}' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\u{C}' => "\\f",
            '\r' => "\\r",
            '"' => "\\\"",
            '\\' => "\\\\",
            '\0'..='\u{1F}' | '\u{7F}' | '\u{FFFE}' | '\u{FFFF}' => "",
            _ => continue,
        };
        out.push_str(&value[start..index]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04X}", u32::from(c));
        } else {
            out.push_str(escape);
        }
        start = index + c.len_utf8();
    }
    out.push_str(&value[start..]);
    out.push('"');
}

fn write_quad(out: &mut String, quad: &Quad<'_>, labels: Labels<'_>) {
    write_node(out, &quad.subject, labels);
    out.push_str(" <");
    out.push_str(quad.predicate);
    out.push_str("> ");
    match &quad.object {
        Object::Node(node) => write_node(out, node, labels),
        Object::Literal { value, datatype } => {
            write_quoted(out, value);
            if let Some(datatype) = datatype {
                out.push_str("^^<");
                out.push_str(datatype);
                out.push('>');
            }
        }
    }
    if let Some(graph) = quad.graph {
        out.push(' ');
        write_blank(out, graph, labels);
    }
    out.push_str(" .\n");
}

fn blanks_of(quad: &Quad<'_>) -> [Option<u32>; 3] {
    let subject = match quad.subject {
        Node::Blank(blank) => Some(blank),
        Node::Iri(_) => None,
    };
    let object = match quad.object {
        Object::Node(Node::Blank(blank)) => Some(blank),
        _ => None,
    };
    [subject, object, quad.graph]
}

/// A SHA-256 hash as lower-case hex, the form RDFC-1.0 compares, sorts and feeds back into
/// other hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hash([u8; 64]);

impl Hash {
    fn of(digest: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xF)];
        }
        Self(hex)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn sha256_hex(input: &[u8]) -> Hash {
    Hash::of(&Sha256::digest(input))
}

/// An identifier issuer: identifiers `<prefix><counter>` in the order they were issued.
#[derive(Debug, Clone)]
struct Issuer {
    issued: Vec<Option<u32>>,
    order: Vec<u32>,
}

impl Issuer {
    fn new(blanks: usize) -> Self {
        Self { issued: vec![None; blanks], order: Vec::new() }
    }

    fn get(&self, node: u32) -> Option<u32> {
        self.issued.get(node as usize).copied().flatten()
    }

    fn issue(&mut self, node: u32) -> u32 {
        if let Some(id) = self.get(node) {
            return id;
        }
        let id = u32::try_from(self.order.len()).unwrap_or(u32::MAX);
        if let Some(slot) = self.issued.get_mut(node as usize) {
            *slot = Some(id);
        }
        self.order.push(node);
        id
    }
}

/// Work allowed for the N-degree search (permutations and recursive calls) per dataset.
const BUDGET: usize = 200_000;

struct State<'q, 'a> {
    quads: &'q [Quad<'a>],
    /// For each blank node, the indices of the quads that mention it.
    mentions: Vec<Vec<usize>>,
    first_degree: Vec<Hash>,
    canonical: Issuer,
    budget: usize,
    scratch: String,
}

impl State<'_, '_> {
    fn hash_first_degree(&mut self, node: u32) -> Hash {
        let mut lines: Vec<(usize, usize)> = Vec::new();
        self.scratch.clear();
        for &index in &self.mentions[node as usize] {
            let start = self.scratch.len();
            write_quad(&mut self.scratch, &self.quads[index], Labels::Reference(node));
            lines.push((start, self.scratch.len()));
        }
        let text = self.scratch.as_str();
        lines.sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        let mut hasher = Sha256::new();
        for (start, end) in lines {
            hasher.update(&text.as_bytes()[start..end]);
        }
        Hash::of(&hasher.finalize())
    }

    fn hash_related(&self, related: u32, quad: &Quad<'_>, issuer: &Issuer, position: char) -> Hash {
        let mut input = String::with_capacity(128);
        input.push(position);
        if position != 'g' {
            input.push('<');
            input.push_str(quad.predicate);
            input.push('>');
        }
        if let Some(id) = self.canonical.get(related) {
            let _ = write!(input, "_:c14n{id}");
        } else if let Some(id) = issuer.get(related) {
            let _ = write!(input, "_:b{id}");
        } else {
            input.push_str(self.first_degree[related as usize].as_str());
        }
        sha256_hex(input.as_bytes())
    }

    /// Hash N-Degree Quads; `None` when the work budget is spent.
    fn hash_n_degree(&mut self, node: u32, issuer: &Issuer) -> Option<(Issuer, Hash)> {
        self.budget = self.budget.checked_sub(1)?;
        let mut issuer = issuer.clone();
        let mut related_by_hash: BTreeMap<Hash, Vec<u32>> = BTreeMap::new();
        for &index in &self.mentions[node as usize] {
            let quad = &self.quads[index];
            let [subject, object, graph] = blanks_of(quad);
            for (component, position) in [(subject, 's'), (object, 'o'), (graph, 'g')] {
                if let Some(component) = component
                    && component != node
                {
                    let hash = self.hash_related(component, quad, &issuer, position);
                    let list = related_by_hash.entry(hash).or_default();
                    if !list.contains(&component) {
                        list.push(component);
                    }
                }
            }
        }
        let mut data = String::new();
        for (related_hash, mut list) in related_by_hash {
            data.push_str(related_hash.as_str());
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<Issuer> = None;
            list.sort_unstable();
            let mut permutations = Permutations::new(list);
            while let Some(permutation) = permutations.next_permutation() {
                self.budget = self.budget.checked_sub(1)?;
                let mut copy = issuer.clone();
                let mut path = String::new();
                let mut recursion = Vec::new();
                let mut pruned = false;
                for &related in permutation {
                    if let Some(id) = self.canonical.get(related) {
                        let _ = write!(path, "_:c14n{id}");
                    } else {
                        if copy.get(related).is_none() {
                            recursion.push(related);
                        }
                        let id = copy.issue(related);
                        let _ = write!(path, "_:b{id}");
                    }
                    if worse(&path, &chosen_path) {
                        pruned = true;
                        break;
                    }
                }
                if pruned {
                    continue;
                }
                for related in recursion {
                    let (result_issuer, result_hash) = self.hash_n_degree(related, &copy)?;
                    let id = copy.issue(related);
                    let _ = write!(path, "_:b{id}<{}>", result_hash.as_str());
                    copy = result_issuer;
                    if worse(&path, &chosen_path) {
                        pruned = true;
                        break;
                    }
                }
                if pruned {
                    continue;
                }
                if chosen_issuer.is_none() || path < chosen_path {
                    chosen_path = path;
                    chosen_issuer = Some(copy);
                }
            }
            data.push_str(&chosen_path);
            issuer = chosen_issuer?;
        }
        Some((issuer, sha256_hex(data.as_bytes())))
    }
}

/// Whether a partial `path` can no longer become the chosen one.
fn worse(path: &str, chosen: &str) -> bool {
    !chosen.is_empty() && path.len() >= chosen.len() && path > chosen
}

/// Every permutation of a list, in lexicographic order of positions.
struct Permutations {
    items: Vec<u32>,
    started: bool,
}

impl Permutations {
    fn new(items: Vec<u32>) -> Self {
        Self { items, started: false }
    }

    fn next_permutation(&mut self) -> Option<&[u32]> {
        if !self.started {
            self.started = true;
            return Some(&self.items);
        }
        // The next lexicographic permutation (items are distinct and start sorted).
        let items = &mut self.items;
        let pivot = (1..items.len()).rev().find(|&i| items[i - 1] < items[i])?;
        let successor = (pivot..items.len()).rev().find(|&j| items[j] > items[pivot - 1])?;
        items.swap(pivot - 1, successor);
        items[pivot..].reverse();
        Some(items)
    }
}

/// The canonical N-Quads of `quads` (blank nodes numbered below `blanks`), sorted, each line
/// ending in `\n`; `None` if the canonicalization would take too long (dataset poisoning).
pub(super) fn canonical_nquads(quads: Vec<Quad<'_>>, blanks: u32) -> Option<String> {
    // A dataset is a set: duplicate quads count once. Those that mention blank nodes are
    // removed before hashing; the others go with duplicate lines at the end.
    let mut with_blanks: Vec<usize> = (0..quads.len())
        .filter(|&index| blanks_of(&quads[index]).iter().any(Option::is_some))
        .collect();
    with_blanks.sort_unstable_by(|&a, &b| quads[a].cmp(&quads[b]));
    with_blanks.dedup_by(|a, b| quads[*a] == quads[*b]);
    with_blanks.sort_unstable();
    let blank_count = blanks as usize;
    let mut mentions = vec![Vec::new(); blank_count];
    for &index in &with_blanks {
        let quad = &quads[index];
        for blank in blanks_of(quad).into_iter().flatten() {
            let list: &mut Vec<usize> = mentions.get_mut(blank as usize)?;
            if list.last() != Some(&index) {
                list.push(index);
            }
        }
    }
    let mut state = State {
        quads: &quads,
        mentions,
        first_degree: vec![Hash([b'0'; 64]); blank_count],
        canonical: Issuer::new(blank_count),
        budget: BUDGET,
        scratch: String::new(),
    };
    let mut by_hash: BTreeMap<Hash, Vec<u32>> = BTreeMap::new();
    for node in 0..blanks {
        if state.mentions[node as usize].is_empty() {
            continue;
        }
        let hash = state.hash_first_degree(node);
        by_hash.entry(hash).or_default().push(node);
        state.first_degree[node as usize] = hash;
    }
    let mut shared = Vec::new();
    for (_, nodes) in by_hash {
        if let [node] = nodes.as_slice() {
            state.canonical.issue(*node);
        } else {
            shared.push(nodes);
        }
    }
    for nodes in shared {
        let mut paths = Vec::new();
        for node in nodes {
            if state.canonical.get(node).is_some() {
                continue;
            }
            let mut temporary = Issuer::new(blank_count);
            temporary.issue(node);
            paths.push(state.hash_n_degree(node, &temporary)?);
        }
        paths.sort_by_key(|path| path.1);
        for (issuer, _) in paths {
            for node in issuer.order {
                state.canonical.issue(node);
            }
        }
    }
    let ids = state.canonical.issued;
    let mut text = String::with_capacity(quads.len() * 120);
    let mut lines = Vec::with_capacity(quads.len());
    for quad in &quads {
        let start = text.len();
        write_quad(&mut text, quad, Labels::Canonical(&ids));
        lines.push((start, text.len()));
    }
    lines.sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
    lines.dedup_by(|a, b| text[a.0..a.1] == text[b.0..b.1]);
    let mut out = String::with_capacity(text.len());
    for (start, end) in lines {
        out.push_str(&text[start..end]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(n: u32) -> Node<'static> {
        Node::Blank(n)
    }

    fn quad(s: Node<'static>, p: &'static str, o: Node<'static>) -> Quad<'static> {
        Quad { subject: s, predicate: p, object: Object::Node(o), graph: None }
    }

    #[test]
    fn literals_are_escaped_as_canonical_n_quads() {
        let mut out = String::new();
        write_quoted(&mut out, "a\"b\\c\nd\re\tf\u{8}g\u{C}h\u{1}i\u{7F}j\u{FFFE}k\u{2028}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u007Fj\\uFFFEk\u{2028}é\"");
    }

    #[test]
    fn permutations_are_all_visited_once() {
        let mut permutations = Permutations::new(vec![1, 2, 3]);
        let mut seen = Vec::new();
        while let Some(p) = permutations.next_permutation() {
            seen.push(p.to_vec());
        }
        assert_eq!(seen.len(), 6);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 6);
    }

    #[test]
    fn a_ring_of_indistinguishable_blank_nodes_needs_the_n_degree_hash() {
        // Two rings of three identical nodes each: every first-degree hash is the same.
        let p = "http://example.com/next";
        let quads = vec![
            quad(blank(0), p, blank(1)),
            quad(blank(1), p, blank(2)),
            quad(blank(2), p, blank(0)),
            quad(blank(3), p, blank(4)),
            quad(blank(4), p, blank(5)),
            quad(blank(5), p, blank(3)),
        ];
        let out = canonical_nquads(quads.clone(), 6).unwrap();
        assert_eq!(out.lines().count(), 6);
        // Relabelling the input does not change the output.
        let relabel = |n: u32| (n * 5 + 2) % 6;
        let relabelled: Vec<_> = quads
            .iter()
            .map(|q| {
                let Node::Blank(s) = q.subject else { unreachable!() };
                let Object::Node(Node::Blank(o)) = q.object else { unreachable!() };
                quad(blank(relabel(s)), p, blank(relabel(o)))
            })
            .collect();
        assert_eq!(canonical_nquads(relabelled, 6).unwrap(), out);
    }
}

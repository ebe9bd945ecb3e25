//! Baking: carrying an Open Badges 3.0 credential inside its badge image.
//!
//! Open Badges 3.0 (§ "Baked Badge") lets an `OpenBadgeCredential` travel inside the PNG or SVG
//! image of the badge, so that wherever the image is saved or shown the credential goes with it,
//! and an Open Badges aware tool can take it out again and verify it. The spec defines exactly
//! two carriers:
//!
//! - **PNG**: one `iTXt` chunk with keyword `openbadgecredential`, uncompressed, whose text is the
//!   JSON of the credential (embedded proof) or the compact JWS of its VC-JWT.
//! - **SVG**: `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` on the root `<svg>`, and an
//!   `<openbadges:credential>` element directly after the `<svg>` start tag. The JSON of a
//!   credential goes in the element's body, wrapped in `<![CDATA[...]]>`; a VC-JWT goes in the
//!   element's `verify` attribute instead, and the body stays empty.
//!
//! Either way the credential MUST appear only once: baking replaces whatever credential the image
//! already carries, and unbaking refuses an image that carries two, because which one a viewer
//! would take is then a matter of implementation.
//!
//! Baking vouches for nothing. It only checks that the text has the shape of one of the two forms
//! (a JSON object, or a three-part compact JWS), because the SVG form depends on it and because
//! baking garbage helps nobody. Unbaking returns the text; [`crate::verify`] decides whether to
//! trust it.
//!
//! Every image is untrusted input: sizes are checked before parsing, the PNG decoder runs under a
//! memory limit, the SVG goes through a real XML parser (no DTD processing, no entities beyond the
//! five predefined ones and character references), and every failure is an [`Error::Bake`] or
//! [`Error::TooLarge`] with a one-line reason, never a panic.

use std::io::Cursor;

use quick_xml::NsReader;
use quick_xml::encoding::Decoder;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesCData, BytesEnd, BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, QName, ResolveResult};
use quick_xml::writer::Writer;

use crate::{Error, Result};

/// The keyword of the PNG `iTXt` chunk that holds a baked credential.
pub const PNG_KEYWORD: &str = "openbadgecredential";

/// The XML namespace of the `<openbadges:credential>` element in a baked SVG.
pub const SVG_NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";

/// The largest image, PNG bytes or SVG text, accepted for baking or unbaking.
pub const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;

/// The largest credential text accepted for baking, or returned by unbaking.
///
/// Generous on purpose: a credential may embed its achievement image as a `data:` URL.
pub const MAX_CREDENTIAL_BYTES: usize = 4 * 1024 * 1024;

/// The most memory the PNG decoder may use, and the largest decoded pixel buffer baking
/// allocates. A badge is a few hundred pixels wide; this is room for a 4096 × 4096 RGBA image.
const MAX_DECODED_PNG_BYTES: usize = 64 * 1024 * 1024;

/// The first eight bytes of every PNG file.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// The SVG namespace, which the root element of a namespaced SVG is in.
const SVG_XMLNS: &[u8] = b"http://www.w3.org/2000/svg";

/// The qualified name of the element baking writes, with the prefix the spec uses. Readers look
/// the element up by namespace, not by prefix, but naive extractors search for this exact text.
const CREDENTIAL_QNAME: &str = "openbadges:credential";

/// The attribute that declares the `openbadges` prefix.
const PREFIX_DECLARATION: &str = "xmlns:openbadges";

/// The kind of image a byte string holds, as far as baking is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// A PNG image (recognized by its eight-byte signature).
    Png,
    /// An SVG image: XML text with an `svg` element.
    Svg,
}

/// Tells a PNG from an SVG by looking at the bytes, without parsing them.
///
/// PNG is recognized by its signature. SVG is recognized as UTF-8 text (an optional byte order
/// mark, then optional whitespace) that starts with `<` and mentions an `svg` element; this is a
/// cheap guess, and [`unbake_svg`] decides for sure. Returns `None` for anything else, including
/// UTF-16 SVG, which baking does not support.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&PNG_SIGNATURE) {
        return Some(ImageKind::Png);
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|&b| !is_xml_whitespace(b))?;
    let looks_like_svg =
        text[start] == b'<' && text.windows(4).any(|window| window == b"<svg" || window == b":svg");
    looks_like_svg.then_some(ImageKind::Svg)
}

/// Takes the baked credential out of a PNG or SVG image, whichever `bytes` holds.
///
/// Returns the credential text as [`unbake_png`] or [`unbake_svg`] does: the JSON of the
/// credential, or the compact JWS of a VC-JWT.
///
/// # Errors
///
/// [`Error::TooLarge`] beyond [`MAX_IMAGE_BYTES`]; [`Error::Bake`] if `bytes` is neither a PNG nor
/// a UTF-8 SVG, or for any reason [`unbake_png`] or [`unbake_svg`] gives.
pub fn unbake(bytes: &[u8]) -> Result<String> {
    check_size(bytes.len(), MAX_IMAGE_BYTES)?;
    match sniff(bytes) {
        Some(ImageKind::Png) => unbake_png(bytes),
        Some(ImageKind::Svg) => {
            let svg =
                std::str::from_utf8(bytes).map_err(|_| bake_error("the SVG is not valid UTF-8"))?;
            unbake_svg(svg)
        }
        None => Err(bake_error("not a PNG or SVG image")),
    }
}

// ---------------------------------------------------------------------------------------------
// The credential text
// ---------------------------------------------------------------------------------------------

/// The two shapes the spec allows for baked credential text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The JSON of a credential secured with an embedded proof (Data Integrity).
    Json,
    /// The compact JWS of a credential secured as a VC-JWT.
    Jwt,
}

/// Checks that `credential` has the shape of one of the two forms, and returns it without
/// surrounding whitespace (meaningless in either form), together with its form.
fn classify(credential: &str) -> Result<(&str, Form)> {
    check_size(credential.len(), MAX_CREDENTIAL_BYTES)?;
    let text = credential.trim();
    if text.is_empty() {
        return Err(bake_error("the credential is empty"));
    }
    if text.starts_with('{') {
        // Only the syntax matters here; the data model is checked by whoever verifies it.
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| bake_error(format!("the credential is not well-formed JSON: {e}")))?;
        Ok((text, Form::Json))
    } else if is_compact_jws(text) {
        Ok((text, Form::Jwt))
    } else {
        Err(bake_error("the credential is neither a JSON object nor a compact JWS (VC-JWT)"))
    }
}

/// Whether `text` has the shape of a compact JWS: three non-empty base64url parts.
fn is_compact_jws(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

// ---------------------------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------------------------

/// Bakes `credential` into the PNG image `png`, and returns the new PNG.
///
/// `credential` is the JSON of a credential with an embedded proof, or the compact JWS of a
/// VC-JWT; surrounding whitespace is dropped. It is stored, uncompressed as the spec requires, in
/// an `iTXt` chunk with keyword [`PNG_KEYWORD`], replacing any such chunk the image already has.
///
/// The image is decoded and encoded again, which checks it thoroughly and drops any chunk the
/// decoder does not understand. What is kept: dimensions, color type, bit depth, every pixel
/// value, the palette and transparency, and the `gAMA`, `cHRM`, `sRGB`, `iCCP`, `pHYs`, `eXIf`,
/// `bKGD` and text chunks. What changes: an interlaced image comes out non-interlaced (same
/// pixels), and rarely used chunks (`sBIT`, `cICP`, `mDCV`, `cLLI`, `tIME`, private chunks) are
/// not carried over.
///
/// # Errors
///
/// [`Error::TooLarge`] beyond [`MAX_IMAGE_BYTES`] or [`MAX_CREDENTIAL_BYTES`]; [`Error::Bake`] if
/// the credential has neither form, or the PNG is corrupted, truncated, animated (APNG: its frames
/// would be lost) or needs more than 64 MiB to decode.
pub fn bake_png(png: &[u8], credential: &str) -> Result<Vec<u8>> {
    check_size(png.len(), MAX_IMAGE_BYTES)?;
    let (text, _) = classify(credential)?;

    let mut reader = png_reader(png)?;
    if reader.info().animation_control.is_some() {
        return Err(bake_error("animated PNG (APNG) cannot be baked: its frames would be lost"));
    }
    // The decoder's limit does not cover the buffer we hand it, so that one is bounded here.
    let size = reader
        .output_buffer_size()
        .filter(|&size| size <= MAX_DECODED_PNG_BYTES)
        .ok_or_else(png_too_big)?;
    let mut pixels = vec![0; size];
    reader.next_frame(&mut pixels).map_err(png_decoding_error)?;
    // Text chunks after the image data only show up in `info()` once the rest of the file is
    // read; reading it also rejects a file cut short after the image data.
    reader.finish().map_err(png_decoding_error)?;

    let mut info = reader.info().clone();
    // `next_frame` hands back the image de-interlaced, and the encoder writes rows in order:
    // the header must say so. The pixel values are the same either way.
    info.interlaced = false;
    info.utf8_text.retain(|chunk| chunk.keyword != PNG_KEYWORD);
    // `ITXtChunk::new` leaves the text uncompressed, as the spec requires.
    info.utf8_text.push(png::text_metadata::ITXtChunk::new(PNG_KEYWORD, text));
    let background = info.bkgd.clone();

    let mut out = Vec::with_capacity(png.len() + text.len() + 64);
    let mut writer = png::Encoder::with_info(&mut out, info)
        .and_then(png::Encoder::write_header)
        .map_err(png_encoding_error)?;
    // The encoder writes every other kept chunk from `info` but not bKGD. Its place is after
    // PLTE and before IDAT, which is exactly where the writer stands now.
    if let Some(background) = background {
        writer.write_chunk(png::chunk::bKGD, &background).map_err(png_encoding_error)?;
    }
    writer.write_image_data(&pixels).map_err(png_encoding_error)?;
    writer.finish().map_err(png_encoding_error)?;
    Ok(out)
}

/// Takes the baked credential out of the PNG image `png`.
///
/// Returns the text of the `iTXt` chunk with keyword [`PNG_KEYWORD`], wherever it is in the file
/// (before or after the image data): the JSON of the credential, or the compact JWS of a VC-JWT.
/// A compressed chunk is read too, although the spec says bakers must not compress.
///
/// # Errors
///
/// [`Error::TooLarge`] beyond [`MAX_IMAGE_BYTES`], or for credential text beyond
/// [`MAX_CREDENTIAL_BYTES`]; [`Error::Bake`] if the PNG is corrupted or truncated, has no such
/// chunk (`"no openbadgecredential iTXt chunk"`), or has more than one.
pub fn unbake_png(png: &[u8]) -> Result<String> {
    check_size(png.len(), MAX_IMAGE_BYTES)?;
    let mut reader = png_reader(png)?;
    // `read_info` stops at the image data; the chunk may come after it. `finish` reads and checks
    // the rest of the file without needing a pixel buffer.
    reader.finish().map_err(png_decoding_error)?;

    let mut chunks = reader.info().utf8_text.iter().filter(|chunk| chunk.keyword == PNG_KEYWORD);
    let chunk = chunks.next().ok_or_else(|| bake_error("no openbadgecredential iTXt chunk"))?;
    if chunks.next().is_some() {
        return Err(bake_error("more than one openbadgecredential iTXt chunk"));
    }

    let mut chunk = chunk.clone();
    // Bounded, so that a small compressed chunk cannot inflate into gigabytes.
    chunk
        .decompress_text_with_limit(MAX_CREDENTIAL_BYTES)
        .map_err(|e| bake_error(format!("unreadable openbadgecredential iTXt chunk: {e}")))?;
    let text = chunk
        .get_text()
        .map_err(|e| bake_error(format!("unreadable openbadgecredential iTXt chunk: {e}")))?;
    check_size(text.len(), MAX_CREDENTIAL_BYTES)?;
    Ok(text)
}

/// A PNG reader that stands at the image data, with raw samples and a memory limit.
fn png_reader(png: &[u8]) -> Result<png::Reader<Cursor<&[u8]>>> {
    let limits = png::Limits { bytes: MAX_DECODED_PNG_BYTES };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(png), limits);
    // Baking must not change a single sample: no palette expansion, no 16-to-8-bit stripping.
    decoder.set_transformations(png::Transformations::IDENTITY);
    decoder.read_info().map_err(png_decoding_error)
}

fn png_decoding_error(error: png::DecodingError) -> Error {
    match error {
        png::DecodingError::LimitsExceeded => png_too_big(),
        png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            bake_error("not a valid PNG: the file is truncated")
        }
        other => bake_error(format!("not a valid PNG: {other}")),
    }
}

fn png_too_big() -> Error {
    bake_error(format!(
        "the PNG needs more than {} MiB of memory to decode",
        MAX_DECODED_PNG_BYTES >> 20
    ))
}

fn png_encoding_error(error: png::EncodingError) -> Error {
    bake_error(format!("cannot encode the baked PNG: {error}"))
}

// ---------------------------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------------------------

/// Bakes `credential` into the SVG image `svg`, and returns the new SVG.
///
/// `credential` is the JSON of a credential with an embedded proof, or the compact JWS of a
/// VC-JWT; surrounding whitespace is dropped. Following the spec, the root `<svg>` gets
/// `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` (unless it has it already) and an
/// `<openbadges:credential>` element is inserted directly after the `<svg>` start tag:
///
/// - JSON goes in the element's body as CDATA: `<openbadges:credential><![CDATA[{...}]]>
///   </openbadges:credential>`. A `]]>` inside the JSON (in a string value) is split across two
///   CDATA sections, which XML readers join back.
/// - A VC-JWT goes in the `verify` attribute, with an empty body:
///   `<openbadges:credential verify="header.payload.signature"></openbadges:credential>`.
///
/// Any credential element already in the image (whatever its prefix) is removed, so there is
/// exactly one. Everything else is copied through unchanged, byte for byte. If the image binds
/// the `openbadges` prefix to another namespace, the new element declares its own.
///
/// The root may be `<svg>` without a prefix (in whatever default namespace, since an old
/// Illustrator SVG declares it through a DTD entity that is deliberately not expanded) or a
/// prefixed element in the SVG namespace.
///
/// # Errors
///
/// [`Error::TooLarge`] beyond [`MAX_IMAGE_BYTES`] or [`MAX_CREDENTIAL_BYTES`]; [`Error::Bake`] if
/// the credential has neither form or holds a character XML cannot carry, or the SVG is not
/// well-formed (namespaces included) or its root is not `svg`.
pub fn bake_svg(svg: &str, credential: &str) -> Result<String> {
    check_size(svg.len(), MAX_IMAGE_BYTES)?;
    let (text, form) = classify(credential)?;
    if let Some(c) = text.chars().find(|&c| !is_xml_char(c)) {
        return Err(bake_error(format!(
            "the credential contains U+{:04X}, which XML cannot carry",
            u32::from(c)
        )));
    }

    let (bom, document) = split_bom(svg);
    let mut events = SvgEvents::new(document);
    let mut writer = Writer::new(Vec::with_capacity(svg.len() + text.len() + 128));
    // Set while inside an old credential element: the level of that element.
    let mut skipping: Option<usize> = None;

    while let Some(Item { event, level, is_credential }) = events.next()? {
        if let Some(skip_level) = skipping {
            if level == skip_level && matches!(event, Event::End(_)) {
                skipping = None;
            }
            continue;
        }
        match event {
            Event::Start(root) if level == 1 => {
                let (root, declare_on_element) = declare_prefix(root, events.decoder())?;
                emit(&mut writer, Event::Start(root))?;
                write_credential(&mut writer, text, form, declare_on_element)?;
            }
            Event::Empty(root) if level == 1 => {
                // `<svg/>`: open it to make room for the credential.
                let end = root.to_end().into_owned();
                let (root, declare_on_element) = declare_prefix(root, events.decoder())?;
                emit(&mut writer, Event::Start(root))?;
                write_credential(&mut writer, text, form, declare_on_element)?;
                emit(&mut writer, Event::End(end))?;
            }
            Event::Start(_) if is_credential => skipping = Some(level),
            Event::Empty(_) if is_credential => {}
            event => emit(&mut writer, event)?,
        }
    }

    let body = String::from_utf8(writer.into_inner())
        .map_err(|_| bake_error("the baked SVG is not valid UTF-8"))?;
    Ok(format!("{bom}{body}"))
}

/// Takes the baked credential out of the SVG image `svg`.
///
/// Finds the element with local name `credential` in the namespace [`SVG_NAMESPACE`], whatever
/// prefix it uses and wherever it is, and returns, trimmed, its `verify` attribute if that is not
/// empty (a VC-JWT), otherwise its text: the JSON of the credential, from CDATA sections, text
/// and character or predefined entity references alike.
///
/// # Errors
///
/// [`Error::TooLarge`] beyond [`MAX_IMAGE_BYTES`] or for credential text beyond
/// [`MAX_CREDENTIAL_BYTES`]; [`Error::Bake`] if the SVG is not well-formed or its root is not
/// `svg`, or it has no credential element, more than one, or an empty one.
pub fn unbake_svg(svg: &str) -> Result<String> {
    check_size(svg.len(), MAX_IMAGE_BYTES)?;
    let (_, document) = split_bom(svg);
    let mut events = SvgEvents::new(document);
    let mut found = Vec::new();
    let mut open: Option<Capture> = None;

    while let Some(Item { event, level, is_credential }) = events.next()? {
        if let Some(mut capture) = open.take() {
            match event {
                Event::Text(text) => {
                    capture.body.push_str(&text.xml10_content().map_err(xml_text_error)?)
                }
                Event::CData(cdata) => {
                    capture.body.push_str(&cdata.xml10_content().map_err(xml_text_error)?)
                }
                Event::GeneralRef(reference) => push_reference(&mut capture.body, &reference)?,
                Event::Start(_) | Event::Empty(_) => {
                    return Err(bake_error(
                        "unexpected element inside the openbadges:credential element",
                    ));
                }
                Event::End(_) if level == capture.level => {
                    found.push(capture.into_text());
                    continue;
                }
                // Comments and processing instructions are not content.
                _ => {}
            }
            open = Some(capture);
            continue;
        }
        match event {
            Event::Start(start) if is_credential => {
                open = Some(Capture {
                    level,
                    verify: verify_attribute(&start, events.decoder())?,
                    body: String::new(),
                });
            }
            Event::Empty(start) if is_credential => found.push(
                Capture {
                    level,
                    verify: verify_attribute(&start, events.decoder())?,
                    body: String::new(),
                }
                .into_text(),
            ),
            _ => {}
        }
    }

    let mut found = found.into_iter();
    let text = match (found.next(), found.next()) {
        (None, _) => return Err(bake_error("no openbadges:credential element")),
        (Some(_), Some(_)) => {
            return Err(bake_error("more than one openbadges:credential element"));
        }
        (Some(text), None) => {
            text.ok_or_else(|| bake_error("the openbadges:credential element is empty"))?
        }
    };
    check_size(text.len(), MAX_CREDENTIAL_BYTES)?;
    Ok(text)
}

/// A credential element being read.
struct Capture {
    /// The level of the element, to recognize its end tag.
    level: usize,
    /// Its `verify` attribute: the compact JWS of a VC-JWT.
    verify: Option<String>,
    /// Its text content: the JSON of a credential with an embedded proof.
    body: String,
}

impl Capture {
    /// The credential: the `verify` attribute if not blank, else the body if not blank.
    fn into_text(self) -> Option<String> {
        // An empty `verify=""` next to a JSON body is seen in the wild: the body wins then.
        [self.verify.unwrap_or_default(), self.body]
            .into_iter()
            .map(|text| text.trim().to_owned())
            .find(|text| !text.is_empty())
    }
}

/// The value of the unprefixed `verify` attribute of `start`, if any.
fn verify_attribute(start: &BytesStart<'_>, decoder: Decoder) -> Result<Option<String>> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| bake_error(format!("malformed SVG: {e}")))?;
        if attribute.key == QName(b"verify") {
            let value = attribute
                .decode_and_unescape_value(decoder)
                .map_err(|e| bake_error(format!("malformed SVG: {e}")))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Appends what a character or predefined entity reference stands for.
fn push_reference(text: &mut String, reference: &BytesRef<'_>) -> Result<()> {
    if let Some(c) =
        reference.resolve_char_ref().map_err(|e| bake_error(format!("malformed SVG: {e}")))?
    {
        text.push(c);
        return Ok(());
    }
    let name = reference.decode().map_err(xml_text_error)?;
    // No DTD is processed, so no other entity can be known (and none can blow up).
    let value = resolve_predefined_entity(&name)
        .ok_or_else(|| bake_error(format!("unknown entity `&{name};` in the credential")))?;
    text.push_str(value);
    Ok(())
}

fn xml_text_error(error: quick_xml::encoding::EncodingError) -> Error {
    bake_error(format!("malformed SVG: {error}"))
}

/// Makes sure the `openbadges` prefix is bound to [`SVG_NAMESPACE`] on the root element.
///
/// Returns the root, with the declaration added if it had none, and whether the credential element
/// must declare the prefix itself because the root binds it to another namespace.
fn declare_prefix<'a>(
    mut root: BytesStart<'a>,
    decoder: Decoder,
) -> Result<(BytesStart<'a>, bool)> {
    let mut bound_to = None;
    for attribute in root.attributes() {
        let attribute = attribute.map_err(|e| bake_error(format!("malformed SVG: {e}")))?;
        if attribute.key == QName(PREFIX_DECLARATION.as_bytes()) {
            let value = attribute
                .decode_and_unescape_value(decoder)
                .map_err(|e| bake_error(format!("malformed SVG: {e}")))?;
            bound_to = Some(value.into_owned());
        }
    }
    match bound_to {
        None => {
            root.push_attribute((PREFIX_DECLARATION, SVG_NAMESPACE));
            Ok((root, false))
        }
        Some(namespace) => Ok((root, namespace != SVG_NAMESPACE)),
    }
}

/// Writes the `<openbadges:credential>` element in the form the spec gives for `form`.
fn write_credential(
    writer: &mut Writer<Vec<u8>>,
    text: &str,
    form: Form,
    declare_prefix: bool,
) -> Result<()> {
    let mut start = BytesStart::new(CREDENTIAL_QNAME);
    if declare_prefix {
        start.push_attribute((PREFIX_DECLARATION, SVG_NAMESPACE));
    }
    match form {
        Form::Jwt => {
            start.push_attribute(("verify", text));
            emit(writer, Event::Start(start))?;
        }
        Form::Json => {
            emit(writer, Event::Start(start))?;
            // Splits the text wherever it contains `]]>`, which would otherwise end the CDATA.
            for section in BytesCData::escaped(text) {
                emit(writer, Event::CData(section))?;
            }
        }
    }
    // An explicit end tag rather than `<.../>`, as in the spec's examples, for the same naive
    // extractors that search for `</openbadges:credential>`.
    emit(writer, Event::End(BytesEnd::new(CREDENTIAL_QNAME)))
}

fn emit(writer: &mut Writer<Vec<u8>>, event: Event<'_>) -> Result<()> {
    writer.write_event(event).map_err(|e| bake_error(format!("cannot write the baked SVG: {e}")))
}

/// A namespace-aware pass over an SVG document that checks what baking relies on: one root
/// element, named `svg`; no text outside it; declared prefixes; well-formed tags and attributes;
/// every element closed.
struct SvgEvents<'i> {
    reader: NsReader<&'i [u8]>,
    /// The number of elements open.
    depth: usize,
    root_seen: bool,
}

/// One event of an [`SvgEvents`] pass, with where it stands.
struct Item<'i> {
    event: Event<'i>,
    /// For a tag, the level of its element (1 for the root); for anything else, the number of
    /// elements it is inside (0 outside the root).
    level: usize,
    /// Whether this is the start (or empty) tag of a credential element.
    is_credential: bool,
}

impl<'i> SvgEvents<'i> {
    fn new(document: &'i str) -> Self {
        let mut reader = NsReader::from_str(document);
        // Stricter than the default: malformed comments are errors too.
        reader.config_mut().enable_all_checks(true);
        Self { reader, depth: 0, root_seen: false }
    }

    fn decoder(&self) -> Decoder {
        self.reader.decoder()
    }

    /// The next event, or `None` at the end of a well-formed SVG document.
    fn next(&mut self) -> Result<Option<Item<'i>>> {
        let (resolved, event) = match self.reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(error) => {
                return Err(bake_error(format!(
                    "malformed SVG at byte {}: {error}",
                    self.reader.error_position()
                )));
            }
        };
        let (is_svg, is_credential) = match &event {
            Event::Start(start) | Event::Empty(start) => classify_element(&resolved, start)?,
            _ => (false, false),
        };

        let level = match &event {
            Event::Start(start) | Event::Empty(start) => {
                // Attributes are parsed lazily: without this pass a broken one would be copied
                // through unnoticed.
                for attribute in start.attributes() {
                    attribute.map_err(|e| {
                        bake_error(format!(
                            "malformed SVG: bad attribute in <{}>: {e}",
                            String::from_utf8_lossy(start.name().as_ref())
                        ))
                    })?;
                }
                if self.depth == 0 {
                    if self.root_seen {
                        return Err(bake_error("malformed SVG: more than one root element"));
                    }
                    if !is_svg {
                        return Err(bake_error(format!(
                            "not an SVG: the root element is <{}>",
                            String::from_utf8_lossy(start.name().as_ref())
                        )));
                    }
                    self.root_seen = true;
                }
                self.depth + 1
            }
            Event::End(_) => self.depth,
            Event::Text(text) if self.depth == 0 => {
                if !text.iter().all(|&b| is_xml_whitespace(b)) {
                    return Err(bake_error("malformed SVG: text outside the root element"));
                }
                0
            }
            Event::CData(_) | Event::GeneralRef(_) if self.depth == 0 => {
                return Err(bake_error("malformed SVG: text outside the root element"));
            }
            Event::Eof => {
                if !self.root_seen {
                    return Err(bake_error("not an SVG: no root element"));
                }
                if self.depth > 0 {
                    return Err(bake_error("malformed SVG: unclosed element at end of input"));
                }
                return Ok(None);
            }
            _ => self.depth,
        };

        match &event {
            Event::Start(_) => self.depth += 1,
            Event::End(_) => {
                // The reader already rejects an end tag without a start tag; this is a backstop.
                self.depth = self
                    .depth
                    .checked_sub(1)
                    .ok_or_else(|| bake_error("malformed SVG: unmatched end tag"))?;
            }
            _ => {}
        }
        Ok(Some(Item { event, level, is_credential }))
    }
}

/// Whether an element may be the root of an SVG, and whether it is a credential element.
fn classify_element(resolved: &ResolveResult<'_>, start: &BytesStart<'_>) -> Result<(bool, bool)> {
    let local = start.local_name();
    let is_local_svg = local.as_ref() == b"svg";
    match resolved {
        ResolveResult::Bound(Namespace(namespace)) => Ok((
            // Unprefixed `svg` in any default namespace, or in the SVG namespace by any prefix.
            is_local_svg && (start.name().prefix().is_none() || *namespace == SVG_XMLNS),
            *namespace == SVG_NAMESPACE.as_bytes() && local.as_ref() == b"credential",
        )),
        ResolveResult::Unbound => Ok((is_local_svg, false)),
        ResolveResult::Unknown(prefix) => Err(bake_error(format!(
            "malformed SVG: undeclared namespace prefix `{}`",
            String::from_utf8_lossy(prefix)
        ))),
    }
}

/// Splits a leading byte order mark off, so that it is neither parsed nor lost.
fn split_bom(svg: &str) -> (&str, &str) {
    match svg.strip_prefix('\u{FEFF}') {
        Some(rest) => ("\u{FEFF}", rest),
        None => ("", svg),
    }
}

/// The XML 1.0 whitespace characters.
fn is_xml_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Whether XML 1.0 allows `c` in a document (the `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

fn bake_error(reason: impl Into<String>) -> Error {
    Error::Bake(reason.into())
}

fn check_size(size: usize, limit: usize) -> Result<()> {
    if size > limit { Err(Error::TooLarge { size, limit }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential","OpenBadgeCredential"],"name":"Zoë <Ünïcödé> & 🎓 名前 ]]> done"}"#;
    const JWT: &str = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6d2ViOmV4YW1wbGUuY29tIn0.c2lnbmF0dXJl";

    // ---- PNG helpers ----

    struct Image<'a> {
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        palette: Option<&'a [u8]>,
        trns: Option<&'a [u8]>,
        pixels: &'a [u8],
    }

    /// Encodes `image`, with `before` text chunks ahead of the image data and `after` after it.
    fn encode(
        image: &Image<'_>,
        before: &[png::text_metadata::ITXtChunk],
        after: &[png::text_metadata::ITXtChunk],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
        encoder.set_color(image.color);
        encoder.set_depth(image.depth);
        if let Some(palette) = image.palette {
            encoder.set_palette(palette.to_vec());
        }
        if let Some(trns) = image.trns {
            encoder.set_trns(trns.to_vec());
        }
        let mut writer = encoder.write_header().unwrap();
        for chunk in before {
            writer.write_text_chunk(chunk).unwrap();
        }
        writer.write_image_data(image.pixels).unwrap();
        for chunk in after {
            writer.write_text_chunk(chunk).unwrap();
        }
        writer.finish().unwrap();
        out
    }

    /// Decodes everything: the info (text chunks included) and the raw pixels.
    fn decode(png: &[u8]) -> (png::Info<'static>, Vec<u8>) {
        let mut reader = png::Decoder::new(Cursor::new(png)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        reader.finish().unwrap();
        (reader.info().clone(), pixels)
    }

    fn credential_chunks(info: &png::Info<'_>) -> usize {
        info.utf8_text.iter().filter(|chunk| chunk.keyword == PNG_KEYWORD).count()
    }

    fn rgba_pixels() -> Vec<u8> {
        (0..7 * 5 * 4).map(|i| (i * 37 % 256) as u8).collect()
    }

    fn rgba_png() -> Vec<u8> {
        let pixels = rgba_pixels();
        encode(
            &Image {
                width: 7,
                height: 5,
                color: png::ColorType::Rgba,
                depth: png::BitDepth::Eight,
                palette: None,
                trns: None,
                pixels: &pixels,
            },
            &[],
            &[],
        )
    }

    /// A tiny deterministic generator, so that the "random" tests are reproducible.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    // ---- PNG ----

    #[test]
    fn png_rgba_round_trip_keeps_the_pixels() {
        let original = rgba_png();
        let baked = bake_png(&original, JSON).unwrap();
        assert_eq!(unbake_png(&baked).unwrap(), JSON);
        assert_eq!(unbake(&baked).unwrap(), JSON);

        let (before, before_pixels) = decode(&original);
        let (after, after_pixels) = decode(&baked);
        assert_eq!(after.size(), before.size());
        assert_eq!(after.color_type, before.color_type);
        assert_eq!(after.bit_depth, before.bit_depth);
        assert_eq!(after_pixels, before_pixels);
        assert_eq!(after_pixels, rgba_pixels());
        assert_eq!(credential_chunks(&after), 1);
        // Uncompressed, as the spec requires.
        let chunk = after.utf8_text.iter().find(|chunk| chunk.keyword == PNG_KEYWORD).unwrap();
        assert!(!chunk.compressed);
    }

    #[test]
    fn png_palette_round_trip_keeps_palette_transparency_and_indices() {
        // 2-bit indices, 5 × 3 pixels: rows of 2 bytes, the last 2 bits padding.
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
        let trns = [0, 128];
        let pixels = [0b0001_1011, 0b1100_0000, 0b1110_0100, 0b0100_0000, 0b0000_0000, 0b1100_0000];
        let image = Image {
            width: 5,
            height: 3,
            color: png::ColorType::Indexed,
            depth: png::BitDepth::Two,
            palette: Some(&palette),
            trns: Some(&trns),
            pixels: &pixels,
        };
        let original = encode(&image, &[], &[]);
        let baked = bake_png(&original, JWT).unwrap();
        assert_eq!(unbake_png(&baked).unwrap(), JWT);

        let (before, before_pixels) = decode(&original);
        let (after, after_pixels) = decode(&baked);
        assert_eq!(after.color_type, png::ColorType::Indexed);
        assert_eq!(after.bit_depth, png::BitDepth::Two);
        assert_eq!(after.size(), (5, 3));
        assert_eq!(after.palette.as_deref(), Some(&palette[..]));
        assert_eq!(after.trns.as_deref(), Some(&trns[..]));
        assert_eq!(after.palette, before.palette);
        assert_eq!(after.trns, before.trns);
        assert_eq!(after_pixels, before_pixels);
    }

    #[test]
    fn png_rebaking_replaces_the_credential() {
        let once = bake_png(&rgba_png(), JSON).unwrap();
        let twice = bake_png(&once, JWT).unwrap();
        assert_eq!(unbake_png(&twice).unwrap(), JWT);
        assert_eq!(credential_chunks(&decode(&twice).0), 1);
    }

    #[test]
    fn png_chunk_after_image_data_and_compressed_is_read_and_replaced() {
        let mut chunk = png::text_metadata::ITXtChunk::new(PNG_KEYWORD, JSON);
        chunk.compressed = true;
        let other = png::text_metadata::ITXtChunk::new("Comment", "keep me");
        let pixels = rgba_pixels();
        let image = Image {
            width: 7,
            height: 5,
            color: png::ColorType::Rgba,
            depth: png::BitDepth::Eight,
            palette: None,
            trns: None,
            pixels: &pixels,
        };
        let original = encode(&image, &[other], &[chunk]);
        assert_eq!(unbake_png(&original).unwrap(), JSON);

        let baked = bake_png(&original, JWT).unwrap();
        assert_eq!(unbake_png(&baked).unwrap(), JWT);
        let (info, _) = decode(&baked);
        assert_eq!(credential_chunks(&info), 1);
        let kept = info.utf8_text.iter().find(|chunk| chunk.keyword == "Comment").unwrap();
        assert_eq!(kept.get_text().unwrap(), "keep me");
    }

    #[test]
    fn png_with_two_credentials_is_refused() {
        let first = png::text_metadata::ITXtChunk::new(PNG_KEYWORD, JSON);
        let second = png::text_metadata::ITXtChunk::new(PNG_KEYWORD, JWT);
        let pixels = rgba_pixels();
        let image = Image {
            width: 7,
            height: 5,
            color: png::ColorType::Rgba,
            depth: png::BitDepth::Eight,
            palette: None,
            trns: None,
            pixels: &pixels,
        };
        let png = encode(&image, &[first], &[second]);
        assert_eq!(
            unbake_png(&png),
            Err(Error::Bake("more than one openbadgecredential iTXt chunk".into()))
        );
        // Baking heals it: both go, one comes in.
        let baked = bake_png(&png, JWT).unwrap();
        assert_eq!(unbake_png(&baked).unwrap(), JWT);
    }

    #[test]
    fn unbaking_an_unbaked_png_says_so() {
        assert_eq!(
            unbake_png(&rgba_png()),
            Err(Error::Bake("no openbadgecredential iTXt chunk".into()))
        );
    }

    #[test]
    fn truncated_png_is_refused_at_every_length() {
        let baked = bake_png(&rgba_png(), JSON).unwrap();
        for len in 0..baked.len() {
            let cut = &baked[..len];
            assert!(
                matches!(bake_png(cut, JSON), Err(Error::Bake(_))),
                "bake accepted a PNG cut at {len} of {} bytes",
                baked.len()
            );
            assert!(
                matches!(unbake_png(cut), Err(Error::Bake(_))),
                "unbake accepted a PNG cut at {len} of {} bytes",
                baked.len()
            );
        }
    }

    #[test]
    fn random_and_corrupted_bytes_never_panic() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for round in 0..300 {
            let len = (xorshift(&mut state) % 200) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
            if round % 2 == 0 {
                // Past the signature check, into the chunk parser.
                let mut with_signature = PNG_SIGNATURE.to_vec();
                with_signature.append(&mut bytes);
                bytes = with_signature;
            }
            assert!(matches!(bake_png(&bytes, JSON), Err(Error::Bake(_))));
            assert!(matches!(unbake_png(&bytes), Err(Error::Bake(_))));
            assert!(unbake(&bytes).is_err());
        }
        // Flipped bytes in a valid PNG: any outcome but a panic.
        let valid = bake_png(&rgba_png(), JSON).unwrap();
        for _ in 0..300 {
            let mut bytes = valid.clone();
            let at = (xorshift(&mut state) as usize) % bytes.len();
            bytes[at] ^= (xorshift(&mut state) as u8) | 1;
            let _ = bake_png(&bytes, JSON);
            let _ = unbake_png(&bytes);
        }
    }

    #[test]
    fn animated_png_is_refused() {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 2, 2);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_animated(2, 0).unwrap();
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0, 1, 2, 3]).unwrap();
        writer.write_image_data(&[4, 5, 6, 7]).unwrap();
        writer.finish().unwrap();
        let err = bake_png(&out, JSON).unwrap_err();
        assert!(matches!(&err, Error::Bake(reason) if reason.contains("animated")), "{err}");
    }

    #[test]
    fn credential_must_be_json_or_a_compact_jws() {
        let png = rgba_png();
        for bad in ["", "   ", "hello", "a.b", "a.b.c.d", "a..c", "a.b c.d", "{\"open\": ", "[1]"] {
            assert!(matches!(bake_png(&png, bad), Err(Error::Bake(_))), "{bad:?}");
            assert!(matches!(bake_svg("<svg/>", bad), Err(Error::Bake(_))), "{bad:?}");
        }
        // Surrounding whitespace is dropped.
        let baked = bake_png(&png, &format!("\n  {JWT}\n")).unwrap();
        assert_eq!(unbake_png(&baked).unwrap(), JWT);
    }

    #[test]
    fn oversized_inputs_are_refused_before_parsing() {
        let huge = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_CREDENTIAL_BYTES));
        assert!(matches!(
            bake_png(&rgba_png(), &huge),
            Err(Error::TooLarge { limit: MAX_CREDENTIAL_BYTES, .. })
        ));
        assert!(matches!(
            bake_svg("<svg/>", &huge),
            Err(Error::TooLarge { limit: MAX_CREDENTIAL_BYTES, .. })
        ));
        let image = vec![0; MAX_IMAGE_BYTES + 1];
        assert!(matches!(unbake(&image), Err(Error::TooLarge { limit: MAX_IMAGE_BYTES, .. })));
    }

    // ---- SVG ----

    const SVG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- a badge -->
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><style><![CDATA[rect{fill:#f00}]]></style><title>A &amp; B</title><rect width="10" height="10"/></svg>
"#;

    /// The local names of the root's child elements, in order, with their namespace.
    fn children(svg: &str) -> Vec<(String, String)> {
        let mut reader = NsReader::from_str(svg);
        let mut depth = 0;
        let mut names = Vec::new();
        loop {
            let (ns, event) = reader.read_resolved_event().unwrap();
            let ns = match ns {
                ResolveResult::Bound(Namespace(ns)) => String::from_utf8(ns.to_vec()).unwrap(),
                _ => String::new(),
            };
            match &event {
                Event::Start(e) | Event::Empty(e) if depth == 1 => {
                    names.push((ns, String::from_utf8(e.local_name().as_ref().to_vec()).unwrap()))
                }
                _ => {}
            }
            match event {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth -= 1,
                Event::Eof => return names,
                _ => {}
            }
        }
    }

    #[test]
    fn svg_json_round_trip_with_markup_ampersand_cdata_end_and_unicode() {
        let baked = bake_svg(SVG, JSON).unwrap();
        assert_eq!(unbake_svg(&baked).unwrap(), JSON);
        assert_eq!(unbake(baked.as_bytes()).unwrap(), JSON);

        // The `]]>` is split across two CDATA sections, so the document stays well-formed.
        assert!(baked.contains("]]]]><![CDATA[>"));
        // Directly after the `<svg>` start tag, as the first child, with the prefix declared.
        assert!(baked.contains(&format!(
            r#"viewBox="0 0 10 10" xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential><![CDATA[{{"#
        )));
        assert_eq!(children(&baked)[0], (SVG_NAMESPACE.to_owned(), "credential".to_owned()));
        assert!(!baked.contains(" verify="));
    }

    #[test]
    fn svg_baking_changes_nothing_else() {
        let baked = bake_svg(SVG, JWT).unwrap();
        let expected = SVG.replace(
            r#"viewBox="0 0 10 10">"#,
            &format!(
                r#"viewBox="0 0 10 10" xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential verify="{JWT}"></openbadges:credential>"#
            ),
        );
        assert_eq!(baked, expected);
        assert_eq!(unbake_svg(&baked).unwrap(), JWT);
    }

    #[test]
    fn svg_rebaking_replaces_and_keeps_an_existing_declaration() {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{SVG_NAMESPACE}">
  <openbadges:credential><![CDATA[{{"old": true}}]]></openbadges:credential>
  <circle r="1"/>
</svg>"#
        );
        assert_eq!(unbake_svg(&svg).unwrap(), r#"{"old": true}"#);
        let baked = bake_svg(&svg, JSON).unwrap();
        assert_eq!(unbake_svg(&baked).unwrap(), JSON);
        assert_eq!(baked.matches("xmlns:openbadges").count(), 1);
        assert_eq!(baked.matches("<openbadges:credential").count(), 1);
        assert!(!baked.contains("old"));
        let rebaked = bake_svg(&baked, JWT).unwrap();
        assert_eq!(unbake_svg(&rebaked).unwrap(), JWT);
        assert_eq!(rebaked.matches("<openbadges:credential").count(), 1);
    }

    #[test]
    fn svg_credential_is_found_by_namespace_not_prefix() {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg"><g xmlns:ob="{SVG_NAMESPACE}"><ob:credential verify=" {JWT} "/></g></svg>"#
        );
        assert_eq!(unbake_svg(&svg).unwrap(), JWT);
        let baked = bake_svg(&svg, JSON).unwrap();
        assert!(!baked.contains("ob:credential"));
        assert_eq!(unbake_svg(&baked).unwrap(), JSON);
    }

    #[test]
    fn svg_prefix_bound_elsewhere_gets_a_local_declaration() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="https://example.org/a"/></svg>"#;
        // An OB 2.0 element in another namespace is not an OB 3.0 credential.
        assert_eq!(unbake_svg(svg), Err(Error::Bake("no openbadges:credential element".into())));
        let baked = bake_svg(svg, JSON).unwrap();
        assert!(
            baked.contains(&format!(
                r#"<openbadges:credential xmlns:openbadges="{SVG_NAMESPACE}">"#
            ))
        );
        assert!(baked.contains("<openbadges:assertion"));
        assert_eq!(unbake_svg(&baked).unwrap(), JSON);
    }

    #[test]
    fn svg_empty_root_and_prefixed_root_are_baked() {
        let baked =
            bake_svg(r#"<svg xmlns="http://www.w3.org/2000/svg" width="1"/>"#, JWT).unwrap();
        assert_eq!(
            baked,
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="1" xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential verify="{JWT}"></openbadges:credential></svg>"#
            )
        );
        let prefixed = r#"<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:rect/></s:svg>"#;
        assert_eq!(unbake_svg(&bake_svg(prefixed, JSON).unwrap()).unwrap(), JSON);
        // A byte order mark is kept in front.
        let with_bom = bake_svg("\u{FEFF}<svg/>", JWT).unwrap();
        assert!(with_bom.starts_with("\u{FEFF}<svg xmlns:openbadges"));
        assert_eq!(unbake(with_bom.as_bytes()).unwrap(), JWT);
    }

    #[test]
    fn svg_credential_as_escaped_text_and_blank_verify() {
        let svg = format!(
            r#"<svg><openbadges:credential xmlns:openbadges="{SVG_NAMESPACE}" verify="">
  {{&quot;a&quot;:&#x31;, "b": "&lt;&amp;&gt;"}}<!-- note -->
</openbadges:credential></svg>"#
        );
        assert_eq!(unbake_svg(&svg).unwrap(), r#"{"a":1, "b": "<&>"}"#);
    }

    #[test]
    fn svg_with_two_or_empty_credentials_is_refused() {
        let two = format!(
            r#"<svg xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential verify="{JWT}"/><openbadges:credential verify="{JWT}"/></svg>"#
        );
        assert_eq!(
            unbake_svg(&two),
            Err(Error::Bake("more than one openbadges:credential element".into()))
        );
        let empty = format!(
            r#"<svg xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential>  </openbadges:credential></svg>"#
        );
        assert_eq!(
            unbake_svg(&empty),
            Err(Error::Bake("the openbadges:credential element is empty".into()))
        );
        let nested = format!(
            r#"<svg xmlns:openbadges="{SVG_NAMESPACE}"><openbadges:credential><g/></openbadges:credential></svg>"#
        );
        assert!(matches!(unbake_svg(&nested), Err(Error::Bake(_))));
        assert_eq!(unbake_svg(SVG), Err(Error::Bake("no openbadges:credential element".into())));
    }

    #[test]
    fn malformed_svg_is_refused() {
        let cases = [
            "",
            "   ",
            "<svg>",
            "<svg><g></svg>",
            "<svg></g>",
            "<svg><g></g>",
            "<svg a='1' a='2'/>",
            "<svg a=1/>",
            "<svg/><svg/>",
            "<svg/>trailing",
            "text<svg/>",
            "<svg><x:rect/></svg>",
            "<svg><!-- a -- b --></svg>",
            "<svg",
            "<svg>&unknown</svg>",
            "<svg><![CDATA[ never closed </svg>",
        ];
        for svg in cases {
            let baked = bake_svg(svg, JSON);
            assert!(matches!(baked, Err(Error::Bake(_))), "bake accepted {svg:?}: {baked:?}");
            let unbaked = unbake_svg(svg);
            assert!(matches!(unbaked, Err(Error::Bake(_))), "unbake accepted {svg:?}: {unbaked:?}");
        }
    }

    #[test]
    fn non_svg_root_is_refused() {
        for doc in [
            "<html><body/></html>",
            r#"<x:svg xmlns:x="http://example.org/not-svg"/>"#,
            r#"<?xml version="1.0"?><credential/>"#,
        ] {
            let err = bake_svg(doc, JSON).unwrap_err();
            assert!(
                matches!(&err, Error::Bake(reason) if reason.starts_with("not an SVG")),
                "{doc}: {err}"
            );
            assert!(matches!(unbake_svg(doc), Err(Error::Bake(_))));
        }
    }

    #[test]
    fn json_with_characters_xml_cannot_carry_is_refused_for_svg_only() {
        let json = "{\"a\":\"\u{FFFF}\"}";
        assert!(matches!(bake_svg("<svg/>", json), Err(Error::Bake(_))));
        let baked = bake_png(&rgba_png(), json).unwrap();
        assert_eq!(unbake_png(&baked).unwrap(), json);
    }

    #[test]
    fn random_text_never_panics_the_svg_parser() {
        let alphabet = b"<>/=\"' &;#x![]CDATA-?svgopenbadges:credential\n";
        let mut state = 0x2545_F491_4F6C_DD1D;
        for _ in 0..500 {
            let len = (xorshift(&mut state) % 80) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(xorshift(&mut state) as usize) % alphabet.len()] as char)
                .collect();
            let svg = format!("<svg>{text}</svg>");
            let _ = bake_svg(&svg, JSON);
            let _ = unbake_svg(&svg);
            let _ = unbake(svg.as_bytes());
        }
    }

    // ---- sniffing ----

    #[test]
    fn sniff_tells_png_from_svg() {
        assert_eq!(sniff(&rgba_png()), Some(ImageKind::Png));
        assert_eq!(sniff(SVG.as_bytes()), Some(ImageKind::Svg));
        assert_eq!(sniff(b"\xEF\xBB\xBF \n<svg/>"), Some(ImageKind::Svg));
        assert_eq!(sniff(b"<s:svg xmlns:s='x'/>"), Some(ImageKind::Svg));
        assert_eq!(sniff(b"<html/>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(unbake(b"GIF89a"), Err(Error::Bake("not a PNG or SVG image".into())));
        assert_eq!(
            unbake(b"<svg>\xFF</svg>"),
            Err(Error::Bake("the SVG is not valid UTF-8".into()))
        );
    }
}

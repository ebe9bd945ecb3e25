//! QR codes for the URL of a credential.
//!
//! A printed certificate or a slide cannot carry a link, so the platform prints the public URL
//! of a credential (where anyone can verify it) as a QR code. It comes in two renderings: SVG,
//! for the web and for print, where it scales without blurring; and PNG, for the places that do
//! not take SVG (some e-mail clients and office suites).
//!
//! Both use error correction level M (a code still reads with about 15 % of it damaged or
//! covered), the usual choice for a URL on paper, and a quiet zone of 4 modules, the minimum the
//! QR standard (ISO/IEC 18004) asks for so that scanners can find the code. The PNG is drawn here
//! from the module matrix rather than through the `image` crate, whose weight is not worth it for
//! drawing squares.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::{Error, Result};

/// The most pixels per module [`qr_png`] accepts.
pub const MAX_MODULE_PX: u32 = 32;

/// The largest width (and height) of a PNG from [`qr_png`], in pixels. It bounds memory: at one
/// bit per pixel such an image takes 2 MiB before compression.
pub const MAX_PNG_SIDE_PX: u32 = 4096;

/// The width of the quiet zone around the code, in modules.
const QUIET_ZONE_MODULES: usize = 4;

/// The smallest width and height of the SVG, in pixels at 100 %: big enough to scan from a
/// screen, and the code is scaled up to whole pixels per module from there.
const SVG_MIN_SIDE_PX: u32 = 256;

/// The capacity of the largest QR code (version 40, level L, digits only): no longer data can
/// ever fit, so it is refused before the encoder spends time on it.
const MAX_DATA_BYTES: usize = 7089;

/// Renders `data` (usually a URL) as a QR code in an SVG document.
///
/// Dark modules are black on a white background, with a 4-module quiet zone, at least 256 × 256
/// pixels, and `shape-rendering="crispEdges"` so that viewers do not blur the module edges. The
/// result is a standalone document, starting with an XML declaration.
///
/// # Errors
///
/// [`Error::Qr`] if `data` does not fit in a QR code at error correction level M (about 2,300
/// bytes of arbitrary text; a URL should stay far below that to keep the code easy to scan).
pub fn qr_svg(data: &str) -> Result<String> {
    let code = encode(data)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(SVG_MIN_SIDE_PX, SVG_MIN_SIDE_PX)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// Renders `data` (usually a URL) as a QR code in a PNG image, `module_px` pixels per module.
///
/// The image is 1-bit grayscale, black modules on white, with a 4-module quiet zone: its width
/// and height are `(modules + 8) × module_px` pixels, where `modules` is the width of the code
/// (21 to 177 depending on the length of `data`).
///
/// # Errors
///
/// [`Error::Qr`] if `module_px` is not within `1..=`[`MAX_MODULE_PX`], if `data` does not fit in
/// a QR code at level M, or if the image would be wider than [`MAX_PNG_SIDE_PX`].
pub fn qr_png(data: &str, module_px: u32) -> Result<Vec<u8>> {
    if !(1..=MAX_MODULE_PX).contains(&module_px) {
        return Err(Error::Qr(format!(
            "module size must be 1 to {MAX_MODULE_PX} pixels, not {module_px}"
        )));
    }
    let code = encode(data)?;
    let modules = code.width();
    let module_px = usize::try_from(module_px).map_err(|_| qr_error("module size too large"))?;
    let side_px = (modules + 2 * QUIET_ZONE_MODULES) * module_px;
    let side = u32::try_from(side_px)
        .ok()
        .filter(|&side| side <= MAX_PNG_SIDE_PX)
        .ok_or_else(|| {
            qr_error(format!(
                "a {side_px} × {side_px} pixel image exceeds the limit of {MAX_PNG_SIDE_PX} pixels: use fewer pixels per module"
            ))
        })?;

    // One bit per pixel, most significant bit first, 1 for white: the PNG layout of 1-bit
    // grayscale. Rows start on a byte boundary; padding bits stay white and are ignored.
    let row_bytes = side_px.div_ceil(8);
    let white_row = vec![0xFF_u8; row_bytes];
    let quiet_rows = QUIET_ZONE_MODULES * module_px;
    let mut pixels = Vec::with_capacity(row_bytes * side_px);
    for _ in 0..quiet_rows {
        pixels.extend_from_slice(&white_row);
    }
    for module_row in code.to_colors().chunks_exact(modules) {
        // Draw one row of pixels for the row of modules, then repeat it `module_px` times.
        let mut row = white_row.clone();
        for (x, _) in module_row.iter().enumerate().filter(|(_, color)| **color == Color::Dark) {
            let left = (QUIET_ZONE_MODULES + x) * module_px;
            for px in left..left + module_px {
                row[px / 8] &= !(0x80 >> (px % 8));
            }
        }
        for _ in 0..module_px {
            pixels.extend_from_slice(&row);
        }
    }
    for _ in 0..quiet_rows {
        pixels.extend_from_slice(&white_row);
    }

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

/// Encodes `data` at error correction level M.
fn encode(data: &str) -> Result<QrCode> {
    if data.len() > MAX_DATA_BYTES {
        return Err(qr_error(format!(
            "{} bytes of data do not fit in a QR code (at most {MAX_DATA_BYTES})",
            data.len()
        )));
    }
    QrCode::with_error_correction_level(data, EcLevel::M).map_err(|e| {
        qr_error(format!(
            "{} bytes of data do not fit in a QR code at error correction level M: {e}",
            data.len()
        ))
    })
}

fn png_error(error: png::EncodingError) -> Error {
    qr_error(format!("cannot encode the PNG: {error}"))
}

fn qr_error(reason: impl Into<String>) -> Error {
    Error::Qr(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    const URL: &str = "https://badges.example.org/credentials/2f6c1e0a-7b1d-4c35-9a4e-0d3c5b8e91aa";

    /// Decodes a PNG to 8-bit samples: (width, height, samples).
    fn decode_gray8(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        assert_eq!(frame.color_type, png::ColorType::Grayscale);
        assert_eq!(frame.bit_depth, png::BitDepth::Eight);
        (frame.width, frame.height, buf)
    }

    #[test]
    fn svg_is_well_formed_with_an_svg_root() {
        let svg = qr_svg(URL).unwrap();
        let mut reader = Reader::from_str(&svg);
        let mut root = None;
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) | Event::Empty(e) if root.is_none() => {
                    let width: u32 = e
                        .try_get_attribute("width")
                        .unwrap()
                        .unwrap()
                        .decode_and_unescape_value(reader.decoder())
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(width >= SVG_MIN_SIDE_PX);
                    let rendering = e.try_get_attribute("shape-rendering").unwrap().unwrap();
                    assert_eq!(
                        rendering.decode_and_unescape_value(reader.decoder()).unwrap(),
                        "crispEdges"
                    );
                    root = Some(e.name().as_ref().to_vec());
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(root.as_deref(), Some(&b"svg"[..]));
        assert!(svg.contains("#000000") && svg.contains("#ffffff"));
    }

    #[test]
    fn png_has_the_expected_size_and_honest_modules() {
        let code = QrCode::with_error_correction_level(URL, EcLevel::M).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        for module_px in [1, 3, 8] {
            let png = qr_png(URL, module_px).unwrap();
            let (width, height, samples) = decode_gray8(&png);
            let side = (modules + 8) * module_px as usize;
            assert_eq!((width as usize, height as usize), (side, side));

            let sample = |x: usize, y: usize| samples[y * side + x];
            // The centre of every module is black exactly where the code has a dark module.
            let m = module_px as usize;
            for y in 0..modules {
                for x in 0..modules {
                    let centre = sample((4 + x) * m + m / 2, (4 + y) * m + m / 2);
                    let expected = if colors[y * modules + x] == Color::Dark { 0 } else { 255 };
                    assert_eq!(centre, expected, "module ({x}, {y}) at {module_px} px");
                }
            }
            // The quiet zone is white all round.
            for i in 0..side {
                for j in 0..4 * m {
                    for (x, y) in [(i, j), (i, side - 1 - j), (j, i), (side - 1 - j, i)] {
                        assert_eq!(sample(x, y), 255, "quiet zone at ({x}, {y})");
                    }
                }
            }
        }
    }

    #[test]
    fn module_size_is_bounded() {
        for module_px in [0, MAX_MODULE_PX + 1, u32::MAX] {
            assert!(matches!(qr_png(URL, module_px), Err(Error::Qr(_))));
        }
        assert!(qr_png(URL, MAX_MODULE_PX).is_ok());
    }

    #[test]
    fn overlong_data_is_refused() {
        // Over the binary capacity at level M (2,331 bytes), and over any capacity at all.
        for data in ["é".repeat(1200), "a".repeat(3000), "1".repeat(MAX_DATA_BYTES + 1)] {
            assert!(matches!(qr_svg(&data), Err(Error::Qr(_))));
            assert!(matches!(qr_png(&data, 4), Err(Error::Qr(_))));
        }
    }

    #[test]
    fn oversized_png_is_refused() {
        // About version 37 (165 modules + 8): fine at 4 px, over 4096 px at 32.
        let data = "a".repeat(1800);
        assert!(qr_png(&data, 4).is_ok());
        let err = qr_png(&data, 32).unwrap_err();
        assert!(matches!(&err, Error::Qr(reason) if reason.contains("exceeds")), "{err}");
    }
}

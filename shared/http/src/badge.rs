//! The badge images a credential is baked into when its template has no image of its own
//! that we could bake: an SVG medal drawn here (achievement and issuer name on a rosette with
//! ribbons), and for PNG the QR code of the verification page (a badge that scans).
//!
//! Names are user input: every piece of text goes through [`xml_escape`], and names are
//! wrapped and cut to fit the medal, so no input can break out of the document or its layout.

/// Characters per line of the achievement name on the medal, and lines at most.
const NAME_LINE_CHARS: usize = 18;
const NAME_MAX_LINES: usize = 4;
/// Characters of the issuer name at most.
const ISSUER_MAX_CHARS: usize = 30;

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Characters XML 1.0 cannot carry (controls other than tab and newlines) are
            // dropped rather than producing a document no reader accepts.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Cuts `text` to `max` characters, with an ellipsis when something was cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut = cut.trim_end().to_owned();
    cut.push('…');
    cut
}

/// Breaks `text` into at most `max_lines` lines of about `width` characters, at spaces where
/// possible; the last line ends in an ellipsis if the text does not fit.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_owned();
        // A word longer than a line is split hard.
        while word.chars().count() > width {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if needed > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = truncate(&format!("{last} …"), width);
        }
    }
    lines
}

/// An SVG medal showing the achievement `name` and the `issuer` name.
pub fn badge_svg(name: &str, issuer: &str) -> String {
    let lines = wrap(name, NAME_LINE_CHARS, NAME_MAX_LINES);
    let line_height = 30;
    let count = i32::try_from(lines.len()).unwrap_or(1);
    // Centre the block of name lines on the medal, a little above its middle.
    let first_y = 205 - (count - 1) * line_height / 2;
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let y = first_y + i32::try_from(i).unwrap_or(0) * line_height;
        text.push_str(&format!(
            r##"<text x="200" y="{y}" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="25" font-weight="700" fill="#1e293b">{}</text>"##,
            xml_escape(line)
        ));
        text.push('\n');
    }
    let issuer_line = xml_escape(&truncate(issuer.trim(), ISSUER_MAX_CHARS));
    let label = xml_escape(&format!("{} — {}", name.trim(), issuer.trim()));
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="400" height="460" viewBox="0 0 400 460" role="img" aria-label="{label}">
<title>{label}</title>
<defs>
<linearGradient id="rim" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#fbbf24"/><stop offset="1" stop-color="#b45309"/></linearGradient>
<linearGradient id="face" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#ffffff"/><stop offset="1" stop-color="#fef3c7"/></linearGradient>
</defs>
<path d="M128 300 L84 450 L132 424 L160 460 L196 330 Z" fill="#1d4ed8"/>
<path d="M272 300 L316 450 L268 424 L240 460 L204 330 Z" fill="#2563eb"/>
<circle cx="200" cy="200" r="180" fill="url(#rim)"/>
<circle cx="200" cy="200" r="158" fill="url(#face)" stroke="#92400e" stroke-width="3"/>
<circle cx="200" cy="200" r="146" fill="none" stroke="#d97706" stroke-width="1.5" stroke-dasharray="4 6"/>
<path d="M200 70 l9 19 21 3 -15 15 4 21 -19 -10 -19 10 4 -21 -15 -15 21 -3 Z" fill="#d97706"/>
{text}<line x1="130" y1="{rule_y}" x2="270" y2="{rule_y}" stroke="#d97706" stroke-width="2"/>
<text x="200" y="{issuer_y}" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="16" fill="#475569">{issuer_line}</text>
</svg>
"##,
        rule_y = first_y + count * line_height - 12,
        issuer_y = first_y + count * line_height + 16,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_so_markup_cannot_get_in() {
        let svg = badge_svg("<script>alert(1)</script>", "Evil & \"Co\" <img onerror=x>");
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("<img"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("&amp;"));
        assert!(svg.contains("&quot;Co&quot;"));
        assert!(!svg.contains("\"Co\""));
    }

    #[test]
    fn the_badge_is_an_svg_document_that_bakes() {
        let svg = badge_svg("Rust Fundamentals", "Acme Academy");
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("Rust Fundamentals") && svg.contains("Acme Academy"));
        let baked = credentials::bake::bake_svg(&svg, r#"{"id":"urn:uuid:1"}"#).unwrap();
        assert_eq!(credentials::bake::unbake_svg(&baked).unwrap(), r#"{"id":"urn:uuid:1"}"#);
    }

    #[test]
    fn long_names_wrap_and_are_cut() {
        let lines = wrap(
            "Advanced Distributed Systems Engineering with Formal Methods and More Words Still",
            18,
            4,
        );
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|line| line.chars().count() <= 18));
        assert!(lines[3].ends_with('…'));
        let lines = wrap(&"x".repeat(40), 18, 4);
        assert_eq!(lines, vec!["x".repeat(18), "x".repeat(18), "x".repeat(4)]);
        assert_eq!(wrap("Short", 18, 4), vec!["Short"]);
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(xml_escape("a\u{0}b\u{1b}c\nd"), "abc\nd");
    }
}

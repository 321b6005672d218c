//! Text helpers every layer uses: what may reach a terminal, and how times are written.

use time::format_description::well_known::Rfc3339;

/// Remove terminal control sequences and other control characters (except newline and tab),
/// so text from a host or a hand-edited file cannot drive the user's terminal.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI `ESC [ … final` and OSC `ESC ] … BEL|ST`: drop the whole sequence.
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if ('\u{40}'..='\u{7e}').contains(&n) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' || (n == '\u{1b}' && chars.peek() == Some(&'\\')) {
                            break;
                        }
                    }
                }
                _ => {}
            }
        } else if c == '\n' || c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// A host's stderr, for an error message: between divider lines, sanitized, at most 40 lines.
pub fn remote_stderr(stderr: &str) -> String {
    let text = sanitize(stderr.trim());
    if text.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().take(40).collect();
    format!(
        "\n--- remote stderr ---\n{}\n---------------------",
        lines.join("\n")
    )
}

/// A time as RFC 3339, as every document handover prints has it.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Bytes as lowercase hexadecimal (a digest).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

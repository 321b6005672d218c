//! The lines a person typed at a session's terminal (`ttyin`), as the shell saw them once
//! Enter was pressed: backspace and Ctrl-U applied, escape sequences (arrow keys, function
//! keys) left out, Tab shown as `⇥` (the shell completed there), a line given up with Ctrl-C
//! dropped. What a password prompt hid was recorded as `*` by sudo and stays so.

/// The typed lines of `ttyin`, empty ones left out.
pub fn typed_lines(ttyin: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut bytes = ttyin.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' | b'\n' => {
                let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                if !text.is_empty() {
                    lines.push(text);
                }
                line.clear();
            }
            // Backspace takes a whole character (the bytes of one UTF-8 character).
            0x7f | 0x08 => {
                while let Some(last) = line.pop() {
                    if last & 0xc0 != 0x80 {
                        break;
                    }
                }
            }
            0x15 | 0x03 => line.clear(),
            b'\t' => line.extend_from_slice("⇥".as_bytes()),
            0x1b => skip_escape(&mut bytes),
            b if b < 0x20 => {}
            b => line.push(b),
        }
    }
    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
    if !text.is_empty() {
        lines.push(text);
    }
    lines
}

/// After ESC: a CSI sequence (`ESC [ … final`), an SS3 one (`ESC O x`), or one more byte.
fn skip_escape(bytes: &mut std::iter::Peekable<impl Iterator<Item = u8>>) {
    match bytes.next() {
        Some(b'[') => {
            for b in bytes.by_ref() {
                if (0x40..=0x7e).contains(&b) {
                    break;
                }
            }
        }
        Some(b'O') => {
            bytes.next();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_editing_is_applied_and_keys_that_move_are_left_out() {
        let typed =
            typed_lines(b"lss\x7f -la\r\x1b[Acat /etc/pas\t\r\x15oops\x15\rrm -rf x\x03\rexit\r");
        assert_eq!(typed, ["ls -la", "cat /etc/pas⇥", "exit"]);
    }

    #[test]
    fn backspace_removes_a_whole_character() {
        assert_eq!(typed_lines("caf\u{e9}\x7fe\n".as_bytes()), ["cafe"]);
    }

    #[test]
    fn the_samples_shell_session_reads_as_typed() {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/recordings/testdata/sample/io/00/00/02/ttyin");
        let typed = typed_lines(&std::fs::read(sample).expect("the sample's ttyin"));
        assert!(typed.contains(&"ls /etc/hostname".to_owned()), "{typed:?}");
        assert!(typed.contains(&"sudo -i".to_owned()), "{typed:?}");
    }
}

//! `decolorize`: removes ANSI escape sequences (colours, cursor moves,
//! terminal titles) from a line.

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// The line without escape sequences; `None` when it has none, so the
/// caller can keep the borrowed line.
pub(crate) fn strip(line: &[u8]) -> Option<Vec<u8>> {
    let first = line.iter().position(|&b| b == ESC)?;
    let mut out = Vec::with_capacity(line.len());
    out.extend_from_slice(&line[..first]);
    let mut i = first;
    while i < line.len() {
        if line[i] != ESC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        i = skip_sequence(line, i);
    }
    Some(out)
}

/// The index just past the sequence starting with ESC at `start`.
/// An unterminated sequence runs to the end of the line.
fn skip_sequence(line: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    match line.get(i) {
        None => i,
        // CSI: parameters and intermediates, then one final byte.
        Some(b'[') => {
            i += 1;
            while line.get(i).is_some_and(|b| (0x20..=0x3f).contains(b)) {
                i += 1;
            }
            if line.get(i).is_some_and(|b| (0x40..=0x7e).contains(b)) {
                i += 1;
            }
            i
        }
        // OSC (and the other string sequences): up to BEL or ESC \.
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            i += 1;
            while i < line.len() {
                match line[i] {
                    BEL => return i + 1,
                    ESC if line.get(i + 1) == Some(&b'\\') => return i + 2,
                    _ => i += 1,
                }
            }
            i
        }
        // Character-set selection and similar: intermediates, then a
        // final byte.
        Some(0x20..=0x2f) => {
            while line.get(i).is_some_and(|b| (0x20..=0x2f).contains(b)) {
                i += 1;
            }
            if line.get(i).is_some_and(|b| (0x30..=0x7e).contains(b)) {
                i += 1;
            }
            i
        }
        // Two-byte sequences such as ESC 7 or ESC c.
        Some(0x30..=0x7e) => i + 1,
        Some(_) => i,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &[u8]) -> Vec<u8> {
        strip(line).unwrap_or_else(|| line.to_vec())
    }

    #[test]
    fn strips_sequences() {
        assert_eq!(run(b"\x1b[31mred\x1b[0m plain"), b"red plain");
        assert_eq!(run(b"\x1b[1;32;40mbold\x1b[m"), b"bold");
        assert_eq!(run(b"\x1b]0;title\x07text"), b"text");
        assert_eq!(run(b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), b"link");
        assert_eq!(run(b"\x1b(Bx\x1b7y"), b"xy");
        assert_eq!(run(b"no colour"), b"no colour");
        assert_eq!(run(b"cut\x1b[31"), b"cut");
        assert_eq!(run(b"end\x1b"), b"end");
        assert!(strip(b"plain").is_none());
    }
}

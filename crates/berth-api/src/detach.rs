//! Docker's detach keys ("ctrl-p,ctrl-q"): parsing and the escape detector that both the
//! CLI (on its stdin) and the daemon (on an attach's input) run.

/// Docker's default sequence, Ctrl-P Ctrl-Q.
pub const DEFAULT: &[u8] = &[0x10, 0x11];

/// Parses "ctrl-p,ctrl-q", "a,b", "ctrl-@" ... into bytes (moby's term.ToBytes).
pub fn parse(keys: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("Invalid detach keys ({keys}) provided");
    let mut out = Vec::new();
    for key in keys.split(',') {
        let k = key.trim();
        if let Some(rest) = k.strip_prefix("ctrl-") {
            let mut chars = rest.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(bad());
            };
            let code = match c {
                'a'..='z' => c as u8 - b'a' + 1,
                '@' => 0,
                '[' => 27,
                '\\' => 28,
                ']' => 29,
                '^' => 30,
                '_' => 31,
                _ => return Err(bad()),
            };
            out.push(code);
        } else {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() => out.push(c as u8),
                _ => return Err(bad()),
            }
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Finds the detach sequence in a byte stream. Bytes that could start the sequence are
/// held back until it is clear they do not; the sequence itself is never passed on.
#[derive(Debug, Clone)]
pub struct Escape {
    keys: Vec<u8>,
    matched: usize,
}

/// What to do with a chunk of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// Pass these bytes on.
    Pass(Vec<u8>),
    /// The sequence was typed: pass these bytes (those before it), then detach.
    Detach(Vec<u8>),
}

impl Escape {
    pub fn new(keys: Vec<u8>) -> Escape {
        Escape { keys, matched: 0 }
    }

    pub fn scan(&mut self, input: &[u8]) -> Scan {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return Scan::Detach(out);
                }
                continue;
            }
            // Not the sequence after all: what was held back goes through.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
            } else {
                out.push(b);
            }
        }
        Scan::Pass(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_forms() {
        assert_eq!(parse("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse("ctrl-@,a").unwrap(), vec![0, b'a']);
        assert!(parse("ctrl-pp").is_err());
        assert!(parse("foo").is_err());
        assert_eq!(
            parse("ctrl-").unwrap_err(),
            "Invalid detach keys (ctrl-) provided"
        );
    }

    #[test]
    fn detects_split_sequence_and_passes_false_starts() {
        let mut e = Escape::new(DEFAULT.to_vec());
        assert_eq!(e.scan(b"ab\x10"), Scan::Pass(b"ab".to_vec()));
        assert_eq!(e.scan(b"x"), Scan::Pass(b"\x10x".to_vec()));
        assert_eq!(e.scan(b"\x10"), Scan::Pass(vec![]));
        assert_eq!(e.scan(b"\x11rest"), Scan::Detach(vec![]));
        let mut e = Escape::new(DEFAULT.to_vec());
        assert_eq!(e.scan(b"\x10\x10\x11"), Scan::Detach(b"\x10".to_vec()));
    }
}

//! Reading YAML text into a tree whose plain scalars resolve as compose-go's YAML parser
//! (yaml.v3) resolves them. serde_norway follows YAML 1.2's core schema, so a plain `0440`,
//! `1_000`, `0888` or `0X1F` stays a string there, where yaml.v3 reads a number: it drops
//! every `_`, then tries Go's `ParseInt`/`ParseUint` with base 0 (a leading `0` is octal,
//! `0x`/`0o`/`0b` in either case), then its float pattern. Quoted scalars stay strings in
//! both. `docker compose config` prints what yaml.v3 read (`environment: {A: 0440}` gives
//! `"288"`, and `--no-interpolate` keeps a quoted `mode: "0440"` as `"0440"`), so berth has
//! to tell a plain scalar from a quoted one.
//!
//! serde does not pass a scalar's style to a visitor, but serde_norway hands plain and
//! (escape-free) quoted scalars borrowed from the input text: the bytes around a borrowed
//! scalar say whether quotes enclose it.

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess};
use serde::de::{VariantAccess, Visitor};
use serde_norway::value::{Tag, TaggedValue};
use serde_norway::{Mapping, Number, Value};
use std::fmt;

/// Parses one YAML document (as `serde_norway::from_str` does) with yaml.v3's resolution of
/// plain numbers.
pub fn from_str(text: &str) -> Result<Value, serde_norway::Error> {
    Seed { text }.deserialize(serde_norway::Deserializer::from_str(text))
}

#[derive(Clone, Copy)]
struct Seed<'t> {
    text: &'t str,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Seed<'_> {
    /// True when `s` lies in the input text with no quote right before or after it: a plain
    /// scalar (an escape-free quoted one sits between its quotes; one with escapes ends at its
    /// closing quote). A tag in front (`!!str`, `!override`) keeps the scalar a string, as
    /// yaml.v3 resolves only untagged scalars this way.
    fn is_plain(&self, s: &str) -> bool {
        let base = self.text.as_ptr() as usize;
        let at = s.as_ptr() as usize;
        if at < base || at - base + s.len() > self.text.len() {
            return false;
        }
        let start = at - base;
        let bytes = self.text.as_bytes();
        let quote = |b: Option<&u8>| matches!(b, Some(b'"') | Some(b'\''));
        if quote(start.checked_sub(1).and_then(|i| bytes.get(i)))
            || quote(bytes.get(start + s.len()))
        {
            return false;
        }
        let before = self.text[..start].trim_end_matches([' ', '\t']);
        let token = before
            .rsplit([' ', '\t', '\n', '\r', '[', '{', ','])
            .next()
            .unwrap_or("");
        !token.starts_with('!')
    }
}

/// yaml.v3's resolution of a plain scalar that starts with a digit or a sign: an integer
/// (Go's ParseInt, then ParseUint, base 0) or a float (its pattern, then ParseFloat), after
/// dropping every `_`. Dates (`2001-12-14`) are left alone here.
pub fn resolve_plain_number(s: &str) -> Option<Number> {
    let first = *s.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(i.into());
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(u.into());
    }
    if yaml_style_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            if f.is_finite() {
                return Some(f.into());
            }
        }
    }
    None
}

/// Go's `strconv.ParseUint(s, 0, 64)` (with no `_` in `s`).
fn go_parse_uint(s: &str) -> Option<u64> {
    let (digits, radix) = match s.as_bytes() {
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'x') => (&s[2..], 16),
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'o') => (&s[2..], 8),
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'b') => (&s[2..], 2),
        [b'0', ..] => (&s[1..], 8),
        [] => return None,
        _ => (s, 10),
    };
    if digits.is_empty() {
        // "0" alone: base 8 with nothing left, which Go reads as 0.
        return (s == "0").then_some(0);
    }
    if !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`: an optional sign, then ParseUint's syntax.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// yaml.v3's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-') | Some(b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-') | Some(b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// serde_norway's message for a repeated key (its `Mapping` visitor's).
fn duplicate_key(k: &Value) -> String {
    match k {
        Value::Null => "duplicate entry with null key".into(),
        Value::Bool(b) => format!("duplicate entry with key `{b}`"),
        Value::Number(n) => format!("duplicate entry with key {n}"),
        Value::String(s) => format!("duplicate entry with key {s:?}"),
        _ => "duplicate entry in YAML map".into(),
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(f.into()))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Value, E> {
        if self.is_plain(s) {
            if let Some(n) = resolve_plain_number(s) {
                return Ok(Value::Number(n));
            }
        }
        Ok(Value::String(s.to_owned()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = a.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Sequence(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut m = Mapping::new();
        while let Some(k) = a.next_key_seed(self)? {
            if m.contains_key(&k) {
                return Err(de::Error::custom(duplicate_key(&k)));
            }
            let v = a.next_value_seed(self)?;
            m.insert(k, v);
        }
        Ok(Value::Mapping(m))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<Value, A::Error> {
        // A tagged node (`!reset`, `!override`): serde_norway's Value reads it the same way.
        let (tag, contents): (String, _) = a.variant()?;
        if tag.is_empty() {
            return Err(de::Error::custom("empty YAML tag is not allowed"));
        }
        let value = contents.newtype_variant_seed(self)?;
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> Vec<(String, Value)> {
        let v = from_str(text).unwrap();
        v.as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn plain_scalars_resolve_as_yaml_v3_reads_them() {
        let got = env(
            "a: 0440\nb: 1_000\nc: 0888\nd: 0X1F\ne: 0o17\nf: +0440\ng: -0440\n\
             h: 0b101\ni: 1_0.5\nj: 00\nk: 12\nl: 0x\nm: 1e400\nn: 2001-12-14\no: 8080:80\n\
             p: +\nq: 0B1_1\nr: 18446744073709551615\n",
        );
        let want: Vec<(&str, Value)> = vec![
            ("a", 288.into()),
            ("b", 1000.into()),
            ("c", 888.0.into()),
            ("d", 31.into()),
            ("e", 15.into()),
            ("f", 288.into()),
            ("g", (-288).into()),
            ("h", 5.into()),
            ("i", 10.5.into()),
            ("j", 0.into()),
            ("k", 12.into()),
            ("l", "0x".into()),
            ("m", "1e400".into()),
            ("n", "2001-12-14".into()),
            ("o", "8080:80".into()),
            ("p", "+".into()),
            ("q", 3.into()),
            ("r", u64::MAX.into()),
        ];
        let want: Vec<(String, Value)> = want.into_iter().map(|(k, v)| (k.into(), v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn quoted_and_tagged_scalars_stay_strings() {
        let got = env(
            "a: \"0440\"\nb: '0440'\nc: \"\\x30440\"\nd: !!str 0440\ne: [0440, \"0440\"]\n\
             f: |\n  0440\ng: &x 0440\nh: *x\n",
        );
        assert_eq!(got[0].1, Value::from("0440"));
        assert_eq!(got[1].1, Value::from("0440"));
        assert_eq!(got[2].1, Value::from("0440"));
        assert_eq!(got[3].1, Value::from("0440"));
        assert_eq!(
            got[4].1,
            Value::Sequence(vec![288.into(), Value::from("0440")])
        );
        assert_eq!(got[5].1, Value::from("0440\n"));
        assert_eq!(got[6].1, Value::from(288));
        assert_eq!(got[7].1, Value::from(288));
    }

    #[test]
    fn tags_and_duplicates_read_as_serde_norway_reads_them() {
        let v = from_str("a: !reset 0440\nb: !override [1]\n").unwrap();
        let plain: Value = serde_norway::from_str("a: !reset '0440'\nb: !override [1]\n").unwrap();
        assert_eq!(v, plain);
        let e = from_str("a: 1\na: 2\n").unwrap_err().to_string();
        let want = serde_norway::from_str::<Value>("a: 1\na: 2\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, want);
    }
}

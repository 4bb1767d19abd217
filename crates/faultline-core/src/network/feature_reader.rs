//! A GeoJSON `FeatureCollection` read from a stream one feature at a time.
//!
//! serde_json parses text in memory several times faster than through a reader: its
//! reader path takes the input one byte at a time. A network file is one object whose
//! `features` array holds nearly all of it, so this reader keeps a window of the input
//! in memory and lets serde_json parse each feature in place, as a slice, asking it
//! where the feature ended. A feature cut by the end of the window is parsed again once
//! the window holds the rest. The speed of the in-memory parse, with about a
//! megabyte of the file's text in memory at a time.
//!
//! A feature with a number JSON does not have (`NaN`, `Infinity`, `-Infinity`, or one
//! too large for a double, such as Python's `json.dumps` writes) is read again with
//! those values as `null`, and handed on with them listed, so that the loader refuses
//! it by its id instead of refusing the whole file at a byte offset.

use std::io::Read;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

/// How much of the input is read at a time.
pub(super) const CHUNK: usize = 1 << 20;

/// The members of a `FeatureCollection` besides its features; others are skipped.
pub(super) struct Collection {
    /// Its `type` member, if it has one.
    pub kind: Option<String>,
    pub metadata: Value,
}

/// Read a collection whose features deserialize as `F`, handing each to `each` with
/// its place in the array as soon as it is read, and the values in it that are not
/// JSON numbers (read as `null`; see the module docs), nearly always none. The error
/// names the feature or the byte where the text stops being JSON. The input is read
/// `chunk` bytes at a time ([`CHUNK`] but in tests).
pub(super) fn read_collection<F: DeserializeOwned>(
    input: impl Read,
    chunk: usize,
    mut each: impl FnMut(usize, F, &[String]),
) -> Result<Collection, String> {
    let mut s = Window {
        input,
        buf: Vec::with_capacity(chunk),
        chunk,
        pos: 0,
        offset: 0,
        at_end: false,
    };
    let mut out = Collection {
        kind: None,
        metadata: Value::Null,
    };
    s.expect(b'{')?;
    if s.next_is(b'}')? {
        s.end()?;
        return Ok(out);
    }
    loop {
        let key: String = s.value("a member name")?;
        s.expect(b':')?;
        match key.as_str() {
            "features" => s.features(&mut each)?,
            "type" => out.kind = Some(s.value("the collection's type")?),
            "metadata" => out.metadata = s.value("the collection's metadata")?,
            _ => {
                s.value::<IgnoredAny>("a member's value")?;
            }
        }
        if !s.comma_or(b'}')? {
            break;
        }
    }
    s.end()?;
    Ok(out)
}

/// The part of the input in memory.
struct Window<R> {
    input: R,
    buf: Vec<u8>,
    /// How much to read at least when more is needed.
    chunk: usize,
    /// The next byte to read in `buf`.
    pos: usize,
    /// Where `buf` starts in the input, for error messages.
    offset: u64,
    /// The input has no more bytes than `buf` holds.
    at_end: bool,
}

impl<R: Read> Window<R> {
    /// Read more of the input, keeping what is not consumed yet; `false` at its end.
    fn more(&mut self) -> Result<bool, String> {
        if self.at_end {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.offset += self.pos as u64;
            self.pos = 0;
        }
        // At least a chunk, and as much again as is held: a value longer than the
        // window is read again only a few times, not once per chunk.
        let want = self.chunk.max(self.buf.len());
        let have = self.buf.len();
        self.buf.resize(have + want, 0);
        let mut got = 0;
        while got < want {
            match self.input.read(&mut self.buf[have + got..]) {
                Ok(0) => {
                    self.at_end = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(format!(
                        "reading at byte {}: {e}",
                        self.offset + (have + got) as u64
                    ))
                }
            }
        }
        self.buf.truncate(have + got);
        Ok(got > 0)
    }

    /// Where the next byte is in the input.
    fn here(&self) -> u64 {
        self.offset + self.pos as u64
    }

    /// The next byte that is not white space, not consumed; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, String> {
        loop {
            if let Some(i) = self.buf[self.pos..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
            {
                self.pos += i;
                return Ok(Some(self.buf[self.pos]));
            }
            self.pos = self.buf.len();
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    fn unexpected(&self, found: Option<u8>, wanted: &str) -> String {
        match found {
            Some(b) => format!(
                "expected {wanted} at byte {}, found {:?}",
                self.here(),
                char::from(b)
            ),
            None => format!("expected {wanted} at byte {}, found the end", self.here()),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek()? {
            Some(b) if b == c => {
                self.pos += 1;
                Ok(())
            }
            other => Err(self.unexpected(other, &format!("{:?}", char::from(c)))),
        }
    }

    /// Consume `c` if it comes next.
    fn next_is(&mut self, c: u8) -> Result<bool, String> {
        let is = self.peek()? == Some(c);
        if is {
            self.pos += 1;
        }
        Ok(is)
    }

    /// After a member or an element: `true` on a comma (more follow), `false` on the
    /// closing byte `close`.
    fn comma_or(&mut self, close: u8) -> Result<bool, String> {
        match self.peek()? {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            other => Err(self.unexpected(other, &format!("',' or {:?}", char::from(close)))),
        }
    }

    /// Nothing but white space is left.
    fn end(&mut self) -> Result<(), String> {
        match self.peek()? {
            None => Ok(()),
            other => Err(self.unexpected(other, "the end of the file")),
        }
    }

    /// Parse the next JSON value in place; `what` names it in an error.
    fn value<T: DeserializeOwned>(&mut self, what: &str) -> Result<T, String> {
        self.parse(|e, start| format!("{what} (at byte {start}): {e}"))
    }

    /// Parse the next value, reading more of the input while it runs past the window.
    /// `describe` words an error from serde_json and where the value starts.
    fn parse<T: DeserializeOwned>(
        &mut self,
        describe: impl Fn(serde_json::Error, u64) -> String,
    ) -> Result<T, String> {
        if self.peek()?.is_none() {
            return Err(self.unexpected(None, "a value"));
        }
        loop {
            let mut values =
                serde_json::Deserializer::from_slice(&self.buf[self.pos..]).into_iter::<T>();
            let parsed = values.next();
            let used = values.byte_offset();
            // A value that ends where the window ends may go on past it (a number).
            let cut = self.pos + used == self.buf.len() && !self.at_end;
            match parsed {
                Some(Ok(v)) if !cut => {
                    self.pos += used;
                    return Ok(v);
                }
                // An error before the end of the window is the text's own: the parser
                // never looked past it.
                Some(Err(e)) if !e.is_eof() && !at_the_end(&self.buf[self.pos..], &e) => {
                    return Err(describe(e, self.here()));
                }
                _ => {
                    if !self.more()? {
                        return match parsed {
                            Some(Ok(v)) => {
                                self.pos += used;
                                Ok(v)
                            }
                            Some(Err(e)) if !e.is_eof() => Err(describe(e, self.here())),
                            _ => Err(format!(
                                "the value that starts at byte {} is cut short by the end of the file",
                                self.here()
                            )),
                        };
                    }
                }
            }
        }
    }

    /// The `features` array, each element parsed and handed on as it is found.
    fn features<F: DeserializeOwned>(
        &mut self,
        each: &mut impl FnMut(usize, F, &[String]),
    ) -> Result<(), String> {
        self.expect(b'[')?;
        if self.next_is(b']')? {
            return Ok(());
        }
        for n in 0.. {
            let parsed = self.parse(|e, start| {
                format!(
                    "feature {n} (counting from 0), which starts at byte {start} of the file: {e} of the feature"
                )
            });
            match parsed {
                Ok(feature) => each(n, feature, &[]),
                Err(e) => match self.with_non_numbers_as_null()? {
                    Some((feature, odd)) => each(n, feature, &odd),
                    None => return Err(e),
                },
            }
            if !self.comma_or(b']')? {
                break;
            }
        }
        Ok(())
    }

    /// The value at `pos` read again with every non-number (see the module docs) as
    /// `null`, and those values as written; `None` when it has none, or is still not
    /// JSON with them replaced (the caller's first error stands).
    fn with_non_numbers_as_null<T: DeserializeOwned>(
        &mut self,
    ) -> Result<Option<(T, Vec<String>)>, String> {
        loop {
            match rewrite_non_numbers(&self.buf[self.pos..]) {
                Rewrite::Done { text, used, odd } => {
                    if odd.is_empty() {
                        return Ok(None);
                    }
                    return Ok(match serde_json::from_slice(&text) {
                        Ok(v) => {
                            self.pos += used;
                            Some((v, odd))
                        }
                        Err(_) => None,
                    });
                }
                Rewrite::NotAValue => return Ok(None),
                Rewrite::CutShort => {
                    if !self.more()? {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

/// What [`rewrite_non_numbers`] made of the start of a text.
enum Rewrite {
    /// The first value, `used` bytes long, as `text` with its non-numbers (`odd`, as
    /// written) replaced by `null`.
    Done {
        text: Vec<u8>,
        used: usize,
        odd: Vec<String>,
    },
    /// The text does not start with an object or an array.
    NotAValue,
    /// The value goes on past the end of the text.
    CutShort,
}

/// Copy the object or array at the start of `text`, replacing each bare word that is
/// `NaN` or `Infinity` (signed or not), and each number too large for a double, by
/// `null`. Strings are copied as they are; anything else is left for serde_json to judge.
fn rewrite_non_numbers(text: &[u8]) -> Rewrite {
    if !matches!(text.first(), Some(b'{' | b'[')) {
        return Rewrite::NotAValue;
    }
    let mut out = Vec::with_capacity(text.len().min(1 << 16));
    let mut odd = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match b {
            b'"' => {
                // Copy the string through its closing quote.
                let mut j = i + 1;
                while j < text.len() && text[j] != b'"' {
                    j += if text[j] == b'\\' { 2 } else { 1 };
                }
                if j >= text.len() {
                    return Rewrite::CutShort;
                }
                out.extend_from_slice(&text[i..=j]);
                i = j + 1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    out.push(b);
                    return Rewrite::Done {
                        text: out,
                        used: i + 1,
                        odd,
                    };
                }
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => {
                let end = text[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || b"+-.".contains(c)))
                    .map_or(text.len(), |k| i + k);
                if end == text.len() {
                    return Rewrite::CutShort;
                }
                let word = &text[i..end];
                if is_non_number(word) {
                    odd.push(String::from_utf8_lossy(word).into_owned());
                    out.extend_from_slice(b"null");
                } else {
                    out.extend_from_slice(word);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    Rewrite::CutShort
}

/// `NaN`, `Infinity` and their signed forms, and numbers beyond a double's range.
fn is_non_number(word: &[u8]) -> bool {
    let bare = word
        .strip_prefix(b"-")
        .or_else(|| word.strip_prefix(b"+"))
        .unwrap_or(word);
    if bare.eq_ignore_ascii_case(b"nan")
        || bare.eq_ignore_ascii_case(b"infinity")
        || bare.eq_ignore_ascii_case(b"inf")
    {
        return true;
    }
    word.first()
        .is_some_and(|c| c.is_ascii_digit() || *c == b'-')
        && std::str::from_utf8(word)
            .ok()
            .and_then(|w| w.parse::<f64>().ok())
            .is_some_and(|x| x.is_infinite())
}

/// Whether serde_json's error `e` on `text` points at its last byte or past it (where
/// a value cut by the end of the window fails, a number say).
fn at_the_end(text: &[u8], e: &serde_json::Error) -> bool {
    // serde_json counts lines from 1 and, on a line, bytes from 1.
    let line_start = if e.line() <= 1 {
        0
    } else {
        match text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(e.line() - 2)
        {
            Some((i, _)) => i + 1,
            None => return true,
        }
    };
    line_start + e.column() >= text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The collection, and its features in the order they were handed on.
    fn read(text: &str, chunk: usize) -> Result<(Collection, Vec<Value>), String> {
        let mut features = Vec::new();
        let c = read_collection(text.as_bytes(), chunk, |i, f, odd: &[String]| {
            assert_eq!(i, features.len());
            assert!(odd.is_empty(), "{odd:?}");
            features.push(f);
        })?;
        Ok((c, features))
    }

    #[test]
    fn features_come_out_as_serde_json_reads_them_whatever_the_buffer_size() {
        let text = r#" {"type" : "FeatureCollection", "name": "x \"quoted\" \\",
            "crs": {"a": [1, {"b": "}]"}]}, "metadata": {"k": [true, null, -1.5e3]},
            "features": [ {"type":"Feature","properties":{"id":"a\"b}","n":[1,[2,3]]},
              "geometry":{"type":"Point","coordinates":[116.1,39.2]}},
              {"type":"Feature","properties":{"id":"\u00e9\\"},"geometry":null} ,
              "a string", 42, -0.5e-3, true, null, [], 123456789 ],
            "version": -12345.678e-2 }
        "#;
        let whole: Value = serde_json::from_str(text).unwrap();
        for buffer in [1, 2, 3, 7, 64, 1 << 16] {
            let (c, features) = read(text, buffer).unwrap();
            assert_eq!(c.kind.as_deref(), Some("FeatureCollection"));
            assert_eq!(c.metadata, whole["metadata"], "buffer {buffer}");
            assert_eq!(Value::Array(features), whole["features"], "buffer {buffer}");
        }
    }

    #[test]
    fn an_empty_collection_and_one_without_features_read_as_empty() {
        for text in [
            "{}",
            r#"{"type":"FeatureCollection"}"#,
            r#"{"features":[]}"#,
        ] {
            let (_, features) = read(text, 4).unwrap();
            assert!(features.is_empty(), "{text}");
        }
    }

    /// See: #19. Python's `json.dumps` writes NaN and Infinity; the feature is still
    /// read (those values as null) so that the loader can name it by its id.
    #[test]
    fn nan_and_infinity_are_read_as_null_and_handed_on_with_their_feature() {
        let text = r#"{"type":"FeatureCollection","features":[{"a":1},
            {"properties":{"id":"P-9","note":"NaN ]"},"coordinates":[NaN, -Infinity,1e999, 2.5]},
            {"b":[true,null]}]}"#;
        for buffer in [1, 3, 64, 1 << 16] {
            let mut seen = Vec::new();
            read_collection(text.as_bytes(), buffer, |i, f: Value, odd: &[String]| {
                seen.push((i, f, odd.to_vec()));
            })
            .unwrap();
            assert_eq!(seen.len(), 3, "buffer {buffer}");
            assert_eq!(
                seen[1].1,
                serde_json::json!({"properties":{"id":"P-9","note":"NaN ]"},"coordinates":[null,null,null,2.5]}),
                "buffer {buffer}"
            );
            assert_eq!(seen[1].2, ["NaN", "-Infinity", "1e999"], "buffer {buffer}");
            assert!(seen[0].2.is_empty() && seen[2].2.is_empty());
        }
    }

    #[test]
    fn broken_text_is_refused_naming_the_feature_or_the_byte() {
        let bad_feature = r#"{"type":"FeatureCollection","features":[{"a":1},{"a":tru},{}]}"#;
        let e = read(bad_feature, 8).err().unwrap();
        assert!(
            e.starts_with("feature 1 (counting from 0), which starts at byte 48 of the file: "),
            "{e}"
        );
        assert!(e.ends_with("column 9 of the feature"), "{e}");
        let cut = r#"{"type":"FeatureCollection","features":[{"a":"#;
        let e = read(cut, 8).err().unwrap();
        assert!(e.contains("cut short by the end of the file"), "{e}");
        let no_comma = r#"{"type":"FeatureCollection" "features":[]}"#;
        let e = read(no_comma, 8).err().unwrap();
        assert!(e.contains("expected ',' or '}' at byte 28"), "{e}");
        let trailing = r#"{"features":[]} x"#;
        let e = read(trailing, 8).err().unwrap();
        assert!(e.contains("the end of the file"), "{e}");
        assert!(read("[]", 8).is_err());
        assert!(read("", 8).is_err());
    }
}

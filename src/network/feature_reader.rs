//! A GeoJSON `FeatureCollection` read from a stream one feature at a time.
//!
//! serde_json parses text in memory several times faster than through a reader: its
//! reader path takes the input one byte at a time. A network file is one object whose
//! `features` array holds nearly all of it, so this reader finds where each feature
//! ends in the buffered input (strings, escapes and nesting followed byte by byte),
//! copies that one feature to a reusable buffer and lets serde_json parse the slice.
//! The speed of the in-memory parse, with one feature's text in memory at a time.

use std::io::BufRead;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The members of a `FeatureCollection` besides its features; others are skipped.
pub(super) struct Collection {
    /// Its `type` member, if it has one.
    pub kind: Option<String>,
    pub metadata: Value,
}

/// Read a collection whose features deserialize as `F`, handing each to `each` with
/// its place in the array as soon as it is read. The error names the feature or the
/// byte where the text stops being JSON.
pub(super) fn read_collection<F: DeserializeOwned>(
    input: impl BufRead,
    mut each: impl FnMut(usize, F),
) -> Result<Collection, String> {
    let mut s = Scanner {
        input,
        offset: 0,
        text: Vec::new(),
        start: 0,
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
        s.value()?;
        let key: String = s.parse("a member name")?;
        s.expect(b':')?;
        match key.as_str() {
            "features" => s.features(&mut each)?,
            "type" => {
                s.value()?;
                out.kind = Some(s.parse("the collection's type")?);
            }
            "metadata" => {
                s.value()?;
                out.metadata = s.parse("the collection's metadata")?;
            }
            _ => s.value()?,
        }
        if !s.comma_or(b'}')? {
            break;
        }
    }
    s.end()?;
    Ok(out)
}

struct Scanner<R> {
    input: R,
    /// Bytes consumed so far, for error messages.
    offset: u64,
    /// The text of the last value read.
    text: Vec<u8>,
    /// Where in the input it starts.
    start: u64,
}

impl<R: BufRead> Scanner<R> {
    fn fill(&mut self) -> Result<&[u8], String> {
        self.input
            .fill_buf()
            .map_err(|e| format!("reading at byte {}: {e}", self.offset))
    }

    fn consume(&mut self, n: usize) {
        self.input.consume(n);
        self.offset += n as u64;
    }

    /// The next byte that is not white space, not consumed; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, String> {
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf[i];
                    self.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    fn unexpected(&self, found: Option<u8>, wanted: &str) -> String {
        match found {
            Some(b) => format!(
                "expected {wanted} at byte {}, found {:?}",
                self.offset,
                char::from(b)
            ),
            None => format!("expected {wanted} at byte {}, found the end", self.offset),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek()? {
            Some(b) if b == c => {
                self.consume(1);
                Ok(())
            }
            other => Err(self.unexpected(other, &format!("{:?}", char::from(c)))),
        }
    }

    /// Consume `c` if it comes next.
    fn next_is(&mut self, c: u8) -> Result<bool, String> {
        let is = self.peek()? == Some(c);
        if is {
            self.consume(1);
        }
        Ok(is)
    }

    /// After a member or an element: `true` on a comma (more follow), `false` on the
    /// closing byte `close`.
    fn comma_or(&mut self, close: u8) -> Result<bool, String> {
        match self.peek()? {
            Some(b',') => {
                self.consume(1);
                Ok(true)
            }
            Some(b) if b == close => {
                self.consume(1);
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

    /// Copy the next JSON value's text into `self.text`. Its syntax inside is left to
    /// serde_json: this only finds where it ends.
    fn value(&mut self) -> Result<(), String> {
        self.text.clear();
        let Some(first) = self.peek()? else {
            return Err(self.unexpected(None, "a value"));
        };
        self.start = self.offset;
        // A number, `true`, `false` or `null` ends at the first byte that cannot be
        // part of it; a string, an object or an array at its closing byte.
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let buf = self.input.fill_buf().map_err(|e| e.to_string())?;
            if buf.is_empty() {
                if scalar && !self.text.is_empty() {
                    return Ok(());
                }
                return Err(format!(
                    "the value that starts at byte {} is cut short by the end of the file",
                    self.start
                ));
            }
            let mut end = None;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                i += 1;
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    } else {
                        // Most of a network file is inside strings (ids): skip to
                        // the next quote or backslash eight bytes at a time.
                        i += quiet_run(&buf[i..]);
                    }
                    continue;
                }
                match b {
                    b'"' => {
                        in_string = true;
                        i += quiet_run(&buf[i..]);
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 0 => {
                        end = Some(i - 1);
                        break;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        end = Some(i - 1);
                        break;
                    }
                    b if depth == 0 && b.is_ascii_whitespace() => {
                        end = Some(i - 1);
                        break;
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(buf.len());
            self.text.extend_from_slice(&buf[..take]);
            self.consume(take);
            if end.is_some() {
                return Ok(());
            }
        }
    }

    /// Parse the last value read.
    fn parse<T: DeserializeOwned>(&self, what: &str) -> Result<T, String> {
        serde_json::from_slice(&self.text)
            .map_err(|e| format!("{what} (at byte {}): {e}", self.start))
    }

    /// The `features` array, each element parsed and handed on as it is found.
    fn features<F: DeserializeOwned>(
        &mut self,
        each: &mut impl FnMut(usize, F),
    ) -> Result<(), String> {
        self.expect(b'[')?;
        if self.next_is(b']')? {
            return Ok(());
        }
        for n in 0.. {
            self.value()?;
            let feature = serde_json::from_slice(&self.text).map_err(|e| {
                format!(
                    "feature {n} (counting from 0), which starts at byte {} of the file: {e} of the feature",
                    self.start
                )
            })?;
            each(n, feature);
            if !self.comma_or(b']')? {
                break;
            }
        }
        Ok(())
    }
}

/// How many bytes at the start of `bytes` are neither `"` nor `\\`, counted whole
/// eight-byte words at a time (the rest is left to the byte loop).
fn quiet_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let word = u64::from_ne_bytes(chunk.try_into().expect("eight bytes"));
        if has(word, b'"') || has(word, b'\\') {
            break;
        }
        n += 8;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The collection, and its features in the order they were handed on.
    fn read(text: &str, buffer: usize) -> Result<(Collection, Vec<Value>), String> {
        let mut features = Vec::new();
        let input = std::io::BufReader::with_capacity(buffer, text.as_bytes());
        let c = read_collection(input, |i, f| {
            assert_eq!(i, features.len());
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
              "a string", 42, -0.5e-3, true, null, [] ] }
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
    fn quiet_runs_stop_before_the_word_holding_a_quote_or_a_backslash() {
        assert_eq!(quiet_run(b"abcdefghijklmnop\""), 16);
        assert_eq!(quiet_run(b"abcdefghijklmno\"p"), 8);
        assert_eq!(quiet_run(b"abc\\defghijklmnop"), 0);
        assert_eq!(quiet_run(b"abcdefg"), 0);
        // Bytes above 0x7f (UTF-8) are quiet too.
        assert_eq!(quiet_run("éééééééé\"".as_bytes()), 16);
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

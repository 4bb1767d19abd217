//! The OpenDSS script lexer: text in, commands (lists of parameters) out.
//!
//! Owns the syntax only: `!` and `//` comments, `/* … */` blocks, `~` / `More`
//! continuation lines, whitespace and commas as separators, `key=value` (spaces allowed
//! around `=`), positional values, and values grouped by `"…"`, `'…'`, `(…)`, `[…]`,
//! `{…}`. It knows no command and no class: `dss_script` gives them meaning.
//!
//! Invariant: every [`Command`] carries the line it starts on, and every syntax error
//! names the file and line where it occurs, so a user can fix the script.

use std::sync::Arc;

use crate::import::{ImportError, SourceLocation};

/// One parameter of a command: `name=value` or a positional `value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    /// The name, lower case, when written `name=value`.
    pub name: Option<String>,
    /// The value as written, without its enclosing quotes or brackets.
    pub value: String,
}

/// One command, continuation lines included. The first parameter is the verb (`New`,
/// `Redirect`, …) or, for the `Class.name.property=value` form, a named parameter.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    /// Where the command starts.
    pub at: SourceLocation,
    /// Its parameters, in order; never empty.
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Group(String),
    Equals,
}

/// Splits a script into commands.
pub(crate) fn commands(text: &str, file: &Arc<str>) -> Result<Vec<Command>, ImportError> {
    let mut out: Vec<Command> = Vec::new();
    let mut in_block_comment = false;
    for (index, raw) in text.lines().enumerate() {
        let at = SourceLocation {
            file: file.clone(),
            line: index + 1,
        };
        let mut line = raw;
        if in_block_comment {
            match line.find("*/") {
                Some(end) => {
                    in_block_comment = false;
                    line = &line[end + 2..];
                }
                None => continue,
            }
        }
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("/*") {
            match rest.find("*/") {
                Some(end) => line = &rest[end + 2..],
                None => {
                    in_block_comment = true;
                    continue;
                }
            }
        }
        let code = strip_comment(line).trim();
        if code.is_empty() {
            continue;
        }
        let (is_continuation, rest) = split_continuation(code);
        let params = params_of(tokens(rest, &at)?);
        if is_continuation {
            match out.last_mut() {
                Some(command) => command.params.extend(params),
                None => {
                    return Err(ImportError::Syntax {
                        at,
                        message: "continuation line (`~` or `More`) with no command before it"
                            .into(),
                    })
                }
            }
        } else if !params.is_empty() {
            out.push(Command { at, params });
        }
    }
    Ok(out)
}

/// Cuts a line at the first `!` or `//` outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous_slash = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '!' => return &line[..i],
                '/' if previous_slash => return &line[..i - 1],
                _ => {}
            },
        }
        previous_slash = c == '/' && quote.is_none();
    }
    line
}

/// `~ rest` and `More rest` continue the previous command.
fn split_continuation(code: &str) -> (bool, &str) {
    if let Some(rest) = code.strip_prefix('~') {
        return (true, rest);
    }
    let word_end = code.find(char::is_whitespace).unwrap_or(code.len());
    let word = &code[..word_end];
    if word.eq_ignore_ascii_case("more") || word.eq_ignore_ascii_case("m") {
        return (true, &code[word_end..]);
    }
    (false, code)
}

fn closer_of(open: char) -> Option<char> {
    match open {
        '(' => Some(')'),
        '[' => Some(']'),
        '{' => Some('}'),
        '"' => Some('"'),
        '\'' => Some('\''),
        _ => None,
    }
}

fn tokens(text: &str, at: &SourceLocation) -> Result<Vec<Token>, ImportError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
        } else if c == '=' {
            out.push(Token::Equals);
            i += 1;
        } else if let Some(close) = closer_of(c) {
            let mut depth = 0usize;
            let mut end = None;
            for (j, &d) in chars.iter().enumerate().skip(i + 1) {
                if d == close && depth == 0 {
                    end = Some(j);
                    break;
                }
                if close != c {
                    if d == c {
                        depth += 1;
                    } else if d == close {
                        depth -= 1;
                    }
                }
            }
            let Some(end) = end else {
                return Err(ImportError::Syntax {
                    at: at.clone(),
                    message: format!("unterminated `{c}`: no matching `{close}` on this line"),
                });
            };
            out.push(Token::Group(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ',' && chars[i] != '='
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        }
    }
    Ok(out)
}

fn params_of(tokens: Vec<Token>) -> Vec<Param> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (&tokens[i], tokens.get(i + 1)) {
            (Token::Word(name), Some(Token::Equals)) => {
                let (value, used) = match tokens.get(i + 2) {
                    Some(Token::Word(v)) | Some(Token::Group(v)) => (v.clone(), 3),
                    _ => (String::new(), 2),
                };
                out.push(Param {
                    name: Some(name.to_ascii_lowercase()),
                    value,
                });
                i += used;
            }
            (Token::Word(v), _) | (Token::Group(v), _) => {
                out.push(Param {
                    name: None,
                    value: v.clone(),
                });
                i += 1;
            }
            (Token::Equals, _) => i += 1,
        }
    }
    out
}

/// The items of an array value: `[a b]`, `(a, b)`, `"a b"`, `a|b` (matrices).
pub(crate) fn array(value: &str) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',' || c == '|')
        .map(|item| {
            item.trim_matches(|c| matches!(c, '"' | '\'' | '(' | ')' | '[' | ']' | '{' | '}'))
        })
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// A number, or an in-line RPN expression such as `(8 1000 /)`.
pub(crate) fn number(value: &str) -> Option<f64> {
    let value = value.trim();
    if let Ok(n) = value.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let mut stack: Vec<f64> = Vec::new();
    for word in array(value) {
        if let Ok(n) = word.parse::<f64>() {
            stack.push(n);
            continue;
        }
        let op = word.to_ascii_lowercase();
        let result = match op.as_str() {
            "sqr" | "sqrt" => {
                let a = stack.pop()?;
                if op == "sqr" {
                    a * a
                } else {
                    a.sqrt()
                }
            }
            "+" | "-" | "*" | "/" | "^" => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                match op.as_str() {
                    "+" => a + b,
                    "-" => a - b,
                    "*" => a * b,
                    "/" => a / b,
                    _ => a.powf(b),
                }
            }
            _ => return None,
        };
        stack.push(result);
    }
    match stack.as_slice() {
        [n] if n.is_finite() => Some(*n),
        _ => None,
    }
}

/// OpenDSS booleans: `yes`, `y`, `true`, `t`, `1` (any case) are true.
pub(crate) fn yes(value: &str) -> bool {
    matches!(
        value.trim().chars().next().map(|c| c.to_ascii_lowercase()),
        Some('y' | 't' | '1')
    )
}

/// A bus reference without its node (phase) suffix, lower case: `RG60.1.2.3` → `rg60`.
pub(crate) fn bus_name(value: &str) -> String {
    value
        .split('.')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Command> {
        commands(text, &Arc::from("t.dss")).expect("parses")
    }

    fn named(name: &str, value: &str) -> Param {
        Param {
            name: Some(name.into()),
            value: value.into(),
        }
    }

    #[test]
    fn continuation_lines_join_the_command_above_across_comments() {
        let cmds = parse("New Transformer.Sub XHL=(8 1000 /)\n! comment\n~ wdg=1 bus=SourceBus // c\nMore kv = 115");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].at.line, 1);
        assert_eq!(
            cmds[0].params[2..],
            [
                named("xhl", "8 1000 /"),
                named("wdg", "1"),
                named("bus", "SourceBus"),
                named("kv", "115")
            ]
        );
    }

    #[test]
    fn brackets_quotes_and_positional_values_are_kept_whole() {
        let cmds = parse("New Fuse.F1 LINE.L1 1 buses=[a.1 b.1] conns='wye wye' kvs=(115, 12.47)");
        let p = &cmds[0].params;
        assert_eq!(p[2].value, "LINE.L1");
        assert_eq!(p[3].value, "1");
        assert_eq!(p[4], named("buses", "a.1 b.1"));
        assert_eq!(array(&p[6].value), ["115", "12.47"]);
    }

    #[test]
    fn unterminated_bracket_names_its_line() {
        let err =
            commands("Clear\nNew Line.L1 buses=[a b", &Arc::from("x.dss")).expect_err("must fail");
        assert!(
            err.to_string().starts_with("x.dss:2: unterminated `[`"),
            "{err}"
        );
    }

    #[test]
    fn rpn_values_evaluate() {
        assert_eq!(number("(8 1000 /)"), Some(0.008));
        assert_eq!(number("2 sqr"), Some(4.0));
        assert_eq!(number("wye"), None);
    }

    #[test]
    fn bus_names_lose_their_phase_suffix_and_case() {
        assert_eq!(bus_name("RG60.1.2.3"), "rg60");
        assert_eq!(bus_name("X2860491B.0.2"), "x2860491b");
    }
}

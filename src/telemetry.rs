//! Where the logs go and in what shape: `tracing` events to standard error, filtered by
//! `FAULTLINE_LOG` (`info` by default), as text for a person or, with
//! `FAULTLINE_LOG_FORMAT=json`, one JSON object per line for a log shipper (journald,
//! Fluent Bit, Vector, Loki…): `{"timestamp":…,"level":"INFO","target":…,"message":…}`
//! plus the event's own fields at the top level. Text carries ANSI colours only when
//! standard error is a terminal, so a file, a pipe or the journal gets none.

use std::io::IsTerminal;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `FAULTLINE_LOG_FORMAT` as given: unset or blank is text.
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "FAULTLINE_LOG_FORMAT must be text or json, not {other:?}"
            )),
        }
    }
}

/// Install the process's log subscriber from `FAULTLINE_LOG` and `FAULTLINE_LOG_FORMAT`.
pub fn init() -> anyhow::Result<()> {
    let format = LogFormat::parse(std::env::var("FAULTLINE_LOG_FORMAT").ok().as_deref())
        .map_err(anyhow::Error::msg)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAULTLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_format_is_text_unless_json_is_asked_and_a_typo_is_named() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some(" json ")), Ok(LogFormat::Json));
        let err = LogFormat::parse(Some("JSONL")).unwrap_err();
        assert!(err.contains("FAULTLINE_LOG_FORMAT"), "{err}");
        assert!(err.contains("JSONL"), "{err}");
    }
}

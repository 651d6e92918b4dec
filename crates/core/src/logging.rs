//! Log files for support requests, shared by the desktop app and the CLI: daily rolling files
//! (`<prefix>.YYYY-MM-DD.log`, the newest [`KEEP_LOG_FILES`] kept) in
//! [`crate::paths::log_dir`].
//!
//! What is logged: run ids, export ids, statuses, counts, row numbers and error codes. Never
//! personal data (emails, names, phones) and never an API key. Two guards keep the key out:
//! the HTTP stack's targets (`reqwest`, `hyper`, `h2`, …) are held at `warn` whatever
//! `RUST_LOG` says, so no request or header is traced; and every line goes through [`redact`],
//! which masks anything shaped like a Klaviyo private key or an Authorization header value.
//! The redaction is a safety net: tests assert that it never has anything to do.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How many daily files are kept.
pub const KEEP_LOG_FILES: usize = 7;
/// What replaces a key (or an Authorization value) in a log line.
pub const REDACTED: &str = "pk_***";

/// Targets that could trace requests or headers: always at `warn`, even under `RUST_LOG=trace`.
pub const QUIET_TARGETS: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "native_tls",
    "rustls",
    "tower",
    "axum",
];

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("The log folder {path} could not be created: {source}. Check that the data folder is writable.")]
    Dir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("The log file in {path} could not be opened: {source}. Check that the data folder is writable.")]
    File {
        path: PathBuf,
        #[source]
        source: tracing_appender::rolling::InitError,
    },
    #[error("Logging was already set up in this process.")]
    AlreadySet(#[from] tracing_subscriber::util::TryInitError),
}

/// The filter: `RUST_LOG` if set, else `default`; the [`QUIET_TARGETS`] forced to `warn`.
pub fn filter(default: &str) -> EnvFilter {
    let mut f = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    for t in QUIET_TARGETS {
        if let Ok(d) = format!("{t}=warn").parse() {
            f = f.add_directive(d);
        }
    }
    f
}

/// The rolling file appender of `dir` (created if missing).
pub fn appender(dir: &Path, prefix: &str) -> Result<RollingFileAppender, LogError> {
    std::fs::create_dir_all(dir).map_err(|source| LogError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(prefix)
        .filename_suffix("log")
        .max_log_files(KEEP_LOG_FILES)
        .build(dir)
        .map_err(|source| LogError::File {
            path: dir.to_path_buf(),
            source,
        })
}

/// Install the process's subscriber: redacted lines into the rolling files of `dir` at
/// `default` level (unless `RUST_LOG` says otherwise), and, if `stderr`, the same to stderr.
/// Files are written synchronously, so nothing is lost when the process exits.
pub fn init(dir: &Path, prefix: &str, default: &str, stderr: bool) -> Result<(), LogError> {
    let files = appender(dir, prefix)?;
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Redacting(files))
        .with_filter(filter(default));
    let stderr_layer = stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(Redacting(io::stderr))
            .with_filter(filter(default))
    });
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()?;
    Ok(())
}

/// Only stderr (when the log folder cannot be used).
pub fn init_stderr(default: &str) -> Result<(), LogError> {
    tracing_subscriber::fmt()
        .with_env_filter(filter(default))
        .with_writer(Redacting(io::stderr))
        .finish()
        .try_init()?;
    Ok(())
}

/// A `MakeWriter` whose writers pass every line through [`redact`].
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// See [`Redacting`]. The formatter writes one whole event per `write_all`, so a key is never
/// split across two calls.
pub struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&redact(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Mask Klaviyo private keys (`pk_` + at least 6 word characters, at a word start) and the
/// value after `Klaviyo-API-Key ` (the Authorization scheme).
pub fn redact(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    fn word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
    }
    const SCHEME: &[u8] = b"Klaviyo-API-Key ";
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    let mut copied = 0;
    while i < line.len() {
        let at_word_start = i == 0 || !word(line[i - 1]);
        let skip = if at_word_start && line[i..].starts_with(b"pk_") {
            let n = line[i + 3..].iter().take_while(|b| word(**b)).count();
            (n >= 6).then_some(3 + n)
        } else if line[i..].starts_with(SCHEME) {
            let n = line[i + SCHEME.len()..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && **b != b'"')
                .count();
            (n > 0).then_some(SCHEME.len() + n)
        } else {
            None
        };
        match skip {
            Some(len) => {
                let o = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
                o.extend_from_slice(&line[copied..i]);
                if line[i..].starts_with(SCHEME) {
                    o.extend_from_slice(SCHEME);
                }
                o.extend_from_slice(REDACTED.as_bytes());
                i += len;
                copied = i;
            }
            None => i += 1,
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(line),
        Some(mut o) => {
            o.extend_from_slice(&line[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

/// [`redact`] for text: error messages pass it before they are printed, answered or stored
/// (`CoreError`'s `Display`).
pub fn redact_text(text: &str) -> std::borrow::Cow<'_, str> {
    match redact(text.as_bytes()) {
        std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(text),
        // Only ASCII runs are replaced (by ASCII), up to ASCII delimiters: still UTF-8.
        std::borrow::Cow::Owned(bytes) => std::borrow::Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        String::from_utf8(redact(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn keys_and_authorization_values_are_masked() {
        assert_eq!(
            r("key=pk_abcdef0123456789 ok"),
            format!("key={REDACTED} ok")
        );
        assert_eq!(
            r("authorization: \"Klaviyo-API-Key pk_x\" end"),
            format!("authorization: \"Klaviyo-API-Key {REDACTED}\" end")
        );
        assert_eq!(
            r("a pk_NEEDLE_1 and pk_NEEDLE_2"),
            format!("a {REDACTED} and {REDACTED}")
        );
    }

    #[test]
    fn ordinary_lines_are_untouched() {
        for s in [
            "run finished run_id=r1 sent=3",
            "pk_ short pk_abc",
            "spk_abcdefghij is not a key start",
            "",
        ] {
            assert_eq!(r(s), s);
            assert!(matches!(
                redact(s.as_bytes()),
                std::borrow::Cow::Borrowed(_)
            ));
        }
    }

    #[test]
    fn error_texts_are_redacted_and_stay_text() {
        assert_eq!(
            redact_text("Klaviyo said: key pk_abcdef0123456789 is wrong — réessayez"),
            format!("Klaviyo said: key {REDACTED} is wrong — réessayez")
        );
        assert_eq!(
            redact_text("Klaviyo-API-Key zażółć\" x"),
            format!("Klaviyo-API-Key {REDACTED}\" x")
        );
        let err = crate::CoreError::Config("echoed pk_secretsecret0 back".into());
        assert_eq!(err.to_string(), format!("echoed {REDACTED} back"));
    }

    #[test]
    fn the_writer_redacts_whole_events() {
        let mut w = RedactingWriter(Vec::new());
        w.write_all(b"x pk_secretsecret y\n").unwrap();
        assert_eq!(w.0, format!("x {REDACTED} y\n").as_bytes());
    }
}

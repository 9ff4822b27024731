//! Config stage: a walker over a spanned TOML tree that turns raw values into typed
//! ones and collects every fault (wrong type, bad unit, unknown key) with its position,
//! instead of stopping at the first. Pure: works on text already read.

use std::ops::RangeInclusive;
use std::time::Duration;

use toml_span::de_helpers::TableHelper;
use toml_span::value::ValueInner;
use toml_span::{ErrorKind, Span, Spanned, Value};

use super::units;
use crate::config::diag::{Diagnostic, SourceFile};

/// Collects diagnostics for one file.
pub struct Walker<'s> {
    pub src: &'s SourceFile,
    pub errors: Vec<Diagnostic>,
}

impl<'s> Walker<'s> {
    pub fn new(src: &'s SourceFile) -> Self {
        Walker {
            src,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(self.src.diag(span.start, message));
    }

    /// Convert one error of the TOML layer into diagnostics (one per unknown key).
    pub fn toml_error(&mut self, err: toml_span::Error, section: &str) {
        match err.kind {
            ErrorKind::UnexpectedKeys { keys, expected } => {
                for (key, span) in keys {
                    let known = if expected.is_empty() {
                        String::new()
                    } else {
                        format!(" (expected one of: {})", expected.join(", "))
                    };
                    // TOML puts every key after a [section] header into that section.
                    let hint = if key == "rules" || key == "state_dir" {
                        " (top-level keys must come before the first [section] header)"
                    } else {
                        ""
                    };
                    self.error(
                        span,
                        format!("unknown key `{key}` in {section}{known}{hint}"),
                    );
                }
            }
            ErrorKind::MissingField(name) => {
                self.error(err.span, format!("missing key `{name}` in {section}"));
            }
            ErrorKind::Wanted { expected, found } => {
                self.error(err.span, format!("expected {expected}, found {found}"));
            }
            other => self.error(err.span, other.to_string()),
        }
    }

    /// Finish a table: report what went wrong inside it and every key nobody asked for.
    pub fn finish(&mut self, th: TableHelper<'_>, section: &str) {
        if let Err(e) = th.finalize(None) {
            for err in e.errors {
                self.toml_error(err, section);
            }
        }
    }

    pub fn string(
        &mut self,
        th: &mut TableHelper<'_>,
        key: &'static str,
    ) -> Option<Spanned<String>> {
        th.optional_s::<String>(key)
    }

    /// A required string: missing is reported against `at` (the table's position).
    pub fn required_string(
        &mut self,
        th: &mut TableHelper<'_>,
        key: &'static str,
        at: Span,
        section: &str,
    ) -> Option<Spanned<String>> {
        if !th.contains(key) {
            self.error(at, format!("missing key `{key}` in {section}"));
            th.take(key);
            return None;
        }
        th.optional_s::<String>(key)
    }

    pub fn strings(
        &mut self,
        th: &mut TableHelper<'_>,
        key: &'static str,
    ) -> Option<Vec<Spanned<String>>> {
        let (_, mut value) = th.take(key)?;
        let span = value.span;
        match value.take() {
            ValueInner::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for mut item in items {
                    let span = item.span;
                    match item.take() {
                        ValueInner::String(s) => out.push(Spanned::with_span(s.into_owned(), span)),
                        other => self.error(
                            span,
                            format!(
                                "`{key}` must be a list of strings, found a {}",
                                other.type_str()
                            ),
                        ),
                    }
                }
                Some(out)
            }
            // A single string where a list is expected is taken as a list of one.
            ValueInner::String(s) => Some(vec![Spanned::with_span(s.into_owned(), span)]),
            other => {
                self.error(
                    span,
                    format!(
                        "`{key}` must be a list of strings, found a {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    /// A duration within `range` (every duration vigie reads has one: a value past it
    /// would overflow a date or mean nothing sensible).
    pub fn duration(
        &mut self,
        th: &mut TableHelper<'_>,
        key: &'static str,
        range: RangeInclusive<Duration>,
    ) -> Option<Duration> {
        let s = self.string(th, key)?;
        self.duration_of(&s, key, range, "")
    }

    /// The duration `s` holds, within `range`; else an error at it, ending with `alt`
    /// (what else the key takes, such as ` (or "auto")`).
    pub fn duration_of(
        &mut self,
        s: &Spanned<String>,
        key: &str,
        range: RangeInclusive<Duration>,
        alt: &str,
    ) -> Option<Duration> {
        match units::parse_duration(&s.value) {
            Ok(d) if range.contains(&d) => Some(d),
            Ok(_) => {
                self.error(
                    s.span,
                    format!(
                        "`{key}` must be between {} and {}{alt}, not \"{}\"",
                        units::show_duration(*range.start()),
                        units::show_duration(*range.end()),
                        s.value
                    ),
                );
                None
            }
            Err(msg) => {
                self.error(s.span, format!("`{key}`: {msg}{alt}"));
                None
            }
        }
    }

    /// A size in bytes within `range`.
    pub fn size(
        &mut self,
        th: &mut TableHelper<'_>,
        key: &'static str,
        range: RangeInclusive<u64>,
    ) -> Option<u64> {
        let s = self.string(th, key)?;
        match units::parse_size(&s.value) {
            Ok(n) if range.contains(&n) => Some(n),
            Ok(_) => {
                self.error(
                    s.span,
                    format!(
                        "`{key}` must be between {} and {} bytes, not \"{}\"",
                        range.start(),
                        range.end(),
                        s.value
                    ),
                );
                None
            }
            Err(msg) => {
                self.error(s.span, format!("`{key}`: {msg}"));
                None
            }
        }
    }

    /// A positive integer no larger than `max`.
    pub fn count(&mut self, th: &mut TableHelper<'_>, key: &'static str, max: i64) -> Option<i64> {
        let (_, mut value) = th.take(key)?;
        let span = value.span;
        match value.take() {
            ValueInner::Integer(n) if (1..=max).contains(&n) => Some(n),
            ValueInner::Integer(n) => {
                self.error(
                    span,
                    format!("`{key}` must be between 1 and {max}, not {n}"),
                );
                None
            }
            other => {
                self.error(
                    span,
                    format!("`{key}` must be a number, found a {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A boolean (`feed = true`).
    pub fn boolean(&mut self, th: &mut TableHelper<'_>, key: &'static str) -> Option<bool> {
        let (_, mut value) = th.take(key)?;
        let span = value.span;
        match value.take() {
            ValueInner::Boolean(b) => Some(b),
            other => {
                self.error(
                    span,
                    format!(
                        "`{key}` must be true or false, found a {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    /// A sub-table, as a helper; reports a value of the wrong type.
    pub fn table<'de>(&mut self, value: &mut Value<'de>, what: &str) -> Option<TableHelper<'de>> {
        match TableHelper::new(value) {
            Ok(th) => Some(th),
            Err(_) => {
                self.error(value.span, format!("{what} must be a table"));
                None
            }
        }
    }

    /// An array of tables (`[[feed]]`), each as a value with its span.
    pub fn array_of_tables<'de>(
        &mut self,
        th: &mut TableHelper<'de>,
        key: &'static str,
    ) -> Vec<Value<'de>> {
        let Some((_, mut value)) = th.take(key) else {
            return Vec::new();
        };
        let span = value.span;
        match value.take() {
            ValueInner::Array(items) => items,
            ValueInner::Table(t) => vec![Value::with_span(ValueInner::Table(t), span)],
            other => {
                self.error(
                    span,
                    format!(
                        "`{key}` must be a table array ([[{key}]]), found a {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Byte offset in the file of the first character inside a string value, so that
    /// a position inside the string (a query fault) can be shown at the right column.
    pub fn string_content_start(&self, span: Span) -> usize {
        let rest = self.src.text.get(span.start..).unwrap_or("");
        if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
            let after = span.start + 3;
            if self
                .src
                .text
                .get(after..)
                .is_some_and(|r| r.starts_with('\n'))
            {
                after + 1
            } else {
                after
            }
        } else if rest.starts_with('\'') || rest.starts_with('"') {
            span.start + 1
        } else {
            span.start
        }
    }
}

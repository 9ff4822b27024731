//! Rules stage 1 — parsing: query text → [`Expr`] tree, by recursive descent.
//!
//! Invariants: never panics and never recurses without bound (depth is capped), whatever the
//! input; the cursor only ever sits on char boundaries; every error carries a byte offset
//! `<= src.len()` on a char boundary. Precedence: NOT (and `-`) > field scope > AND (explicit
//! or implicit) > OR; `~` goes with the term right after it. One file on purpose (440 lines):
//! the grammar's functions call each other in turn; split across files, they would be apart.

use crate::rules::Field;
use crate::rules::fold::fold_term;
use crate::rules::query::{
    Expr, MAX_NEAR, PResult, ParseErrorKind, check_near_operand, err, loose, place_qualifier, term,
};

/// Deepest nesting of parentheses / NOT / scopes accepted.
const MAX_DEPTH: usize = 64;

/// Parse a whole query.
pub fn parse(src: &str) -> PResult<Expr> {
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
        scoped: false,
    };
    p.skip_ws();
    if p.at_end() {
        return err(0, ParseErrorKind::Empty);
    }
    let expr = p.parse_or()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(expr),
        Some(_) => {
            let tok = p.token_text();
            err(p.pos, ParseErrorKind::Unexpected(tok.to_owned()))
        }
    }
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
    depth: usize,
    /// Inside a `title:`/`summary:`/`content:` scope.
    scoped: bool,
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '«' | '»')
}

fn ends_atom(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',') || is_quote(c)
}

impl<'s> Parser<'s> {
    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// End of the bare atom starting at `from`.
    fn atom_end(&self, from: usize) -> usize {
        let rest = self.src.get(from..).unwrap_or("");
        rest.char_indices()
            .find(|&(_, c)| ends_atom(c))
            .map_or(self.src.len(), |(k, _)| from + k)
    }

    /// The bare atom at the cursor (may be empty).
    fn peek_atom(&self) -> &'s str {
        self.src
            .get(self.pos..self.atom_end(self.pos))
            .unwrap_or("")
    }

    /// The token at the cursor, for "unexpected …" messages.
    fn token_text(&self) -> &'s str {
        let atom = self.peek_atom();
        if atom.is_empty() {
            let n = self.peek().map_or(0, char::len_utf8);
            self.src.get(self.pos..self.pos + n).unwrap_or("")
        } else {
            atom
        }
    }

    fn expect_char(&mut self, c: char, what: &'static str) -> PResult<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            err(self.pos, ParseErrorKind::Expected(what))
        }
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        let mut items = vec![self.parse_and()?];
        loop {
            self.skip_ws();
            if self.peek_atom() != "OR" {
                break;
            }
            self.pos += 2;
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let mut items = vec![self.parse_unary()?];
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')') | Some(',') => break,
                _ => {}
            }
            match self.peek_atom() {
                "OR" => break,
                "AND" => self.pos += 3,
                _ => {}
            }
            items.push(self.parse_unary()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        self.skip_ws();
        if self.depth >= MAX_DEPTH {
            return err(self.pos, ParseErrorKind::TooDeep);
        }
        self.depth += 1;
        let result = self.parse_unary_inner();
        self.depth -= 1;
        result
    }

    fn parse_unary_inner(&mut self) -> PResult<Expr> {
        let offset = self.pos;
        if self.peek_atom() == "NOT" {
            self.pos += 3;
            let expr = Box::new(self.parse_unary()?);
            return Ok(Expr::Not { expr, offset });
        }
        if self.peek() == Some('-') {
            let next = self.rest()[1..].chars().next();
            if next.is_none_or(|c| c.is_whitespace() || matches!(c, ')' | ',')) {
                return err(offset, ParseErrorKind::Expected("a term right after `-`"));
            }
            self.pos += 1;
            let expr = Box::new(self.parse_unary()?);
            return Ok(Expr::Not { expr, offset });
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        self.skip_ws();
        let offset = self.pos;
        let Some(c) = self.peek() else {
            return err(offset, ParseErrorKind::Expected("a term"));
        };
        match c {
            '(' => self.parse_group(),
            ')' | ',' | '”' | '»' => err(offset, ParseErrorKind::Unexpected(c.to_string())),
            '"' | '“' | '«' => self.parse_phrase(),
            '@' => self.parse_entity(),
            '~' => {
                self.pos += 1;
                match self.peek() {
                    Some(c) if !c.is_whitespace() => loose(self.parse_primary()?, offset),
                    _ => err(offset, ParseErrorKind::LooseName),
                }
            }
            _ => self.parse_atom(),
        }
    }

    fn parse_group(&mut self) -> PResult<Expr> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            None => return err(open, ParseErrorKind::UnclosedParen),
            Some(')') => return err(self.pos, ParseErrorKind::Expected("a term inside `( )`")),
            _ => {}
        }
        let inner = self.parse_or()?;
        self.skip_ws();
        match self.peek() {
            Some(')') => {
                self.pos += 1;
                Ok(inner)
            }
            None => err(open, ParseErrorKind::UnclosedParen),
            Some(_) => err(
                self.pos,
                ParseErrorKind::Unexpected(self.token_text().to_owned()),
            ),
        }
    }

    /// A quoted string at the cursor: returns its content, the offset of the opening quote and
    /// the offset of the content.
    fn quoted(&mut self) -> PResult<(&'s str, usize, usize)> {
        let open = self.pos;
        let Some(q) = self.peek() else {
            return err(open, ParseErrorKind::Expected("a quote"));
        };
        let close = match q {
            '“' => '”',
            '«' => '»',
            _ => '"',
        };
        let body_start = open + q.len_utf8();
        let body = self.src.get(body_start..).unwrap_or("");
        let Some(k) = body.find(close) else {
            return err(open, ParseErrorKind::UnterminatedQuote);
        };
        self.pos = body_start + k + close.len_utf8();
        Ok((&body[..k], open, body_start))
    }

    fn parse_phrase(&mut self) -> PResult<Expr> {
        let (body, offset, body_at) = self.quoted()?;
        term(body, offset, body_at, true)
    }

    fn parse_entity(&mut self) -> PResult<Expr> {
        let offset = self.pos;
        let end = self.atom_end(offset);
        let name = &self.src[offset + 1..end];
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return err(offset, ParseErrorKind::EntityName(format!("@{name}")));
        }
        self.pos = end;
        Ok(Expr::Entity {
            name: name.to_owned(),
            offset,
        })
    }

    fn parse_atom(&mut self) -> PResult<Expr> {
        let offset = self.pos;
        let end = self.atom_end(offset);
        let atom = &self.src[offset..end];
        match atom {
            "AND" | "OR" | "NOT" => {
                return err(offset, ParseErrorKind::Unexpected(atom.to_owned()));
            }
            _ => {}
        }
        if atom == "NEAR" || atom.starts_with("NEAR/") {
            return self.parse_near(atom);
        }
        if atom.eq_ignore_ascii_case("within") && self.src[end..].trim_start().starts_with('(') {
            self.pos = end;
            return self.parse_within(offset);
        }
        if let Some(colon) = atom.find(':') {
            let prefix = &atom[..colon];
            if !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_alphabetic()) {
                self.pos = offset + colon + 1;
                return self.parse_scoped(prefix, offset);
            }
        }
        self.pos = end;
        term(atom, offset, offset, false)
    }

    fn parse_scoped(&mut self, prefix: &str, offset: usize) -> PResult<Expr> {
        let field = match prefix.to_ascii_lowercase().as_str() {
            "title" => Field::Title,
            "summary" => Field::Summary,
            "content" => Field::Content,
            "place" => return self.parse_place(offset),
            _ => return err(offset, ParseErrorKind::UnknownField(prefix.to_owned())),
        };
        if self.scoped {
            return err(offset, ParseErrorKind::NestedScope);
        }
        if self.peek().is_none_or(char::is_whitespace) {
            return err(
                self.pos,
                ParseErrorKind::Expected("a term right after the `:`"),
            );
        }
        self.scoped = true;
        let inner = self.parse_unary();
        self.scoped = false;
        Ok(Expr::Scope {
            field,
            expr: Box::new(inner?),
            offset,
        })
    }

    /// A place name (bare or quoted) at the cursor, with an optional `/CC` or `/CC-DIV`:
    /// `Homs/LY`, `Charleston/US-WV`, `"Los Angeles"/US` (or `"Homs/LY"`).
    fn place_name(&mut self, allow_country: bool) -> PResult<(String, Option<String>)> {
        self.skip_ws();
        let at = self.pos;
        let quoted = self.peek().is_some_and(is_quote);
        let raw = if quoted {
            self.quoted()?.0
        } else {
            let end = self.atom_end(at);
            self.pos = end;
            &self.src[at..end]
        };
        let (name, country) = match raw.rsplit_once('/') {
            Some((name, cc)) if allow_country => {
                let cc_at = at + name.len() + 1;
                (name, Some(place_qualifier(cc, cc_at)?))
            }
            _ => (raw, None),
        };
        let country = match country {
            // After the quotes: `"Los Angeles"/US`.
            None if quoted && allow_country && self.peek() == Some('/') => {
                self.pos += 1;
                let cc_at = self.pos;
                let end = self.atom_end(cc_at);
                self.pos = end;
                let cc = &self.src[cc_at..end];
                Some(place_qualifier(cc, cc_at)?)
            }
            other => other,
        };
        if !fold_term(name).chars().any(char::is_alphanumeric) {
            return err(at, ParseErrorKind::PlaceName);
        }
        Ok((name.trim().to_owned(), country))
    }

    fn parse_place(&mut self, offset: usize) -> PResult<Expr> {
        let (name, country) = self.place_name(true)?;
        Ok(Expr::Place {
            name,
            country,
            offset,
        })
    }

    fn parse_within(&mut self, offset: usize) -> PResult<Expr> {
        self.skip_ws();
        let open = self.pos;
        self.pos += 1; // the `(` checked by the caller
        self.skip_ws();
        let num_at = self.pos;
        let digits = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(self.rest().len());
        let km: f64 = self.rest()[..digits].parse().unwrap_or(f64::NAN);
        self.pos += digits;
        self.skip_ws();
        let unit_ok = self.rest().starts_with("km");
        if !(km.is_finite() && km > 0.0 && km <= 20_000.0 && unit_ok) {
            return err(num_at, ParseErrorKind::WithinDistance);
        }
        self.pos += 2;
        self.expect_char(',', "`,` and a place name")?;
        let (name, _) = self.place_name(false)?;
        self.skip_ws();
        if self.at_end() {
            return err(open, ParseErrorKind::UnclosedParen);
        }
        self.expect_char(')', "`)`")?;
        Ok(Expr::Within { km, name, offset })
    }

    fn parse_near(&mut self, atom: &str) -> PResult<Expr> {
        let offset = self.pos;
        let distance = match atom.strip_prefix("NEAR/") {
            None => return err(offset, ParseErrorKind::NearDistance),
            Some(n) => match n.parse::<u32>() {
                Ok(d) if (1..=MAX_NEAR).contains(&d) => d,
                _ => return err(offset + 5, ParseErrorKind::NearDistance),
            },
        };
        self.pos += atom.len();
        self.skip_ws();
        let open = self.pos;
        if self.peek() != Some('(') {
            return err(open, ParseErrorKind::Expected("`(` after NEAR/n"));
        }
        self.pos += 1;
        let left = self.near_operand()?;
        self.skip_ws();
        if self.at_end() {
            return err(open, ParseErrorKind::UnclosedParen);
        }
        self.expect_char(',', "`,` between the two NEAR operands")?;
        let right = self.near_operand()?;
        self.skip_ws();
        if self.at_end() {
            return err(open, ParseErrorKind::UnclosedParen);
        }
        self.expect_char(')', "`)` after the second NEAR operand")?;
        Ok(Expr::Near {
            distance,
            left: Box::new(left),
            right: Box::new(right),
            offset,
        })
    }

    fn near_operand(&mut self) -> PResult<Expr> {
        self.skip_ws();
        if self.depth >= MAX_DEPTH {
            return err(self.pos, ParseErrorKind::TooDeep);
        }
        self.depth += 1;
        let expr = self.parse_or();
        self.depth -= 1;
        let expr = expr?;
        check_near_operand(&expr)?;
        Ok(expr)
    }
}

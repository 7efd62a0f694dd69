//! Derived variables: a formula over other variables of the same host
//! (`used / total * 100`), and the per-second rate of a counter.
//!
//! Written by hand rather than with an expression crate: variable names
//! carry labels (`[fs_used_bytes{mount="/"}]`), which general-purpose
//! expression languages do not accept as identifiers, and four operators
//! with parentheses are all a formula needs.

use crate::{ParseError, Value, Values};

/// A parsed formula: `+ - * /`, parentheses, numbers, and variables named
/// plainly (`mem_used_bytes`) or in brackets (`[fs_used_pct{mount="/"}]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    text: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(f64),
    Var(String),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

/// Formulas longer than this are refused (they come from users).
const MAX_LEN: usize = 2000;
const MAX_DEPTH: usize = 64;

impl Formula {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.len() > MAX_LEN {
            return Err(ParseError::new(format!(
                "the formula is {} characters long; the limit is {MAX_LEN}",
                text.len()
            )));
        }
        let mut parser = Parser {
            chars: text.char_indices().collect(),
            pos: 0,
            depth: 0,
        };
        let expr = parser.sum()?;
        parser.skip_space();
        if let Some(&(at, c)) = parser.chars.get(parser.pos) {
            return Err(ParseError::new(format!(
                "unexpected {c:?} at column {} of the formula",
                at + 1
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            expr,
        })
    }

    /// Names the formula reads.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = Vec::new();
        collect(&self.expr, &mut names);
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Evaluates over a host's variables; a missing or non-numeric
    /// variable, or a division by zero, is an error, never a made-up number.
    pub fn eval(&self, values: &Values) -> Result<f64, ParseError> {
        let result = eval(&self.expr, values)?;
        if result.is_finite() {
            Ok(result)
        } else {
            Err(ParseError::new(format!(
                "{} is not a finite number",
                self.text
            )))
        }
    }
}

fn collect<'a>(expr: &'a Expr, names: &mut Vec<&'a str>) {
    match expr {
        Expr::Number(_) => {}
        Expr::Var(name) => names.push(name),
        Expr::Neg(e) => collect(e, names),
        Expr::Bin(a, _, b) => {
            collect(a, names);
            collect(b, names);
        }
    }
}

fn eval(expr: &Expr, values: &Values) -> Result<f64, ParseError> {
    Ok(match expr {
        Expr::Number(n) => *n,
        Expr::Var(name) => match values.get(name) {
            Some(Value::Number(n)) => *n,
            Some(Value::Text(_)) => {
                return Err(ParseError::new(format!("{name} is text, not a number")));
            }
            None => return Err(ParseError::new(format!("no variable {name}"))),
        },
        Expr::Neg(e) => -eval(e, values)?,
        Expr::Bin(a, op, b) => {
            let (a, b) = (eval(a, values)?, eval(b, values)?);
            match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                _ if b == 0.0 => return Err(ParseError::new("division by zero")),
                _ => a / b,
            }
        }
    })
}

struct Parser {
    chars: Vec<(usize, char)>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|(_, c)| *c)
    }

    fn column(&self) -> usize {
        self.chars.get(self.pos).map_or_else(
            || self.chars.last().map_or(1, |(i, _)| i + 2),
            |(i, _)| i + 1,
        )
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some(op @ ('+' | '-')) => {
                    self.pos += 1;
                    left = Expr::Bin(Box::new(left), op, Box::new(self.product()?));
                }
                _ => return Ok(left),
            }
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some(op @ ('*' | '/')) => {
                    self.pos += 1;
                    left = Expr::Bin(Box::new(left), op, Box::new(self.unary()?));
                }
                _ => return Ok(left),
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new("the formula nests too deeply"));
        }
        self.skip_space();
        let expr = match self.peek() {
            Some('-') => {
                self.pos += 1;
                Expr::Neg(Box::new(self.unary()?))
            }
            Some('(') => {
                self.pos += 1;
                let inner = self.sum()?;
                self.skip_space();
                if self.peek() != Some(')') {
                    return Err(ParseError::new(format!(
                        "missing ')' at column {}",
                        self.column()
                    )));
                }
                self.pos += 1;
                inner
            }
            Some('[') => {
                let start = self.pos + 1;
                let end = (start..self.chars.len())
                    .find(|&i| self.chars[i].1 == ']')
                    .ok_or_else(|| {
                        ParseError::new(format!("missing ']' after column {}", self.column()))
                    })?;
                let name: String = self.chars[start..end].iter().map(|(_, c)| c).collect();
                self.pos = end + 1;
                Expr::Var(name)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().map(|(_, c)| c).collect();
                Expr::Number(
                    text.parse()
                        .map_err(|_| ParseError::new(format!("cannot read the number {text:?}")))?,
                )
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                Expr::Var(self.chars[start..self.pos].iter().map(|(_, c)| c).collect())
            }
            Some(c) => {
                return Err(ParseError::new(format!(
                    "unexpected {c:?} at column {}",
                    self.column()
                )));
            }
            None => {
                return Err(ParseError::new(format!(
                    "the formula ends where a value was expected (column {})",
                    self.column()
                )));
            }
        };
        self.depth -= 1;
        Ok(expr)
    }
}

/// One reading of a counter: when (ms since the epoch) and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub at_ms: i64,
    pub value: f64,
}

/// The per-second rate of a counter between two readings. A counter that
/// went down was reset (reboot, restart): it counted from zero since, so
/// the rate is `current / elapsed`. `None` when time did not move forward.
pub fn rate(previous: Reading, current: Reading) -> Option<f64> {
    let elapsed = (current.at_ms - previous.at_ms) as f64 / 1000.0;
    if elapsed <= 0.0 || !previous.value.is_finite() || !current.value.is_finite() {
        return None;
    }
    let increase = if current.value >= previous.value {
        current.value - previous.value
    } else {
        current.value
    };
    Some(increase / elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        let mut v = Values::new();
        v.insert("used".into(), Value::Number(25.0));
        v.insert("total".into(), Value::Number(200.0));
        v.insert("fs_used_pct{mount=\"/\"}".into(), Value::Number(70.0));
        v.insert("host".into(), Value::Text("pi".into()));
        v
    }

    fn eval(text: &str) -> Result<f64, ParseError> {
        Formula::parse(text)?.eval(&values())
    }

    #[test]
    fn arithmetic_with_precedence_and_names() {
        assert_eq!(eval("used / total * 100"), Ok(12.5));
        assert_eq!(eval("(total - used) / total * 100"), Ok(87.5));
        assert_eq!(eval("1 + 2 * 3"), Ok(7.0));
        assert_eq!(eval("-used + 5"), Ok(-20.0));
        assert_eq!(eval("100 - [fs_used_pct{mount=\"/\"}]"), Ok(30.0));
        assert_eq!(
            Formula::parse("a*b + [c{x=\"1\"}] - a")
                .expect("parse")
                .variables(),
            ["a", "b", "c{x=\"1\"}"]
        );
    }

    #[test]
    fn errors_are_clear() {
        let msg = |t: &str| eval(t).expect_err(t).to_string();
        assert_eq!(msg("used / 0"), "division by zero");
        assert_eq!(msg("free / total"), "no variable free");
        assert_eq!(msg("host * 2"), "host is text, not a number");
        assert_eq!(msg("(used"), "missing ')' at column 6");
        assert_eq!(
            msg("used *"),
            "the formula ends where a value was expected (column 7)"
        );
        assert_eq!(msg("used ^ 2"), "unexpected '^' at column 6 of the formula");
        assert_eq!(msg("1.2.3"), "cannot read the number \"1.2.3\"");
        assert!(msg(&"(".repeat(100)).contains("nests too deeply"));
    }

    #[test]
    fn rates_handle_resets() {
        let r = |at_ms, value| Reading { at_ms, value };
        assert_eq!(rate(r(0, 100.0), r(60_000, 700.0)), Some(10.0));
        assert_eq!(
            rate(r(0, 1_000.0), r(10_000, 50.0)),
            Some(5.0),
            "reset: counted from zero"
        );
        assert_eq!(rate(r(10_000, 1.0), r(10_000, 2.0)), None);
        assert_eq!(rate(r(20_000, 1.0), r(10_000, 2.0)), None);
    }
}

//! A small arithmetic expression evaluator: a lexer, a Pratt parser and an interpreter
//! with variables. Errors carry the byte offset where they happened.

use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Number(f64),
    Ident(String),
    Op(char),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.offset, self.message)
    }
}

fn error<T>(offset: usize, message: impl Into<String>) -> Result<T, Error> {
    Err(Error { offset, message: message.into() })
}

pub fn tokenize(source: &str) -> Result<Vec<(usize, Token)>, Error> {
    let mut tokens = Vec::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let text = &source[start..i];
                match text.parse::<f64>() {
                    Ok(value) => tokens.push((start, Token::Number(value))),
                    Err(_) => return error(start, format!("bad number {text:?}")),
                }
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push((start, Token::Ident(source[start..i].to_string())));
            }
            '+' | '-' | '*' | '/' | '^' | '%' => {
                tokens.push((i, Token::Op(c)));
                i += 1;
            }
            '(' => {
                tokens.push((i, Token::LParen));
                i += 1;
            }
            ')' => {
                tokens.push((i, Token::RParen));
                i += 1;
            }
            ',' => {
                tokens.push((i, Token::Comma));
                i += 1;
            }
            _ => return error(i, format!("unexpected character {c:?}")),
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Var(String),
    Neg(Box<Expr>),
    Binary(char, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end: usize,
}

fn binding_power(op: char) -> (u8, u8) {
    match op {
        '+' | '-' => (1, 2),
        '*' | '/' | '%' => (3, 4),
        '^' => (6, 5), // right-associative: 2^3^2 = 2^(3^2) → 512
        _ => (0, 0),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        token
    }

    fn expression(&mut self, min_power: u8) -> Result<Expr, Error> {
        let offset = self.offset();
        let mut lhs = match self.next() {
            Some(Token::Number(value)) => Expr::Number(value),
            Some(Token::Op('-')) => Expr::Neg(Box::new(self.expression(7)?)),
            Some(Token::LParen) => {
                let inner = self.expression(0)?;
                if self.next() != Some(Token::RParen) {
                    return error(self.offset(), "expected ')'");
                }
                inner
            }
            Some(Token::Ident(name)) if self.peek() == Some(&Token::LParen) => {
                self.pos += 1;
                let mut args = Vec::new();
                while self.peek() != Some(&Token::RParen) {
                    args.push(self.expression(0)?);
                    if self.peek() == Some(&Token::Comma) {
                        self.pos += 1;
                    }
                }
                self.pos += 1;
                Expr::Call(name, args)
            }
            Some(Token::Ident(name)) => Expr::Var(name),
            _ => return error(offset, "expected a value"),
        };
        while let Some(Token::Op(op)) = self.peek().cloned() {
            let (left, right) = binding_power(op);
            if left < min_power {
                break;
            }
            self.pos += 1;
            let rhs = self.expression(right)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
}

pub fn parse(source: &str) -> Result<Expr, Error> {
    let mut parser = Parser { tokens: tokenize(source)?, pos: 0, end: source.len() };
    let expr = parser.expression(0)?;
    if parser.pos < parser.tokens.len() {
        return error(parser.offset(), "unexpected input after the expression");
    }
    Ok(expr)
}

pub struct Env {
    vars: HashMap<String, f64>,
}

impl Env {
    pub fn new() -> Self {
        let mut vars = HashMap::new();
        vars.insert("pi".to_string(), std::f64::consts::PI);
        vars.insert("e".to_string(), std::f64::consts::E);
        Env { vars }
    }

    pub fn set(&mut self, name: &str, value: f64) {
        self.vars.insert(name.to_string(), value);
    }

    pub fn eval(&self, expr: &Expr) -> Result<f64, String> {
        Ok(match expr {
            Expr::Number(value) => *value,
            Expr::Var(name) => *self.vars.get(name).ok_or(format!("unknown variable {name}"))?,
            Expr::Neg(inner) => -self.eval(inner)?,
            Expr::Binary(op, lhs, rhs) => {
                let (a, b) = (self.eval(lhs)?, self.eval(rhs)?);
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' if b == 0.0 => return Err("division by zero".to_string()),
                    '/' => a / b,
                    '%' => a.rem_euclid(b),
                    '^' => a.powf(b),
                    _ => unreachable!("the lexer only produces known operators"),
                }
            }
            Expr::Call(name, args) => {
                let values = args.iter().map(|a| self.eval(a)).collect::<Result<Vec<_>, _>>()?;
                match (name.as_str(), values.as_slice()) {
                    ("sqrt", [x]) => x.sqrt(),
                    ("abs", [x]) => x.abs(),
                    ("min", [x, rest @ ..]) => rest.iter().fold(*x, |m, v| m.min(*v)),
                    ("max", [x, rest @ ..]) => rest.iter().fold(*x, |m, v| m.max(*v)),
                    _ => return Err(format!("no function {name} taking {} arguments", values.len())),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_associativity() {
        let env = Env::new();
        assert_eq!(env.eval(&parse("1 + 2 * 3").unwrap()), Ok(7.0));
        assert_eq!(env.eval(&parse("2 ^ 3 ^ 2").unwrap()), Ok(512.0));
        assert_eq!(env.eval(&parse("-(4 - 6) * max(1, 3, 2)").unwrap()), Ok(6.0));
    }

    #[test]
    fn errors_point_at_the_offset() {
        assert_eq!(parse("1 + $").unwrap_err().offset, 4);
        assert_eq!(parse("(1 + 2").unwrap_err().message, "expected ')'");
    }
}

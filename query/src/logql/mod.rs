//! LogQL: a hand-written lexer (`lex`) and recursive-descent parser
//! (`parse`) producing Hearth's own tree (`ast`), which prints back as a
//! canonical query (`display`). Syntax and error wording follow Loki's
//! documentation (<https://grafana.com/docs/loki/latest/query/>); no
//! grammar or code is taken from Loki.

pub mod ast;
pub mod display;
pub mod error;
pub mod eval;
pub mod exec;
mod lex;
mod parse;
pub mod patterns;

#[cfg(test)]
mod tests;

pub use ast::Expr;
pub use error::ParseError;
pub use parse::{MAX_DEPTH, MAX_OPERATORS, parse};

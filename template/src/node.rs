//! The parse tree. `Display` reproduces Go's `Node.String()`, because Go's
//! execution errors quote the failing node (`at <humanize .>`).

use std::fmt;

use crate::strconv::{parse_float, parse_int, parse_uint, quote, unquote_char_constant};

/// One named template: the main text or a `define`/`block` body.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) root: List,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    pub(crate) nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template(Call),
    Break,
    Continue,
}

impl Node {
    /// Go's node position: where the node's pipeline (or template name) starts.
    pub(crate) fn pos(&self) -> usize {
        match self {
            Node::Action(p) => p.pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
            Node::Template(c) => c.pos,
            Node::Text(_) | Node::Break | Node::Continue => 0,
        }
    }
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: List,
    pub(crate) else_list: Option<List>,
}

/// `{{template "name" pipeline}}` (also what a `block` leaves behind).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) pos: usize,
    pub(crate) name: String,
    pub(crate) pipe: Option<Pipe>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

/// A numeric literal as Go's `idealConstant` would type it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
    /// Fits only an unsigned 64-bit integer; using it fails at execution as in Go.
    Overflow,
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && !s.contains(['p', 'P'])
}

impl Num {
    /// Go's `newNumber` followed by `idealConstant`'s choice between int and
    /// float; the error is Go's message. Complex constants are refused,
    /// where Go would accept them.
    pub(crate) fn classify(text: &str, is_char: bool) -> Result<Num, String> {
        if is_char {
            return unquote_char_constant(text).map(|rune| Num::Int(i64::from(rune)));
        }
        let illegal = || format!("illegal number syntax: {}", quote(text));
        if text.ends_with('i') {
            return Err(illegal());
        }
        let looks_float = text.contains(['.', 'e', 'E', 'p', 'P']);
        let as_uint = parse_uint(text).ok();
        let mut as_int = parse_int(text).ok();
        let mut as_float = as_int.map(|i| i as f64).or(as_uint.map(|u| u as f64));
        if as_int.is_none()
            && as_uint.is_none()
            && let Ok(f) = parse_float(text)
        {
            if !looks_float {
                return Err(format!("integer overflow: {}", quote(text)));
            }
            as_float = Some(f);
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
            {
                as_int = Some(f as i64);
            }
        }
        Ok(match (as_int, as_float) {
            (_, Some(f)) if looks_float && !is_hex_int(text) => Num::Float(f),
            (Some(i), _) => Num::Int(i),
            (None, Some(_)) if as_uint.is_some() => Num::Overflow,
            (None, Some(f)) => Num::Float(f),
            (None, None) => return Err(illegal()),
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// `.a.b`, stored without the dots.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.a.b`, stored as `["$x", "a", "b"]`.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        text: String,
        num: Num,
    },
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Pipe(Box<Pipe>),
    /// `(pipeline).a.b`: fields applied to a non-field term.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// Go's `IsEmptyTree`: only whitespace text, so a later definition may replace it.
pub(crate) fn is_empty(list: &List) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.nodes.iter().try_for_each(|n| write!(f, "{n}"))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => b.write(f, "if"),
            Node::Range(b) => b.write(f, "range"),
            Node::With(b) => b.write(f, "with"),
            Node::Template(c) => write!(f, "{c}"),
            Node::Break => f.write_str("{{break}}"),
            Node::Continue => f.write_str("{{continue}}"),
        }
    }
}

impl Branch {
    fn write(&self, f: &mut fmt::Formatter<'_>, keyword: &str) -> fmt::Result {
        write!(f, "{{{{{keyword} {}}}}}{}", self.pipe, self.list)?;
        if let Some(e) = &self.else_list {
            write!(f, "{{{{else}}}}{e}")?;
        }
        f.write_str("{{end}}")
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pipe {
            None => write!(f, "{{{{template {}}}}}", quote(&self.name)),
            Some(p) => write!(f, "{{{{template {} {p}}}}}", quote(&self.name)),
        }
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                _ => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => idents.iter().try_for_each(|i| write!(f, ".{i}")),
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number { text, .. } => f.write_str(text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Pipe(p) => write!(f, "{p}"),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    n => write!(f, "{n}")?,
                }
                fields.iter().try_for_each(|i| write!(f, ".{i}"))
            }
        }
    }
}

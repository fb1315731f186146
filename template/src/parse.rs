//! Builds parse trees from lexed items with Go's grammar, variable scoping and
//! error wording. Lookahead works on indices into the item list; the line an
//! error reports is that of the furthest item read, which is what Go reports.

use std::collections::BTreeMap;

use crate::error::TemplateError;
use crate::lex::{Item, Kind, lex};
use crate::node::{Arg, Branch, Call, Command, List, Node, Num, Pipe, Tree, is_empty};
use crate::strconv::{quote, unquote};

/// Deeper nesting (parentheses, control structures) is refused rather than
/// risking the stack; Go words its own limit the same way.
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

type Result<T> = std::result::Result<T, TemplateError>;

/// What `text_or_action` found: a node, or the `{{end}}`/`{{else}}` closing a list.
enum Step {
    Node(Node),
    End,
    Else,
}

impl Step {
    fn describe(&self) -> &'static str {
        match self {
            Step::End => "{{end}}",
            Step::Else => "{{else}}",
            Step::Node(_) => "node",
        }
    }
}

/// Parse state that belongs to one tree; `define` and `block` bodies get fresh copies.
struct TreeState {
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
}

impl TreeState {
    fn fresh() -> Self {
        TreeState {
            vars: vec!["$".to_string()],
            range_depth: 0,
            action_line: 0,
        }
    }
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    fallback: Item,
    idx: usize,
    furthest: usize,
    is_func: &'a dyn Fn(&str) -> bool,
    st: TreeState,
    depth: usize,
    trees: BTreeMap<String, Tree>,
}

/// Parses `text` as template `name`; returns every tree it defines, the main
/// one under `name`. `is_func` says which function names exist.
pub(crate) fn parse(
    name: &str,
    text: &str,
    is_func: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Tree>> {
    let items = lex(text);
    let mut p = Parser {
        name,
        fallback: Item {
            kind: Kind::Eof,
            pos: text.len(),
            val: String::new(),
            line: 1,
        },
        items,
        idx: 0,
        furthest: 0,
        is_func,
        st: TreeState::fresh(),
        depth: 0,
        trees: BTreeMap::new(),
    };
    let root = p.parse_top()?;
    p.add_tree(name.to_string(), root)?;
    Ok(p.trees)
}

impl Parser<'_> {
    fn at(&self, i: usize) -> &Item {
        self.items
            .get(i)
            .or(self.items.last())
            .unwrap_or(&self.fallback)
    }

    fn next(&mut self) -> Item {
        let item = self.at(self.idx).clone();
        self.furthest = self.furthest.max(self.idx);
        self.idx += 1;
        item
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn peek(&mut self) -> Item {
        let item = self.next();
        self.backup();
        item
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let item = self.next();
            if item.kind != Kind::Space {
                return item;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let item = self.next_non_space();
        self.backup();
        item
    }

    fn errorf(&self, message: impl std::fmt::Display) -> TemplateError {
        let line = self.at(self.furthest).line;
        TemplateError::parse(format!("template: {}:{}: {}", self.name, line, message))
    }

    fn unexpected(&self, item: &Item, context: &str) -> TemplateError {
        if item.kind == Kind::Error {
            let mut extra = String::new();
            if self.st.action_line != 0 && self.st.action_line != item.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.name, self.st.action_line
                );
                if item.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{item}{extra}"));
        }
        self.errorf(format!("unexpected {item} in {context}"))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Item> {
        let item = self.next_non_space();
        if item.kind != kind {
            return Err(self.unexpected(&item, context));
        }
        Ok(item)
    }

    fn descend(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.errorf("max expression depth exceeded"));
        }
        Ok(())
    }

    fn add_tree(&mut self, name: String, root: List) -> Result<()> {
        let replaceable = self.trees.get(&name).is_none_or(|t| is_empty(&t.root));
        if replaceable {
            self.trees.insert(name, Tree { root });
        } else if !is_empty(&root) {
            return Err(self.errorf(format!(
                "template: multiple definition of template {}",
                quote(&name)
            )));
        }
        Ok(())
    }

    fn parse_top(&mut self) -> Result<List> {
        let mut root = List::default();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Step::Node(n) => root.nodes.push(n),
                other => return Err(self.errorf(format!("unexpected {}", other.describe()))),
            }
        }
        Ok(root)
    }

    /// Parses a body under fresh per-tree state, restoring the caller's afterwards.
    fn sub_tree(&mut self, context: &str) -> Result<List> {
        let saved = std::mem::replace(&mut self.st, TreeState::fresh());
        let (list, end) = self.item_list()?;
        if !matches!(end, Step::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        self.st = saved;
        Ok(list)
    }

    fn parse_definition(&mut self) -> Result<()> {
        const CONTEXT: &str = "define clause";
        let item = self.next_non_space();
        if item.kind != Kind::String && item.kind != Kind::RawString {
            return Err(self.unexpected(&item, CONTEXT));
        }
        let name = unquote(&item.val).map_err(|e| self.errorf(e))?;
        self.expect(Kind::RightDelim, CONTEXT)?;
        let root = self.sub_tree(CONTEXT)?;
        self.add_tree(name, root)
    }

    fn item_list(&mut self) -> Result<(List, Step)> {
        let mut list = List::default();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Step::Node(n) => list.nodes.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> Result<Step> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Text => Ok(Step::Node(Node::Text(item.val))),
            Kind::LeftDelim => {
                self.descend()?;
                self.st.action_line = item.line;
                let step = self.action()?;
                self.st.action_line = 0;
                self.depth -= 1;
                Ok(step)
            }
            _ => Err(self.unexpected(&item, "input")),
        }
    }

    fn action(&mut self) -> Result<Step> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Block => return self.block_control().map(Step::Node),
            Kind::Break | Kind::Continue => return self.loop_control(&item).map(Step::Node),
            Kind::Else => return self.else_control(),
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Step::End);
            }
            Kind::If => return self.if_control().map(Step::Node),
            Kind::Range => return self.range_control().map(Step::Node),
            Kind::Template => return self.template_control().map(Step::Node),
            Kind::With => return self.with_control().map(Step::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Step::Node(Node::Action(pipe)))
    }

    fn loop_control(&mut self, keyword: &Item) -> Result<Node> {
        let context = format!("{{{{{}}}}}", keyword.val);
        let item = self.next_non_space();
        if item.kind != Kind::RightDelim {
            return Err(self.unexpected(&item, &context));
        }
        if self.st.range_depth == 0 {
            return Err(self.errorf(format!("{context} outside {{{{range}}}}")));
        }
        Ok(if keyword.kind == Kind::Break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    fn else_control(&mut self) -> Result<Step> {
        let peek = self.peek_non_space();
        if peek.kind == Kind::If || peek.kind == Kind::With {
            // `{{else if …}}` is read as `{{else}}{{if …}}…{{end}}{{end}}`.
            return Ok(Step::Else);
        }
        self.expect(Kind::RightDelim, "else")?;
        Ok(Step::Else)
    }

    fn parse_control(&mut self, context: &str) -> Result<Branch> {
        self.descend()?;
        let saved_vars = self.st.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let is_range = context == "range";
        if is_range {
            self.st.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if is_range {
            self.st.range_depth -= 1;
        }
        let mut else_list = None;
        if let Step::Else = next {
            let chained = match (context, self.peek().kind) {
                ("if", Kind::If) => Some(true),
                ("with", Kind::With) => Some(false),
                _ => None,
            };
            if let Some(is_if) = chained {
                self.next();
                let node = if is_if {
                    self.if_control()?
                } else {
                    self.with_control()?
                };
                else_list = Some(List { nodes: vec![node] });
            } else {
                let (l, end) = self.item_list()?;
                if !matches!(end, Step::End) {
                    return Err(self.errorf(format!("expected end; found {}", end.describe())));
                }
                else_list = Some(l);
            }
        }
        self.st.vars.truncate(saved_vars);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn if_control(&mut self) -> Result<Node> {
        self.parse_control("if").map(Node::If)
    }

    fn range_control(&mut self) -> Result<Node> {
        self.parse_control("range").map(Node::Range)
    }

    fn with_control(&mut self) -> Result<Node> {
        self.parse_control("with").map(Node::With)
    }

    fn template_name(&self, item: &Item, context: &str) -> Result<String> {
        match item.kind {
            Kind::String | Kind::RawString => unquote(&item.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(item, context)),
        }
    }

    fn template_control(&mut self) -> Result<Node> {
        const CONTEXT: &str = "template clause";
        let item = self.next_non_space();
        let name = self.template_name(&item, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Kind::RightDelim)?);
        }
        Ok(Node::Template(Call {
            pos: item.pos,
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> Result<Node> {
        const CONTEXT: &str = "block clause";
        let item = self.next_non_space();
        let name = self.template_name(&item, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Kind::RightDelim)?;
        let root = self.sub_tree(CONTEXT)?;
        self.add_tree(name.clone(), root)?;
        Ok(Node::Template(Call {
            pos: item.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let v_idx = self.idx;
            self.next();
            let next = self.peek_non_space();
            if next.kind == Kind::Assign || next.kind == Kind::Declare {
                pipe.is_assign = next.kind == Kind::Assign;
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.st.vars.push(v.val);
                break;
            }
            if next.kind == Kind::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.st.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().kind {
                        Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                        _ => return Err(self.errorf("range can only initialize variables")),
                    }
                }
                return Err(self.errorf(format!("too many declarations in {context}")));
            }
            // Not a declaration after all: the variable is the first operand.
            self.idx = v_idx;
            break;
        }
        loop {
            let item = self.next_non_space();
            if item.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match item.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&item, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool { .. }
                | Arg::Dot { .. }
                | Arg::Nil { .. }
                | Arg::Number { .. }
                | Arg::String { .. },
            ) = c.args.first()
            {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(arg) = self.operand()? {
                cmd.args.push(arg);
            }
            let item = self.next();
            match item.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&item, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let item = self.next();
            fields.push(item.val.get(1..).unwrap_or("").to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let item = self.next_non_space();
        let pos = item.pos;
        let arg = match item.kind {
            Kind::Identifier => {
                if !(self.is_func)(&item.val) {
                    return Err(self.errorf(format!("function {} not defined", quote(&item.val))));
                }
                Arg::Identifier {
                    pos,
                    name: item.val,
                }
            }
            Kind::Dot => Arg::Dot { pos },
            Kind::Nil => Arg::Nil { pos },
            Kind::Variable => {
                if !self.st.vars.contains(&item.val) {
                    return Err(self.errorf(format!("undefined variable {}", quote(&item.val))));
                }
                Arg::Variable {
                    pos,
                    idents: vec![item.val],
                }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: vec![item.val.get(1..).unwrap_or("").to_string()],
            },
            Kind::Bool => Arg::Bool {
                pos,
                val: item.val == "true",
            },
            Kind::CharConstant | Kind::Complex | Kind::Number => self.number(&item)?,
            Kind::LeftParen => {
                self.descend()?;
                let pipe = self.pipeline("parenthesized pipeline", Kind::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe))
            }
            Kind::String | Kind::RawString => {
                let text = unquote(&item.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos,
                    quoted: item.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }

    fn number(&self, item: &Item) -> Result<Arg> {
        let num = Num::classify(&item.val, item.kind == Kind::CharConstant)
            .map_err(|e| self.errorf(e))?;
        Ok(Arg::Number {
            pos: item.pos,
            text: item.val.clone(),
            num,
        })
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

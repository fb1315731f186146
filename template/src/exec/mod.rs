//! Walks parse trees against data with Go's evaluation rules: variable scopes
//! that end at `{{end}}`, field lookup on maps, argument type checks before a
//! function runs, and Go's `template: NAME:LINE:COL: executing …` errors.
//!
//! Like Go, the executor remembers the node it last started evaluating and
//! blames that node when something fails, so error locations match Go's,
//! including its quirks (a bad field on `(query "x")` is reported at `"x"`).

use std::fmt;

use crate::Template;
use crate::error::TemplateError;
use crate::funcs::{self, FuncSet, Param};
use crate::node::{Arg, Branch, Call, Command, List, Node, Num, Pipe};
use crate::printf::format_value;
use crate::strconv::quote;
use crate::value::Value;

/// Nesting allowed at run time (template calls, control structures and
/// parenthesised pipelines together), bounded so recursion cannot exhaust the stack.
pub(crate) const MAX_EXEC_DEPTH: usize = 200;

/// What a missing map key evaluates to: Prometheus' label maps hold strings
/// and it executes with `missingkey=zero`.
static EMPTY_STRING: Value = Value::String(String::new());

type Result<T> = std::result::Result<T, TemplateError>;

mod args;

/// How a list of nodes finished: normally or through `{{break}}`/`{{continue}}`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node being evaluated, which errors name (Go's `state.node`).
#[derive(Clone, Copy)]
enum At<'a> {
    Start,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
    Ident(usize, &'a str),
}

impl At<'_> {
    fn pos(self) -> usize {
        match self {
            At::Start => 0,
            At::Node(n) => n.pos(),
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Arg(a) => a.pos(),
            At::Ident(pos, _) => pos,
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Start => Ok(()),
            At::Node(n) => write!(f, "{n}"),
            At::Pipe(p) => write!(f, "{p}"),
            At::Cmd(c) => write!(f, "{c}"),
            At::Arg(a) => write!(f, "{a}"),
            At::Ident(_, name) => f.write_str(name),
        }
    }
}

struct State<'a> {
    tmpl: &'a Template,
    funcs: &'a dyn FuncSet,
    out: String,
    vars: Vec<(String, Value)>,
    exec_name: &'a str,
    at: At<'a>,
    depth: usize,
    /// Nodes walked and loop passes made: templates run inside rule
    /// evaluation and per log line, so a runaway `range` must fail rather
    /// than stall its caller.
    steps: u64,
}

/// Most nodes and loop passes one execution may take.
const MAX_STEPS: u64 = 1_000_000;
/// Longest output one execution may produce.
const MAX_OUTPUT: usize = 1 << 20;

pub(crate) fn execute(tmpl: &Template, data: &Value, funcs: &dyn FuncSet) -> Result<String> {
    let Some(tree) = tmpl.trees.get(&tmpl.name) else {
        return Err(TemplateError::exec(format!(
            "template: {}: {} is an incomplete or empty template",
            tmpl.name,
            quote(&tmpl.name)
        )));
    };
    let mut st = State {
        tmpl,
        funcs,
        out: String::new(),
        vars: vec![("$".to_string(), data.clone())],
        exec_name: &tmpl.name,
        at: At::Start,
        depth: 0,
        steps: 0,
    };
    st.walk_list(data, &tree.root)?;
    Ok(st.out)
}

impl<'a> State<'a> {
    /// Go's execution error: the current node located in the source text.
    #[inline(never)]
    fn fail(&self, message: impl fmt::Display) -> TemplateError {
        let name = &self.tmpl.name;
        if let At::Start = self.at {
            return TemplateError::exec(format!("template: {name}: {message}"));
        }
        let pos = self.at.pos();
        let text = self.tmpl.text.as_str();
        let before = text.get(..pos).unwrap_or(text);
        let line = 1 + before.matches('\n').count();
        let col = before
            .rfind('\n')
            .map_or(before.len(), |i| before.len() - i - 1);
        TemplateError::exec(format!(
            "template: {name}:{line}:{col}: executing {} at <{}>: {message}",
            quote(self.exec_name),
            self.at
        ))
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.fail(format_args!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'a List) -> Result<Flow> {
        for node in &list.nodes {
            let flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Counts one step; fails once the budget or the output cap is spent.
    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.fail(format_args!(
                "exceeded the limit of {MAX_STEPS} execution steps"
            )));
        }
        if self.out.len() > MAX_OUTPUT {
            return Err(self.fail(format_args!(
                "output exceeds the limit of {MAX_OUTPUT} bytes"
            )));
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> Result<Flow> {
        self.at = At::Node(node);
        self.step()?;
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(pipe) => {
                let value = self.eval_pipeline(dot, pipe)?;
                // Declarations print nothing; the variable lives until the enclosing {{end}}.
                if pipe.decl.is_empty() {
                    self.print(value);
                }
            }
            Node::If(b) => return self.walk_if_or_with(dot, b, false),
            Node::With(b) => return self.walk_if_or_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template(call) => return self.walk_template(dot, call),
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print(&mut self, value: Value) {
        match value {
            Value::Nil => self.out.push_str("<no value>"),
            Value::String(s) => self.out.push_str(&s),
            other => self.out.push_str(&format_value(&other)),
        }
    }

    fn walk_if_or_with(&mut self, dot: &Value, b: &'a Branch, with: bool) -> Result<Flow> {
        self.enter()?;
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if value.is_true() {
            self.walk_list(if with { &value } else { dot }, &b.list)?
        } else if let Some(else_list) = &b.else_list {
            self.walk_list(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> Result<Flow> {
        self.enter()?;
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &b.pipe)?;
        let body_mark = self.vars.len();
        let mut ran = false;
        match &value {
            Value::List(items) => {
                for (i, elem) in items.iter().enumerate() {
                    ran = true;
                    let index = Value::Int(i as i64);
                    if self.iteration(b, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Map(map) => {
                for (key, elem) in map {
                    ran = true;
                    let index = Value::String(key.clone());
                    if self.iteration(b, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.fail(format_args!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                for i in 0..*n {
                    ran = true;
                    let elem = Value::Int(i);
                    if self.iteration(b, body_mark, Value::Nil, &elem)? == Flow::Break {
                        break;
                    }
                }
            }
            // Ranging over nothing is not an error, as in Go.
            Value::Nil => {}
            other => {
                return Err(self.fail(format_args!("range can't iterate over {other}")));
            }
        }
        if !ran && let Some(else_list) = &b.else_list {
            self.walk_list(dot, else_list)?;
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Flow::Normal)
    }

    /// One pass of a range body. Declared variables were pushed by the
    /// pipeline; `$i, $e :=` sets them, `$i, $e =` assigns outer ones.
    fn iteration(
        &mut self,
        b: &'a Branch,
        mark: usize,
        index: Value,
        elem: &Value,
    ) -> Result<Flow> {
        self.step()?;
        let decl = &b.pipe.decl;
        if let Some(first) = decl.first() {
            if b.pipe.is_assign {
                let target = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(first, target)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if let Some(second) = decl.get(1) {
            if b.pipe.is_assign {
                self.set_var(second, elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(elem, &b.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_template(&mut self, dot: &Value, call: &'a Call) -> Result<Flow> {
        let tmpl: &'a Template = self.tmpl;
        let Some(tree) = tmpl.trees.get(&call.name) else {
            return Err(self.fail(format_args!("template {} not defined", quote(&call.name))));
        };
        self.enter()?;
        let new_dot = match &call.pipe {
            Some(pipe) => self.eval_pipeline(dot, pipe)?,
            None => Value::Nil,
        };
        // Templates see only `$`; there is no dynamic scoping.
        let saved_vars =
            std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.exec_name, call.name.as_str());
        self.walk_list(&new_dot, &tree.root)?;
        self.vars = saved_vars;
        self.exec_name = saved_name;
        self.depth -= 1;
        Ok(Flow::Normal)
    }

    fn var_value(&self, name: &str) -> Result<&Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v),
            None => Err(self.fail(format_args!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.fail(format_args!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Value) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = value;
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> Result<Value> {
        self.at = At::Pipe(pipe);
        self.enter()?;
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        self.depth -= 1;
        Ok(value)
    }

    /// Evaluates one command; `last` is the previous command's result, which
    /// Go passes as the final argument.
    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'a Command,
        last: Option<Value>,
    ) -> Result<Value> {
        let Some(first) = cmd.args.first() else {
            self.at = At::Cmd(cmd);
            return Err(self.fail("empty command"));
        };
        let has_args = cmd.args.len() > 1 || last.is_some();
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                return self.eval_fields(dot, idents, has_args);
            }
            Arg::Chain { node, fields, .. } => {
                let receiver = self.chain_receiver(dot, first, node)?;
                return self.eval_fields(&receiver, fields, has_args);
            }
            Arg::Identifier { pos, name } => {
                let rest = cmd.args.get(1..).unwrap_or(&[]);
                return self.eval_function(dot, name, *pos, At::Cmd(cmd), rest, last);
            }
            Arg::Variable { idents, .. } => {
                self.at = At::Arg(first);
                let name = idents.first().map_or("", String::as_str);
                let value = self.var_value(name)?;
                let fields = idents.get(1..).unwrap_or(&[]);
                if fields.is_empty() {
                    let value = value.clone();
                    self.not_a_function(first, has_args)?;
                    return Ok(value);
                }
                return self.eval_fields(value, fields, has_args);
            }
            Arg::Pipe(p) => {
                self.not_a_function(first, has_args)?;
                return self.eval_pipeline(dot, p);
            }
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(first, has_args)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.fail("nil is not a command")),
            Arg::Number { text, num, .. } => self.ideal(*num, text),
            Arg::String { text, .. } => Ok(Value::String(text.clone())),
            _ => Err(self.fail(format_args!(
                "can't evaluate command {}",
                quote(&first.to_string())
            ))),
        }
    }

    fn not_a_function(&self, first: &Arg, has_args: bool) -> Result<()> {
        if has_args {
            return Err(self.fail(format_args!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    fn ideal(&self, num: Num, text: &str) -> Result<Value> {
        match num {
            Num::Int(i) => Ok(Value::Int(i)),
            Num::Float(f) => Ok(Value::Float(f)),
            Num::Overflow => Err(self.fail(format_args!("{text} overflows int"))),
        }
    }

    /// Looks fields up along a chain. Only the last field may see arguments,
    /// and on a map any argument is an error, as in Go.
    fn eval_fields(&self, receiver: &Value, idents: &[String], has_args: bool) -> Result<Value> {
        let mut current = receiver;
        for (i, name) in idents.iter().enumerate() {
            current = match current {
                Value::Nil => return Ok(Value::Nil),
                Value::Map(map) => {
                    if has_args && i + 1 == idents.len() {
                        return Err(
                            self.fail(format_args!("{name} is not a method but has arguments"))
                        );
                    }
                    map.get(name).unwrap_or(&EMPTY_STRING)
                }
                other => {
                    return Err(self.fail(format_args!(
                        "can't evaluate field {name} in type {}",
                        other.go_type()
                    )));
                }
            };
        }
        Ok(current.clone())
    }

    fn chain_receiver(&mut self, dot: &Value, chain: &'a Arg, node: &'a Arg) -> Result<Value> {
        self.at = At::Arg(chain);
        if let Arg::Nil { .. } = node {
            return Err(self.fail(format_args!("indirection through explicit nil in {chain}")));
        }
        self.eval_arg(dot, Param::Any, node)
    }

    /// Calls a function. `call_site` is what a failure inside the function
    /// is blamed on: the whole command, or the identifier used as an argument.
    fn eval_function(
        &mut self,
        dot: &Value,
        name: &'a str,
        ident_pos: usize,
        call_site: At<'a>,
        args: &'a [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        self.at = At::Ident(ident_pos, name);
        let Some((sig, builtin)) = funcs::lookup(self.funcs, name) else {
            return Err(self.fail(format_args!("{} is not a defined function", quote(name))));
        };
        let num_in = args.len() + usize::from(last.is_some());
        self.check_arity(name, &sig, num_in, args.len())?;
        if builtin && (name == "and" || name == "or") {
            return self.and_or(dot, name == "or", args, last);
        }
        let fixed = sig.fixed.len();
        let num_fixed = if sig.variadic.is_some() {
            fixed
        } else {
            args.len()
        };
        let param_at = |i: usize| -> Param {
            if i < num_fixed {
                sig.fixed.get(i).copied().unwrap_or(Param::Any)
            } else {
                sig.variadic.unwrap_or(Param::Any)
            }
        };
        let mut argv = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param_at(i), arg)?);
        }
        if let Some(value) = last {
            let param = match sig.variadic {
                Some(v) if num_in > num_fixed => v,
                _ => sig.fixed.get(num_in - 1).copied().unwrap_or(Param::Any),
            };
            argv.push(self.validate(value, param)?);
        }
        let result = if builtin {
            funcs::call_builtin(name, argv)
        } else {
            self.funcs.call(name, argv)
        };
        let result = result.map_err(|e| {
            self.at = call_site;
            self.fail(format_args!("error calling {name}: {e}"))
        })?;
        // Doubling a string a few dozen times asks for terabytes in as
        // many steps; no value may outgrow the output limit.
        if let Value::String(text) = &result
            && text.len() > MAX_OUTPUT
        {
            self.at = call_site;
            return Err(self.fail(format_args!(
                "error calling {name}: result exceeds the limit of {MAX_OUTPUT} bytes"
            )));
        }
        Ok(result)
    }
}

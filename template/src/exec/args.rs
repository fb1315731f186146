//! Argument handling: Go's arity check, `and`/`or` short-circuiting, and
//! the conversion and type checks Go applies before a function runs.

use super::{At, Result, State};
use crate::funcs::{Param, Signature};
use crate::node::{Arg, Num};
use crate::value::Value;

impl<'a> State<'a> {
    /// Go's argument-count check, worded as Go words it.
    #[inline(never)]
    pub(super) fn check_arity(
        &self,
        name: &str,
        sig: &Signature,
        num_in: usize,
        num_args: usize,
    ) -> Result<()> {
        let fixed = sig.fixed.len();
        if sig.variadic.is_some() {
            if num_in < fixed {
                return Err(self.fail(format_args!(
                    "wrong number of args for {name}: want at least {fixed} got {num_args}"
                )));
            }
        } else if num_in != fixed {
            return Err(self.fail(format_args!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
        }
        Ok(())
    }

    /// `and`/`or` short-circuit: the deciding value is returned and later
    /// arguments are never evaluated.
    pub(super) fn and_or(
        &mut self,
        dot: &Value,
        stop_on: bool,
        args: &'a [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        let mut value = Value::Nil;
        for arg in args {
            value = self.eval_arg(dot, Param::Reflect, arg)?;
            if value.is_true() == stop_on {
                return Ok(value);
            }
        }
        Ok(last.unwrap_or(value))
    }

    pub(super) fn eval_arg(&mut self, dot: &Value, param: Param, arg: &'a Arg) -> Result<Value> {
        self.at = At::Arg(arg);
        let value = match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                return match param {
                    Param::Any => Ok(Value::Nil),
                    Param::Custom(c) if c.nil_ok => Ok(Value::Nil),
                    _ => Err(self.fail(format_args!("cannot assign nil to {}", param.go_type()))),
                };
            }
            Arg::Field { idents, .. } => self.eval_fields(dot, idents, false)?,
            Arg::Variable { idents, .. } => {
                let name = idents.first().map_or("", String::as_str);
                let value = self.var_value(name)?;
                match idents.get(1..) {
                    Some(rest) if !rest.is_empty() => self.eval_fields(value, rest, false)?,
                    _ => value.clone(),
                }
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier { name, pos } => {
                self.eval_function(dot, name, *pos, At::Ident(*pos, name), &[], None)?
            }
            Arg::Chain { node, fields, .. } => {
                let receiver = self.chain_receiver(dot, arg, node)?;
                self.eval_fields(&receiver, fields, false)?
            }
            Arg::Bool { .. } | Arg::Number { .. } | Arg::String { .. } => {
                return self.literal(param, arg);
            }
        };
        self.validate(value, param)
    }

    /// A literal argument, converted the way Go's `evalArg` converts
    /// constants for the parameter's type.
    pub(super) fn literal(&self, param: Param, arg: &Arg) -> Result<Value> {
        match (param, arg) {
            (Param::Any | Param::Reflect, Arg::Bool { val, .. }) => Ok(Value::Bool(*val)),
            (Param::Any | Param::Reflect, Arg::Number { text, num, .. }) => self.ideal(*num, text),
            (Param::Any | Param::Reflect | Param::Str, Arg::String { text, .. }) => {
                Ok(Value::String(text.clone()))
            }
            (Param::Str, _) => Err(self.fail(format_args!("expected string; found {arg}"))),
            (
                Param::Int,
                Arg::Number {
                    num: Num::Int(i), ..
                },
            ) => Ok(Value::Int(*i)),
            // Go's number nodes are integers too when a float literal is integral.
            (
                Param::Int,
                Arg::Number {
                    num: Num::Float(f), ..
                },
            ) if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(f) =>
            {
                Ok(Value::Int(*f as i64))
            }
            (Param::Int, _) => Err(self.fail(format_args!("expected integer; found {arg}"))),
            (Param::Float, Arg::Number { num, text, .. }) => match num {
                Num::Int(i) => Ok(Value::Float(*i as f64)),
                Num::Float(f) => Ok(Value::Float(*f)),
                Num::Overflow => match crate::strconv::parse_float(text) {
                    Ok(f) => Ok(Value::Float(f)),
                    Err(_) => Err(self.fail(format_args!("expected float; found {arg}"))),
                },
            },
            (Param::Float, _) => Err(self.fail(format_args!("expected float; found {arg}"))),
            _ => Err(self.fail(format_args!(
                "can't handle {arg} for arg of type {}",
                param.go_type()
            ))),
        }
    }

    /// Go's `validateType`: whether a computed value may be passed as `param`.
    pub(super) fn validate(&self, value: Value, param: Param) -> Result<Value> {
        if param.accepts(&value) {
            return Ok(value);
        }
        Err(if value.is_nil() {
            self.fail(format_args!("invalid value; expected {}", param.go_type()))
        } else {
            self.fail(format_args!(
                "wrong type for value; expected {}; got {}",
                param.go_type(),
                value.go_type()
            ))
        })
    }
}

//! Function tables: the parameter types Go checks before a call, the
//! [`FuncSet`] trait through which callers plug in their own functions, and
//! Go's builtins (`and`, `len`, `printf`, `eq`, …), which every template has.

use crate::builtins;
use crate::printf::{sprint, sprintf, sprintln};
use crate::strings;
use crate::url;
use crate::value::Value;

/// A parameter's Go type, which decides how arguments are checked and how
/// literals are converted, with Go's wording when they do not fit.
#[derive(Clone, Copy, Debug)]
pub enum Param {
    /// `interface{}`: anything; literals become Go's ideal constants.
    Any,
    /// `reflect.Value` (Go's builtins): like `Any`, but a literal `nil` is refused.
    Reflect,
    /// `string`: strings only, and a literal must be a quoted string.
    Str,
    /// `int`: integers only; a literal must be an integer constant.
    Int,
    /// `float64`: floats only; integer literals convert, computed ints do not.
    Float,
    /// A type of the caller's own, such as Prometheus' `*sample`.
    Custom(CustomParam),
}

/// A caller-defined parameter type: which values it accepts and whether it
/// can be nil (Go pointers, slices and maps can; structs cannot).
#[derive(Clone, Copy, Debug)]
pub struct CustomParam {
    /// The Go type name used in argument errors, e.g. `*template.sample`.
    pub go_type: &'static str,
    /// Whether a computed value may be passed as this type.
    pub accepts: fn(&Value) -> bool,
    /// Whether a literal `nil` may be passed.
    pub nil_ok: bool,
}

impl Param {
    /// The Go type name used in argument errors.
    pub fn go_type(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Reflect => "reflect.Value",
            Param::Str => "string",
            Param::Int => "int",
            Param::Float => "float64",
            Param::Custom(c) => c.go_type,
        }
    }

    /// Go's `validateType`: whether a computed value may be passed.
    pub(crate) fn accepts(self, value: &Value) -> bool {
        match self {
            Param::Any | Param::Reflect => true,
            Param::Str => matches!(value, Value::String(_)),
            Param::Int => matches!(value, Value::Int(_)),
            Param::Float => matches!(value, Value::Float(_)),
            Param::Custom(c) => (c.accepts)(value),
        }
    }
}

/// Fixed parameters, then the element type of a variadic tail if any.
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    /// Parameters every call passes.
    pub fixed: &'static [Param],
    /// The type of any further arguments, for variadic functions.
    pub variadic: Option<Param>,
}

impl Signature {
    /// A signature with `fixed` parameters and an optional variadic tail.
    pub const fn new(fixed: &'static [Param], variadic: Option<Param>) -> Self {
        Signature { fixed, variadic }
    }
}

/// Functions a template may call beyond Go's builtins.
///
/// The parser asks only for signatures (unknown names are parse errors, as
/// in Go); execution calls with arguments already checked against them. A
/// set may carry per-execution state, such as the log line being formatted.
/// A name defined here hides a builtin of the same name, as Go's `Funcs` does.
pub trait FuncSet {
    /// The signature of `name`, `None` if this set does not define it.
    fn signature(&self, name: &str) -> Option<Signature>;
    /// Calls `name`; the error text follows `error calling NAME: ` in Go's message.
    fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, String>;
}

/// No functions beyond the builtins.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFuncs;

impl FuncSet for NoFuncs {
    fn signature(&self, _name: &str) -> Option<Signature> {
        None
    }

    fn call(&self, name: &str, _args: Vec<Value>) -> Result<Value, String> {
        Err(format!("function {name} is not defined"))
    }
}

/// The signature of a Go builtin, `None` for other names. `call` is not
/// provided: templates have no function values to call.
pub fn builtin_signature(name: &str) -> Option<Signature> {
    use Param::{Any, Reflect, Str};
    Some(match name {
        "and" | "or" | "index" | "slice" | "eq" => Signature::new(&[Reflect], Some(Reflect)),
        "not" | "len" => Signature::new(&[Reflect], None),
        "ne" | "lt" | "le" | "gt" | "ge" => Signature::new(&[Reflect, Reflect], None),
        "html" | "js" | "urlquery" | "print" | "println" => Signature::new(&[], Some(Any)),
        "printf" => Signature::new(&[Str], Some(Any)),
        _ => return None,
    })
}

/// Where a name resolves: the caller's set first, then the builtins.
pub(crate) fn lookup(funcs: &dyn FuncSet, name: &str) -> Option<(Signature, bool)> {
    if let Some(sig) = funcs.signature(name) {
        return Some((sig, false));
    }
    builtin_signature(name).map(|sig| (sig, true))
}

/// Whether `name` may be called with `funcs` in effect.
pub(crate) fn is_defined(funcs: &dyn FuncSet, name: &str) -> bool {
    lookup(funcs, name).is_some()
}

static NIL: Value = Value::Nil;

/// Calls a builtin with arguments already checked against its signature
/// (`and`/`or` short-circuit in the executor and never get here).
pub(crate) fn call_builtin(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).unwrap_or(&NIL);
    let rest = args.get(1..).unwrap_or(&[]);
    let string = |s: String| Ok(Value::String(s));
    match name {
        "not" => Ok(Value::Bool(!arg(0).is_true())),
        "len" => builtins::len(arg(0)).map(Value::Int),
        "index" => builtins::index(arg(0), rest),
        "slice" => builtins::slice(arg(0), rest),
        "eq" => builtins::eq(arg(0), rest).map(Value::Bool),
        "ne" => builtins::eq(arg(0), rest).map(|b| Value::Bool(!b)),
        "lt" => builtins::lt(arg(0), arg(1)).map(Value::Bool),
        "le" => builtins::le(arg(0), arg(1)).map(Value::Bool),
        "gt" => builtins::le(arg(0), arg(1)).map(|b| Value::Bool(!b)),
        "ge" => builtins::lt(arg(0), arg(1)).map(|b| Value::Bool(!b)),
        "html" => string(strings::html_escape(&builtins::eval_args(&args))),
        "js" => string(strings::js_escape(&builtins::eval_args(&args))),
        "urlquery" => string(url::query_escape(&builtins::eval_args(&args))),
        "print" => string(sprint(&args)),
        "printf" => string(sprintf(arg(0).as_str().unwrap_or(""), rest)),
        "println" => string(sprintln(&args)),
        _ => Err(format!("function {name} is not implemented")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_known_and_call_is_not() {
        for name in [
            "and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge",
            "html", "js", "urlquery", "print", "printf", "println",
        ] {
            assert!(is_defined(&NoFuncs, name), "{name}");
            if name != "and" && name != "or" {
                let sig = builtin_signature(name).unwrap();
                let args = vec![Value::from("x"); sig.fixed.len().max(1)];
                let _ = call_builtin(name, args);
            }
        }
        assert!(!is_defined(&NoFuncs, "call"));
        assert!(!is_defined(&NoFuncs, "humanize"));
        assert!(NoFuncs.call("x", vec![]).is_err());
    }

    #[test]
    fn caller_functions_hide_builtins() {
        struct Shadow;
        impl FuncSet for Shadow {
            fn signature(&self, name: &str) -> Option<Signature> {
                (name == "len").then_some(Signature::new(&[Param::Str], None))
            }
            fn call(&self, _name: &str, _args: Vec<Value>) -> Result<Value, String> {
                Ok(Value::Int(-1))
            }
        }
        let (sig, builtin) = lookup(&Shadow, "len").unwrap();
        assert!(!builtin);
        assert_eq!(sig.fixed.len(), 1);
        assert!(lookup(&Shadow, "print").unwrap().1);
    }

    #[test]
    fn param_types_accept_their_values() {
        assert!(Param::Int.accepts(&Value::Int(1)));
        assert!(!Param::Int.accepts(&Value::Float(1.0)));
        assert!(Param::Float.accepts(&Value::Float(1.0)));
        assert!(!Param::Str.accepts(&Value::Nil));
        assert_eq!(Param::Float.go_type(), "float64");
        let custom = Param::Custom(CustomParam {
            go_type: "T",
            accepts: |v| matches!(v, Value::List(_)),
            nil_ok: true,
        });
        assert!(custom.accepts(&Value::List(vec![])));
        assert_eq!(custom.go_type(), "T");
    }
}

//! The in-memory trace the evaluator reads. Storage assembles one
//! [`Trace`] per trace ID (all of its spans, with their resource and
//! instrumentation scope shared through `Arc`s as in OTLP), and
//! [`Trace::new`] derives once what TraceQL exposes as intrinsics but OTLP
//! does not carry: the nested-set numbers Tempo computes at ingest, child
//! counts, the root span, and the trace duration. Structural operators use
//! these derived numbers, so building a trace is O(n log n) and every
//! structural operator is O(n).

use std::collections::HashMap;
use std::sync::Arc;

pub use super::ast::{SpanKind, StatusCode};

/// A value an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(String),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A duration in nanoseconds.
    Duration(i64),
    /// A span status.
    Status(StatusCode),
    /// A span kind.
    Kind(SpanKind),
    /// Missing.
    Nil,
    /// Several values: an array attribute, or one value per event/link.
    Array(Vec<Value>),
}

/// An attribute value as stored (OTLP `AnyValue` without maps).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// String.
    Str(String),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Bytes. TraceQL cannot compare these; they read as nil.
    Bytes(Vec<u8>),
    /// An array of values.
    Array(Vec<AttrValue>),
}

impl AttrValue {
    /// The value TraceQL sees.
    pub fn to_value(&self) -> Value {
        match self {
            AttrValue::Str(s) => Value::Str(s.clone()),
            AttrValue::Int(i) => Value::Int(*i),
            AttrValue::Float(f) => Value::Float(*f),
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::Bytes(_) => Value::Nil,
            AttrValue::Array(a) => Value::Array(a.iter().map(AttrValue::to_value).collect()),
        }
    }
}

/// A key/value attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The key, e.g. `http.status_code`.
    pub key: String,
    /// The value.
    pub value: AttrValue,
}

impl Attr {
    /// Shorthand constructor.
    pub fn new(key: impl Into<String>, value: AttrValue) -> Self {
        Self {
            key: key.into(),
            value,
        }
    }
}

/// The value of `key` in `attrs` (the first one if repeated).
pub fn find_attr<'a>(attrs: &'a [Attr], key: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|a| a.key == key).map(|a| &a.value)
}

/// A span event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event name.
    pub name: String,
    /// Nanoseconds after the span's start.
    pub time_since_start_ns: u64,
    /// Event attributes.
    pub attributes: Vec<Attr>,
}

/// A span link.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Linked trace.
    pub trace_id: [u8; 16],
    /// Linked span.
    pub span_id: [u8; 8],
    /// Link attributes.
    pub attributes: Vec<Attr>,
}

/// The resource a span was emitted by (`service.name` lives here).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    /// Resource attributes.
    pub attributes: Vec<Attr>,
}

/// The instrumentation scope that produced a span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// `instrumentation:name`.
    pub name: String,
    /// `instrumentation:version`.
    pub version: String,
    /// `instrumentation.x` attributes.
    pub attributes: Vec<Attr>,
}

/// One span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Span ID.
    pub span_id: [u8; 8],
    /// Parent span ID; `None` (or all zeros) for a root.
    pub parent_span_id: Option<[u8; 8]>,
    /// Span name.
    pub name: String,
    /// Kind.
    pub kind: SpanKind,
    /// Status code.
    pub status: StatusCode,
    /// Status message.
    pub status_message: String,
    /// Start, unix nanoseconds.
    pub start_ns: u64,
    /// Duration in nanoseconds.
    pub duration_ns: u64,
    /// Span attributes.
    pub attributes: Vec<Attr>,
    /// The emitting resource.
    pub resource: Arc<Resource>,
    /// The instrumentation scope.
    pub scope: Arc<Scope>,
    /// Events.
    pub events: Vec<Event>,
    /// Links.
    pub links: Vec<Link>,
}

impl Span {
    /// A span with the given IDs and name and everything else empty.
    pub fn new(span_id: [u8; 8], parent_span_id: Option<[u8; 8]>, name: impl Into<String>) -> Self {
        Self {
            span_id,
            parent_span_id,
            name: name.into(),
            kind: SpanKind::Unspecified,
            status: StatusCode::Unset,
            status_message: String::new(),
            start_ns: 0,
            duration_ns: 0,
            attributes: Vec::new(),
            resource: Arc::new(Resource::default()),
            scope: Arc::new(Scope::default()),
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    /// `service.name` of the span's resource, if it is a string.
    pub fn service_name(&self) -> Option<&str> {
        match find_attr(&self.resource.attributes, "service.name") {
            Some(AttrValue::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// Nested-set numbers of one span, as Tempo exposes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NestedSet {
    /// `nestedSetLeft`: number given on entering the span in a depth-first walk.
    pub left: i64,
    /// `nestedSetRight`: number given on leaving it.
    pub right: i64,
    /// `nestedSetParent`: the parent's `left`, or -1 for roots.
    pub parent: i64,
}

/// A whole trace plus the structure derived from it.
#[derive(Debug, Clone)]
pub struct Trace {
    trace_id: [u8; 16],
    spans: Vec<Span>,
    parent: Vec<Option<usize>>,
    nested: Vec<NestedSet>,
    child_count: Vec<u32>,
    /// Span indices in depth-first pre-order (parents before children).
    preorder: Vec<usize>,
    root: Option<usize>,
    start_ns: u64,
    duration_ns: u64,
}

impl Trace {
    /// Build a trace and derive its structure.
    ///
    /// A span whose parent ID is absent, all zeros, or not in `spans` is
    /// treated as a root for structure (`nestedSetParent` = -1), but only
    /// a span with no parent ID at all is the trace's root span for
    /// `rootName`/`rootServiceName`. Duplicate span IDs resolve to the
    /// first span; parent cycles are broken at the earliest-starting span.
    pub fn new(trace_id: [u8; 16], spans: Vec<Span>) -> Self {
        let n = spans.len();
        let mut by_id: HashMap<[u8; 8], usize> = HashMap::with_capacity(n);
        for (i, s) in spans.iter().enumerate() {
            by_id.entry(s.span_id).or_insert(i);
        }
        let parent: Vec<Option<usize>> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pid = s.parent_span_id.filter(|p| *p != [0; 8])?;
                by_id.get(&pid).copied().filter(|&p| p != i)
            })
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        let order_key = |i: &usize| (spans[*i].start_ns, *i);
        for c in &mut children {
            c.sort_by_key(order_key);
        }
        let mut starts: Vec<usize> = (0..n).filter(|&i| parent[i].is_none()).collect();
        starts.sort_by_key(order_key);
        // Spans caught in a parent cycle are reachable from no root; they
        // are walked afterwards, earliest first.
        let mut rest: Vec<usize> = (0..n).collect();
        rest.sort_by_key(order_key);

        let mut nested = vec![
            NestedSet {
                left: 0,
                right: 0,
                parent: -1,
            };
            n
        ];
        let mut visited = vec![false; n];
        let mut preorder = Vec::with_capacity(n);
        let mut counter: i64 = 0;
        let mut parent_fixed = parent.clone();
        for &s in starts.iter().chain(rest.iter()) {
            if visited[s] {
                continue;
            }
            parent_fixed[s] = parent_fixed[s].filter(|p| visited[*p]);
            // Iterative DFS: (span, next child position).
            let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
            visited[s] = true;
            counter += 1;
            nested[s].left = counter;
            nested[s].parent = parent_fixed[s].map_or(-1, |p| nested[p].left);
            preorder.push(s);
            while let Some(top) = stack.last_mut() {
                let (node, next) = *top;
                if let Some(&child) = children[node].get(next) {
                    top.1 += 1;
                    if visited[child] {
                        continue;
                    }
                    visited[child] = true;
                    counter += 1;
                    nested[child].left = counter;
                    nested[child].parent = nested[node].left;
                    parent_fixed[child] = Some(node);
                    preorder.push(child);
                    stack.push((child, 0));
                } else {
                    counter += 1;
                    nested[node].right = counter;
                    stack.pop();
                }
            }
        }
        let mut child_count = vec![0u32; n];
        for p in parent_fixed.iter().flatten() {
            child_count[*p] += 1;
        }
        let root = (0..n)
            .filter(|&i| spans[i].parent_span_id.is_none_or(|p| p == [0; 8]))
            .min_by_key(order_key);
        let start_ns = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
        let end_ns = spans
            .iter()
            .map(|s| s.start_ns.saturating_add(s.duration_ns))
            .max()
            .unwrap_or(0);
        Self {
            trace_id,
            spans,
            parent: parent_fixed,
            nested,
            child_count,
            preorder,
            root,
            start_ns,
            duration_ns: end_ns.saturating_sub(start_ns),
        }
    }

    /// Marks the trace as holding only some of its spans (say, those a
    /// column filter kept). A span whose parent is not among them gets
    /// `nestedSetParent` = `i64::MAX` rather than -1: it is not a root, and
    /// every comparison of `nestedSetParent` with a number up to 0 then
    /// gives the answer the whole trace would.
    pub fn mark_partial(&mut self) {
        for (i, span) in self.spans.iter().enumerate() {
            let has_parent_id = span.parent_span_id.is_some_and(|p| p != [0; 8]);
            if has_parent_id && self.parent[i].is_none() {
                self.nested[i].parent = i64::MAX;
            }
        }
    }

    /// The trace ID.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// All spans, in the order given to [`Trace::new`]. Results refer to
    /// spans by index into this slice.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The index of the parent of span `i` within the trace.
    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parent.get(i).copied().flatten()
    }

    /// Nested-set numbers of span `i`.
    pub fn nested_set(&self, i: usize) -> NestedSet {
        self.nested.get(i).copied().unwrap_or(NestedSet {
            left: 0,
            right: 0,
            parent: -1,
        })
    }

    /// Number of direct children of span `i`.
    pub fn child_count(&self, i: usize) -> u32 {
        self.child_count.get(i).copied().unwrap_or(0)
    }

    /// Span indices with every parent before its children.
    pub fn preorder(&self) -> &[usize] {
        &self.preorder
    }

    /// The root span (no parent ID), earliest first if several.
    pub fn root(&self) -> Option<&Span> {
        self.root.and_then(|i| self.spans.get(i))
    }

    /// Earliest span start, unix nanoseconds.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// Latest span end minus earliest span start.
    pub fn duration_ns(&self) -> u64 {
        self.duration_ns
    }

    /// `trace:rootName`.
    pub fn root_name(&self) -> Option<&str> {
        self.root().map(|s| s.name.as_str())
    }

    /// `trace:rootService`.
    pub fn root_service(&self) -> Option<&str> {
        self.root().and_then(Span::service_name)
    }
}

/// Lower-case hex of an ID.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

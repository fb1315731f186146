//! Field references: attributes with their scopes, and intrinsics with
//! both of their spellings (`duration` and `span:duration`), which the
//! tree keeps apart so a query prints back the way it was written.

/// Where an attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeScope {
    /// `.x`: the span attribute, else the resource attribute.
    Unscoped,
    /// `span.x`
    Span,
    /// `resource.x`
    Resource,
    /// `event.x`: any event of the span.
    Event,
    /// `link.x`: any link of the span.
    Link,
    /// `instrumentation.x`: the instrumentation scope's attributes.
    Instrumentation,
}

impl AttributeScope {
    /// The prefix before the dot (empty for unscoped).
    pub fn prefix(self) -> &'static str {
        match self {
            AttributeScope::Unscoped => "",
            AttributeScope::Span => "span",
            AttributeScope::Resource => "resource",
            AttributeScope::Event => "event",
            AttributeScope::Link => "link",
            AttributeScope::Instrumentation => "instrumentation",
        }
    }
}

/// An attribute reference such as `resource.service.name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// `parent.` prefix: read the attribute of the span's parent.
    pub parent: bool,
    /// The scope.
    pub scope: AttributeScope,
    /// The attribute key, dots included.
    pub name: String,
}

/// An intrinsic field and whether it was written in `scope:name` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Intrinsic {
    /// Which field.
    pub field: IntrinsicField,
    /// `span:name` (true) rather than `name` (false).
    pub scoped: bool,
}

/// The intrinsic fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntrinsicField {
    /// `name` / `span:name`: the span name.
    Name,
    /// `status` / `span:status`.
    Status,
    /// `statusMessage` / `span:statusMessage`.
    StatusMessage,
    /// `kind` / `span:kind`.
    Kind,
    /// `duration` / `span:duration`.
    Duration,
    /// `span:id`, lower-case hex.
    SpanId,
    /// `span:parentID`, lower-case hex; nil for roots.
    ParentId,
    /// `childCount` / `span:childCount`.
    ChildCount,
    /// `nestedSetLeft` / `span:nestedSetLeft`.
    NestedSetLeft,
    /// `nestedSetRight` / `span:nestedSetRight`.
    NestedSetRight,
    /// `nestedSetParent` / `span:nestedSetParent` (-1 for roots).
    NestedSetParent,
    /// `trace:id`, lower-case hex.
    TraceId,
    /// `traceDuration` / `trace:duration`.
    TraceDuration,
    /// `rootName` / `trace:rootName`.
    RootName,
    /// `rootServiceName` / `trace:rootService`.
    RootService,
    /// `event:name` (any event).
    EventName,
    /// `event:timeSinceStart` (any event).
    EventTimeSinceStart,
    /// `link:traceID` (any link), lower-case hex.
    LinkTraceId,
    /// `link:spanID` (any link), lower-case hex.
    LinkSpanId,
    /// `instrumentation:name`.
    InstrumentationName,
    /// `instrumentation:version`.
    InstrumentationVersion,
}

/// `(field, bare spelling, scoped spelling)` for every intrinsic.
pub const INTRINSICS: &[(IntrinsicField, Option<&str>, &str)] = &[
    (IntrinsicField::Name, Some("name"), "span:name"),
    (IntrinsicField::Status, Some("status"), "span:status"),
    (
        IntrinsicField::StatusMessage,
        Some("statusMessage"),
        "span:statusMessage",
    ),
    (IntrinsicField::Kind, Some("kind"), "span:kind"),
    (IntrinsicField::Duration, Some("duration"), "span:duration"),
    (IntrinsicField::SpanId, None, "span:id"),
    (IntrinsicField::ParentId, None, "span:parentID"),
    (
        IntrinsicField::ChildCount,
        Some("childCount"),
        "span:childCount",
    ),
    (
        IntrinsicField::NestedSetLeft,
        Some("nestedSetLeft"),
        "span:nestedSetLeft",
    ),
    (
        IntrinsicField::NestedSetRight,
        Some("nestedSetRight"),
        "span:nestedSetRight",
    ),
    (
        IntrinsicField::NestedSetParent,
        Some("nestedSetParent"),
        "span:nestedSetParent",
    ),
    (IntrinsicField::TraceId, None, "trace:id"),
    (
        IntrinsicField::TraceDuration,
        Some("traceDuration"),
        "trace:duration",
    ),
    (IntrinsicField::RootName, Some("rootName"), "trace:rootName"),
    (
        IntrinsicField::RootService,
        Some("rootServiceName"),
        "trace:rootService",
    ),
    (IntrinsicField::EventName, None, "event:name"),
    (
        IntrinsicField::EventTimeSinceStart,
        None,
        "event:timeSinceStart",
    ),
    (IntrinsicField::LinkTraceId, None, "link:traceID"),
    (IntrinsicField::LinkSpanId, None, "link:spanID"),
    (
        IntrinsicField::InstrumentationName,
        None,
        "instrumentation:name",
    ),
    (
        IntrinsicField::InstrumentationVersion,
        None,
        "instrumentation:version",
    ),
];

impl IntrinsicField {
    /// The field for a bare word such as `duration`.
    pub fn from_bare(word: &str) -> Option<Self> {
        INTRINSICS
            .iter()
            .find(|(_, bare, _)| *bare == Some(word))
            .map(|(f, _, _)| *f)
    }

    /// The field for a scoped spelling such as `span:duration`.
    pub fn from_scoped(text: &str) -> Option<Self> {
        INTRINSICS
            .iter()
            .find(|(_, _, scoped)| *scoped == text)
            .map(|(f, _, _)| *f)
    }

    fn row(self) -> &'static (IntrinsicField, Option<&'static str>, &'static str) {
        // Every variant has a row; the table is checked by a unit test.
        INTRINSICS
            .iter()
            .find(|(f, _, _)| *f == self)
            .unwrap_or(&INTRINSICS[0])
    }

    /// The bare spelling, if the field has one.
    pub fn bare_name(self) -> Option<&'static str> {
        self.row().1
    }

    /// The `scope:name` spelling.
    pub fn scoped_name(self) -> &'static str {
        self.row().2
    }
}

impl Intrinsic {
    /// How the field was written.
    pub fn spelling(self) -> &'static str {
        match (self.scoped, self.field.bare_name()) {
            (false, Some(bare)) => bare,
            _ => self.field.scoped_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsic_table_round_trips() {
        for (f, bare, scoped) in INTRINSICS {
            assert_eq!(f.scoped_name(), *scoped);
            assert_eq!(IntrinsicField::from_scoped(scoped), Some(*f));
            if let Some(b) = bare {
                assert_eq!(IntrinsicField::from_bare(b), Some(*f));
            }
        }
        assert_eq!(INTRINSICS.len(), 21);
    }
}

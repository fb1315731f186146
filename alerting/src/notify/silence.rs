//! Silences with Alertmanager's lifecycle: pending until `startsAt`,
//! active until `endsAt`, then expired and kept for five days.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::matcher::{MatchType, Matcher, is_valid_label_name, matches_all};

/// How long expired silences are kept before being dropped.
pub(crate) const SILENCE_RETENTION_MS: i64 = 5 * 24 * 3_600_000;

fn yes() -> bool {
    true
}

/// A matcher in the API's object form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SilenceMatcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex", default)]
    pub is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

impl SilenceMatcher {
    pub fn op(&self) -> MatchType {
        match (self.is_regex, self.is_equal) {
            (false, true) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regex,
            (true, false) => MatchType::NotRegex,
        }
    }

    fn compile(&self) -> Result<Matcher, String> {
        if !is_valid_label_name(&self.name) {
            return Err(format!("invalid label name {:?}", self.name));
        }
        Matcher::new(&self.name, self.op(), &self.value).map_err(|e| e.to_string())
    }
}

/// A silence as stored and persisted; times are Unix ms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Silence {
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub comment: String,
}

/// A silence's state at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SilenceState {
    Active,
    Pending,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    pub fn state(&self, now: i64) -> SilenceState {
        if self.ends_at <= now {
            SilenceState::Expired
        } else if self.starts_at > now {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }
}

/// What a client asks for when creating or updating a silence.
#[derive(Clone, Debug)]
pub(crate) struct SilenceRequest {
    pub id: Option<String>,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: String,
    pub comment: String,
}

/// Why a silence request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SilenceError {
    #[error("silence {0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Debug)]
struct Entry {
    silence: Silence,
    matchers: Vec<Matcher>,
}

/// All silences, keyed by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct Silences {
    entries: BTreeMap<String, Entry>,
}

fn compile_all(ms: &[SilenceMatcher]) -> Result<Vec<Matcher>, String> {
    if ms.is_empty() {
        return Err("at least one matcher required".into());
    }
    let compiled = ms
        .iter()
        .map(SilenceMatcher::compile)
        .collect::<Result<Vec<_>, _>>()?;
    // A silence whose matchers all match the empty string would mute
    // every alert, which is never what anyone meant. As in Alertmanager,
    // any negative matcher makes the silence acceptable:
    // `alertname!="Watchdog"` alone is a legitimate maintenance silence.
    if compiled
        .iter()
        .all(|m| !m.op.is_negative() && m.matches_value(""))
    {
        return Err("at least one matcher must not match the empty string".into());
    }
    Ok(compiled)
}

impl Silences {
    /// Rebuilds from persisted silences; an invalid one is an error.
    pub fn from_persisted(list: Vec<Silence>) -> Result<Self, String> {
        let mut entries = BTreeMap::new();
        for s in list {
            let matchers =
                compile_all(&s.matchers).map_err(|e| format!("silence {}: {e}", s.id))?;
            entries.insert(
                s.id.clone(),
                Entry {
                    silence: s,
                    matchers,
                },
            );
        }
        Ok(Self { entries })
    }

    pub fn to_persisted(&self) -> Vec<Silence> {
        self.entries.values().map(|e| e.silence.clone()).collect()
    }

    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.entries.get(id).map(|e| &e.silence)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Silence> {
        self.entries.values().map(|e| &e.silence)
    }

    /// Creates a silence or updates one, returning its id. An update that
    /// changes what or when an already running silence mutes expires it
    /// and creates a new one instead, so history stays truthful.
    pub fn upsert(&mut self, req: SilenceRequest, now: i64) -> Result<String, SilenceError> {
        let matchers = compile_all(&req.matchers).map_err(SilenceError::Invalid)?;
        if req.ends_at < req.starts_at {
            return Err(SilenceError::Invalid(
                "end time must not be before start time".into(),
            ));
        }
        if req.ends_at < now {
            return Err(SilenceError::Invalid(
                "end time can't be in the past".into(),
            ));
        }
        if let Some(id) = req.id.as_deref().filter(|id| !id.is_empty()) {
            let Some(existing) = self.entries.get_mut(id) else {
                return Err(SilenceError::NotFound(id.to_string()));
            };
            let old = &existing.silence;
            let same_matchers = old.matchers == req.matchers;
            let in_place = same_matchers
                && match old.state(now) {
                    SilenceState::Active => req.starts_at == old.starts_at && req.ends_at >= now,
                    SilenceState::Pending => req.starts_at >= now,
                    SilenceState::Expired => false,
                };
            if in_place {
                let s = &mut existing.silence;
                s.starts_at = req.starts_at;
                s.ends_at = req.ends_at;
                s.comment = req.comment;
                s.created_by = req.created_by;
                s.updated_at = now;
                return Ok(id.to_string());
            }
            // Replacing a still relevant silence: end the old one first.
            let _ = self.expire(id, now);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let silence = Silence {
            id: id.clone(),
            matchers: req.matchers,
            starts_at: req.starts_at.max(now),
            ends_at: req.ends_at,
            updated_at: now,
            created_by: req.created_by,
            comment: req.comment,
        };
        self.entries.insert(id.clone(), Entry { silence, matchers });
        Ok(id)
    }

    /// Ends a silence now. Returns whether anything changed.
    pub fn expire(&mut self, id: &str, now: i64) -> Result<bool, SilenceError> {
        let Some(e) = self.entries.get_mut(id) else {
            return Err(SilenceError::NotFound(id.to_string()));
        };
        let s = &mut e.silence;
        match s.state(now) {
            SilenceState::Expired => return Ok(false),
            SilenceState::Pending => s.starts_at = now,
            SilenceState::Active => {}
        }
        s.ends_at = now;
        s.updated_at = now;
        Ok(true)
    }

    /// Drops silences expired longer than the retention; returns whether
    /// any were dropped.
    pub fn gc(&mut self, now: i64) -> bool {
        let before = self.entries.len();
        self.entries
            .retain(|_, e| e.silence.ends_at.saturating_add(SILENCE_RETENTION_MS) > now);
        self.entries.len() != before
    }

    /// Ids of the active silences muting these labels.
    pub fn silenced_by(&self, labels: &BTreeMap<String, String>, now: i64) -> Vec<String> {
        self.entries
            .values()
            .filter(|e| {
                e.silence.state(now) == SilenceState::Active && matches_all(&e.matchers, labels)
            })
            .map(|e| e.silence.id.clone())
            .collect()
    }

    /// Counts by state: active, pending, expired.
    pub fn counts(&self, now: i64) -> [(SilenceState, i64); 3] {
        let mut c = [
            (SilenceState::Active, 0),
            (SilenceState::Pending, 0),
            (SilenceState::Expired, 0),
        ];
        for s in self.iter() {
            let st = s.state(now);
            if let Some(slot) = c.iter_mut().find(|(k, _)| *k == st) {
                slot.1 += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
        SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        }
    }

    fn req(
        id: Option<&str>,
        matchers: Vec<SilenceMatcher>,
        starts: i64,
        ends: i64,
    ) -> SilenceRequest {
        SilenceRequest {
            id: id.map(String::from),
            matchers,
            starts_at: starts,
            ends_at: ends,
            created_by: "me".into(),
            comment: "c".into(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lifecycle() {
        let mut s = Silences::default();
        let id = s
            .upsert(
                req(None, vec![m("job", "node", false, true)], 2000, 5000),
                1000,
            )
            .unwrap();
        let ls = labels(&[("job", "node")]);
        assert_eq!(
            s.get(&id).map(|x| x.state(1000)),
            Some(SilenceState::Pending)
        );
        assert!(s.silenced_by(&ls, 1000).is_empty());
        assert_eq!(s.silenced_by(&ls, 2000), std::slice::from_ref(&id));
        assert!(s.silenced_by(&labels(&[("job", "web")]), 2000).is_empty());
        assert!(s.silenced_by(&ls, 5000).is_empty());
        assert!(!s.gc(5000 + SILENCE_RETENTION_MS - 1));
        assert!(s.gc(5000 + SILENCE_RETENTION_MS));
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn validation() {
        let mut s = Silences::default();
        let err = |s: &mut Silences, r| match s.upsert(r, 1000) {
            Err(SilenceError::Invalid(e)) => e,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert!(err(&mut s, req(None, vec![], 1000, 2000)).contains("at least one matcher"));
        assert!(
            err(
                &mut s,
                req(None, vec![m("a", ".*", true, true)], 1000, 2000)
            )
            .contains("empty string")
        );
        assert!(
            err(&mut s, req(None, vec![m("a", "(", true, true)], 1000, 2000))
                .contains("regular expression")
        );
        assert!(
            err(
                &mut s,
                req(None, vec![m("a-b", "x", false, true)], 1000, 2000)
            )
            .contains("label name")
        );
        assert!(
            err(
                &mut s,
                req(None, vec![m("a", "x", false, true)], 3000, 2000)
            )
            .contains("before start")
        );
        assert!(err(&mut s, req(None, vec![m("a", "x", false, true)], 0, 500)).contains("past"));
        assert_eq!(
            s.upsert(
                req(Some("nope"), vec![m("a", "x", false, true)], 1000, 2000),
                1000
            ),
            Err(SilenceError::NotFound("nope".into()))
        );
        // Negative matchers alone are enough, even one matching "".
        for only in [
            m("alertname", "Watchdog", false, false),
            m("a", "", false, false),
        ] {
            let id = s.upsert(req(None, vec![only], 1000, 2000), 1000).unwrap();
            assert_eq!(
                s.silenced_by(&labels(&[("alertname", "Disk"), ("a", "x")]), 1000),
                std::slice::from_ref(&id)
            );
            assert_eq!(s.expire(&id, 1000), Ok(true));
        }
        // Negative matchers work alongside a positive one.
        let id = s
            .upsert(
                req(
                    None,
                    vec![m("a", "x", false, true), m("b", "y.*", true, false)],
                    0,
                    2000,
                ),
                1000,
            )
            .unwrap();
        assert_eq!(s.get(&id).map(|x| x.starts_at), Some(1000));
        assert_eq!(
            s.silenced_by(&labels(&[("a", "x"), ("b", "z")]), 1000),
            std::slice::from_ref(&id)
        );
        assert!(
            s.silenced_by(&labels(&[("a", "x"), ("b", "yes")]), 1000)
                .is_empty()
        );
    }

    #[test]
    fn updates_in_place_or_replace() {
        let mut s = Silences::default();
        let ms = vec![m("a", "x", false, true)];
        let id = s.upsert(req(None, ms.clone(), 1000, 5000), 1000).unwrap();
        // Extending an active silence keeps its id.
        assert_eq!(
            s.upsert(req(Some(&id), ms.clone(), 1000, 9000), 2000)
                .unwrap(),
            id
        );
        assert_eq!(s.get(&id).map(|x| x.ends_at), Some(9000));
        // Changing matchers expires the old one and creates a new one.
        let id2 = s
            .upsert(
                req(Some(&id), vec![m("a", "y", false, true)], 1000, 9000),
                3000,
            )
            .unwrap();
        assert_ne!(id2, id);
        assert_eq!(
            s.get(&id).map(|x| x.state(3000)),
            Some(SilenceState::Expired)
        );
        assert_eq!(
            s.get(&id2).map(|x| x.state(3000)),
            Some(SilenceState::Active)
        );
        assert_eq!(s.expire(&id2, 4000), Ok(true));
        assert_eq!(s.expire(&id2, 4000), Ok(false));
        assert_eq!(
            s.counts(4000),
            [
                (SilenceState::Active, 0),
                (SilenceState::Pending, 0),
                (SilenceState::Expired, 2)
            ]
        );
    }
}

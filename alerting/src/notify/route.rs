//! The routing tree: which nodes an alert lands on, the labels it is
//! grouped by there, and Alertmanager-compatible group keys.

use std::collections::{BTreeMap, BTreeSet};

use super::config::RouteConfig;
use super::error::NotifyError;
use super::matcher::{
    MatchType, Matcher, is_valid_label_name, matches_all, parse_matchers, render_label_set,
    render_matchers, sort_matchers,
};

const DEFAULT_GROUP_WAIT_MS: i64 = 30_000;
const DEFAULT_GROUP_INTERVAL_MS: i64 = 5 * 60_000;
const DEFAULT_REPEAT_INTERVAL_MS: i64 = 4 * 3_600_000;

/// Grouping of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupBy {
    /// `['...']`: every label.
    All,
    /// These labels (possibly none: one group for the route).
    Labels(Vec<String>),
}

/// One node with its inherited options resolved.
#[derive(Clone, Debug)]
pub(crate) struct RouteNode {
    /// Alertmanager's route key: parent key, `/`, own matchers.
    pub key: String,
    pub matchers: Vec<Matcher>,
    pub receiver: Option<String>,
    pub group_by: GroupBy,
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
    pub continue_matching: bool,
    pub children: Vec<usize>,
}

/// The flattened tree; node 0 is the root.
#[derive(Clone, Debug)]
pub(crate) struct RouteTree {
    pub nodes: Vec<RouteNode>,
}

fn route_matchers(cfg: &RouteConfig) -> Result<Vec<Matcher>, String> {
    let mut ms = Vec::new();
    for (k, v) in &cfg.match_eq {
        if !is_valid_label_name(k) {
            return Err(format!("match: invalid label name {k:?}"));
        }
        ms.push(Matcher::new(k, MatchType::Equal, v).map_err(|e| format!("match: {e}"))?);
    }
    for (k, v) in &cfg.match_re {
        if !is_valid_label_name(k) {
            return Err(format!("match_re: invalid label name {k:?}"));
        }
        ms.push(Matcher::new(k, MatchType::Regex, v).map_err(|e| format!("match_re: {e}"))?);
    }
    for (i, s) in cfg.matchers.iter().enumerate() {
        let parsed = parse_matchers(s).map_err(|e| format!("matchers[{i}] {s:?}: {e}"))?;
        ms.extend(parsed);
    }
    sort_matchers(&mut ms);
    Ok(ms)
}

fn group_by(list: &[String]) -> Result<GroupBy, String> {
    if list.iter().any(|l| l == "...") {
        if list.len() != 1 {
            return Err("group_by: '...' must be the only entry".into());
        }
        return Ok(GroupBy::All);
    }
    let mut seen = BTreeSet::new();
    for l in list {
        if !is_valid_label_name(l) {
            return Err(format!("group_by: invalid label name {l:?}"));
        }
        if !seen.insert(l) {
            return Err(format!("group_by: duplicate label {l:?}"));
        }
    }
    Ok(GroupBy::Labels(list.to_vec()))
}

impl RouteTree {
    /// Builds the tree, checking receivers against `receivers`. When
    /// `unconfigured`, the root may lack a receiver.
    pub fn build(
        root: &RouteConfig,
        receivers: &BTreeSet<String>,
        unconfigured: bool,
    ) -> Result<Self, NotifyError> {
        if !root.matchers.is_empty() || !root.match_eq.is_empty() || !root.match_re.is_empty() {
            return Err(NotifyError::Config(
                "route: the root route must not have matchers".into(),
            ));
        }
        if root.continue_matching {
            return Err(NotifyError::Config(
                "route: the root route cannot set continue".into(),
            ));
        }
        if root.receiver.is_none() && !unconfigured {
            return Err(NotifyError::Config(
                "route: the root route must have a receiver".into(),
            ));
        }
        let defaults = RouteNode {
            key: String::new(),
            matchers: Vec::new(),
            receiver: None,
            group_by: GroupBy::Labels(Vec::new()),
            group_wait_ms: DEFAULT_GROUP_WAIT_MS,
            group_interval_ms: DEFAULT_GROUP_INTERVAL_MS,
            repeat_interval_ms: DEFAULT_REPEAT_INTERVAL_MS,
            continue_matching: false,
            children: Vec::new(),
        };
        let mut tree = RouteTree { nodes: Vec::new() };
        tree.add(root, &defaults, "route".into(), None, receivers)?;
        Ok(tree)
    }

    fn add(
        &mut self,
        cfg: &RouteConfig,
        parent: &RouteNode,
        path: String,
        parent_key: Option<&str>,
        receivers: &BTreeSet<String>,
    ) -> Result<usize, NotifyError> {
        let fail = |msg: String| NotifyError::Config(format!("{path}: {msg}"));
        let matchers = route_matchers(cfg).map_err(fail)?;
        let own = render_matchers(&matchers);
        let key = match parent_key {
            Some(p) => format!("{p}/{own}"),
            None => own,
        };
        let receiver = cfg.receiver.clone().or_else(|| parent.receiver.clone());
        if let Some(r) = &receiver
            && !receivers.contains(r)
        {
            return Err(fail(format!("receiver {r:?} does not exist")));
        }
        let ms = |d: Option<crate::duration::PromDuration>, inherited: i64| {
            d.map_or(inherited, |d| d.as_millis())
        };
        let node = RouteNode {
            key: key.clone(),
            matchers,
            receiver,
            group_by: match &cfg.group_by {
                Some(list) => group_by(list).map_err(fail)?,
                None => parent.group_by.clone(),
            },
            group_wait_ms: ms(cfg.group_wait, parent.group_wait_ms),
            group_interval_ms: ms(cfg.group_interval, parent.group_interval_ms),
            repeat_interval_ms: ms(cfg.repeat_interval, parent.repeat_interval_ms),
            continue_matching: cfg.continue_matching,
            children: Vec::new(),
        };
        if node.group_interval_ms <= 0 {
            return Err(fail("group_interval cannot be zero".into()));
        }
        if node.repeat_interval_ms <= 0 {
            return Err(fail("repeat_interval cannot be zero".into()));
        }
        let index = self.nodes.len();
        self.nodes.push(node.clone());
        let mut children = Vec::with_capacity(cfg.routes.len());
        for (i, child) in cfg.routes.iter().enumerate() {
            let child_path = format!("{path}.routes[{i}]");
            children.push(self.add(child, &node, child_path, Some(&key), receivers)?);
        }
        if let Some(n) = self.nodes.get_mut(index) {
            n.children = children;
        }
        Ok(index)
    }

    /// The nodes an alert is delivered through, depth first: the first
    /// matching child (and later ones while `continue` is set), or the node
    /// itself when no child matches.
    pub fn match_routes(&self, labels: &BTreeMap<String, String>) -> Vec<usize> {
        let mut out = Vec::new();
        self.match_from(0, labels, &mut out);
        out
    }

    fn match_from(
        &self,
        index: usize,
        labels: &BTreeMap<String, String>,
        out: &mut Vec<usize>,
    ) -> bool {
        let Some(node) = self.nodes.get(index) else {
            return false;
        };
        if !matches_all(&node.matchers, labels) {
            return false;
        }
        let before = out.len();
        for &child in &node.children {
            let matched = self.match_from(child, labels, out);
            let continues = self.nodes.get(child).is_some_and(|c| c.continue_matching);
            if matched && !continues {
                break;
            }
        }
        if out.len() == before {
            out.push(index);
        }
        true
    }

    /// The labels an alert is grouped by on a node.
    pub fn group_labels(
        &self,
        index: usize,
        labels: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        match self.nodes.get(index).map(|n| &n.group_by) {
            Some(GroupBy::All) => labels.clone(),
            Some(GroupBy::Labels(names)) => names
                .iter()
                .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
            None => BTreeMap::new(),
        }
    }

    /// `<route key>:<group labels>`, Alertmanager's group key.
    pub fn group_key(&self, index: usize, group_labels: &BTreeMap<String, String>) -> String {
        let route_key = self.nodes.get(index).map_or("{}", |n| n.key.as_str());
        format!("{route_key}:{}", render_label_set(group_labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::NotificationsConfig;

    fn tree(yaml: &str) -> RouteTree {
        let cfg: NotificationsConfig = serde_norway::from_str(yaml).unwrap();
        let names = cfg.receivers.iter().map(|r| r.name.clone()).collect();
        RouteTree::build(&cfg.route, &names, false).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn receivers_for(t: &RouteTree, pairs: &[(&str, &str)]) -> Vec<String> {
        t.match_routes(&labels(pairs))
            .into_iter()
            .map(|i| t.nodes[i].receiver.clone().unwrap_or_default())
            .collect()
    }

    const TREE: &str = r#"
receivers: [{name: default}, {name: db}, {name: page}, {name: audit}, {name: web}]
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['team="db"']
      receiver: db
      group_by: [alertname, instance]
      routes:
        - matchers: ['severity="page"']
          receiver: page
    - matchers: ['{severity=~"page|critical", env="prod"}']
      receiver: audit
      continue: true
      group_wait: 1s
    - match: {team: web}
      receiver: web
    - match_re: {team: ".*"}
      receiver: db
"#;

    #[test]
    fn first_match_wins_unless_continue() {
        let t = tree(TREE);
        assert_eq!(receivers_for(&t, &[("team", "db")]), ["db"]);
        assert_eq!(
            receivers_for(&t, &[("team", "db"), ("severity", "page")]),
            ["page"]
        );
        assert_eq!(receivers_for(&t, &[("team", "web")]), ["web"]);
        // `continue` lets the audit route share the alert with a later sibling.
        assert_eq!(
            receivers_for(
                &t,
                &[("team", "web"), ("severity", "page"), ("env", "prod")]
            ),
            ["audit", "web"]
        );
        // The last route matches everything, even an absent team label.
        assert_eq!(receivers_for(&t, &[("alertname", "X")]), ["db"]);
    }

    #[test]
    fn falls_back_to_the_root_and_inherits_options() {
        let t = tree(
            "receivers: [{name: r}, {name: s}]\nroute: {receiver: r, group_wait: 5s, routes: [{match: {a: b}}]}",
        );
        assert_eq!(receivers_for(&t, &[("a", "c")]), ["r"]);
        let child = &t.nodes[t.match_routes(&labels(&[("a", "b")]))[0]];
        assert_eq!(child.receiver.as_deref(), Some("r"));
        assert_eq!(child.group_wait_ms, 5000);
        assert_eq!(child.group_interval_ms, DEFAULT_GROUP_INTERVAL_MS);
        assert_eq!(child.repeat_interval_ms, DEFAULT_REPEAT_INTERVAL_MS);
    }

    #[test]
    fn group_keys_match_alertmanager() {
        let t = tree(TREE);
        let ls = labels(&[
            ("alertname", "InstanceDown"),
            ("team", "db"),
            ("severity", "page"),
            ("instance", "h:9100"),
        ]);
        let idx = t.match_routes(&ls)[0];
        let gl = t.group_labels(idx, &ls);
        assert_eq!(
            t.group_key(idx, &gl),
            r#"{}/{team="db"}/{severity="page"}:{alertname="InstanceDown", instance="h:9100"}"#
        );
        let ls = labels(&[
            ("alertname", "X"),
            ("severity", "critical"),
            ("env", "prod"),
            ("team", "web"),
        ]);
        let idx = t.match_routes(&ls)[0];
        assert_eq!(
            t.group_key(idx, &t.group_labels(idx, &ls)),
            r#"{}/{env="prod",severity=~"page|critical"}:{alertname="X"}"#
        );
        let root = tree("receivers: [{name: r}]\nroute: {receiver: r, group_by: [alertname]}");
        let ls = labels(&[("alertname", "InstanceDown"), ("job", "node")]);
        assert_eq!(
            root.group_key(0, &root.group_labels(0, &ls)),
            r#"{}:{alertname="InstanceDown"}"#
        );
        // Legacy matchers are sorted into the same key as their modern form.
        let legacy = tree(
            "receivers: [{name: r}]\nroute: {receiver: r, routes: [{match: {severity: page}}]}",
        );
        assert_eq!(
            legacy.group_key(1, &BTreeMap::new()),
            r#"{}/{severity="page"}:{}"#
        );
    }

    #[test]
    fn group_by_all_and_none() {
        let t = tree(
            "receivers: [{name: r}]\nroute: {receiver: r, group_by: ['...'], routes: [{match: {a: b}, group_by: []}]}",
        );
        let ls = labels(&[("a", "c"), ("z", "1")]);
        assert_eq!(t.group_labels(0, &ls), ls);
        let ls = labels(&[("a", "b"), ("z", "1")]);
        assert!(t.group_labels(1, &ls).is_empty());
    }
}

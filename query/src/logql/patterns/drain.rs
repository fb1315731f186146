//! The Drain prefix tree (He et al., 2017) with the settings and scoring of
//! Loki's pattern ingester.
//!
//! The tree's first level is the token count, the next levels the leading
//! tokens; a leaf holds the clusters its lines may join. A line joins the
//! leaf's most similar cluster, turning the positions where they differ into
//! wildcards, or starts a new cluster.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::ClusterId;
use super::tokenize::{PARAM, Spacing, TokenizedLine};

/// Loki skips lines with fewer or more tokens than these.
const MIN_TOKENS: usize = 4;
const MAX_TOKENS: usize = 80;
/// Loki's `LogClusterDepth` of 30 less the root and the leaf. The token-count
/// node is depth 1, so at most 27 leading tokens route a line, and never its
/// last token.
const MAX_NODE_DEPTH: usize = 28;
/// A line joins a cluster when at least 30% of its tokens equal the
/// cluster's literal (non-wildcard) tokens.
const SIMILARITY_NUMERATOR: usize = 3;
const SIMILARITY_DENOMINATOR: usize = 10;
const MAX_CHILDREN: usize = 15;
const MAX_CLUSTERS: usize = 300;

type NodeIndex = usize;

#[derive(Clone, Debug, Default)]
struct Node {
    /// `None` for a token-count node, whose parent is `Drain::by_length`.
    parent: Option<NodeIndex>,
    children: Vec<(Box<str>, NodeIndex)>,
    /// Only leaves hold clusters, oldest first (ties in scoring go to the
    /// oldest).
    clusters: Vec<ClusterId>,
}

#[derive(Clone, Debug)]
struct Cluster {
    tokens: Vec<Cow<'static, str>>,
    /// The spacing of the line that started the cluster.
    spacing: Spacing,
    leaf: NodeIndex,
    last_used: u64,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Drain {
    by_length: HashMap<usize, NodeIndex>,
    nodes: Vec<Node>,
    free_nodes: Vec<NodeIndex>,
    clusters: HashMap<ClusterId, Cluster>,
    /// Clusters by last use, for least-recently-used eviction.
    recency: BTreeMap<u64, ClusterId>,
    clock: u64,
    next_id: u32,
}

impl Drain {
    pub(super) fn train(&mut self, line: TokenizedLine<'_>) -> Option<ClusterId> {
        if !(MIN_TOKENS..=MAX_TOKENS).contains(&line.tokens.len()) {
            return None;
        }
        match self.best_match(&line.tokens) {
            Some(id) => {
                if let Some(cluster) = self.clusters.get_mut(&id) {
                    for (kept, seen) in cluster.tokens.iter_mut().zip(&line.tokens) {
                        if *kept != *seen {
                            *kept = Cow::Borrowed(PARAM);
                        }
                    }
                }
                self.touch(id);
                Some(id)
            }
            None => self.create_cluster(line),
        }
    }

    /// A live cluster's tokens and the spacing of the line that started it.
    pub(super) fn cluster(&self, id: ClusterId) -> Option<(&[Cow<'static, str>], &Spacing)> {
        let cluster = self.clusters.get(&id)?;
        Some((&cluster.tokens, &cluster.spacing))
    }

    fn best_match(&self, tokens: &[Cow<'_, str>]) -> Option<ClusterId> {
        let leaf = self.find_leaf(tokens)?;
        // (id, matching literal tokens, wildcards); all candidates have the
        // same length, so comparing counts compares similarities exactly.
        let mut best: Option<(ClusterId, usize, usize)> = None;
        for &id in &self.nodes[leaf].clusters {
            let Some(cluster) = self.clusters.get(&id) else {
                continue;
            };
            if cluster.tokens.len() != tokens.len() {
                continue;
            }
            let wildcards = cluster.tokens.iter().filter(|kept| *kept == PARAM).count();
            let matching = cluster
                .tokens
                .iter()
                .zip(tokens)
                .filter(|(kept, seen)| *kept != PARAM && *kept == *seen)
                .count();
            let better = best.is_none_or(|(_, best_matching, best_wildcards)| {
                matching > best_matching
                    || (matching == best_matching && wildcards > best_wildcards)
            });
            if better {
                best = Some((id, matching, wildcards));
            }
        }
        best.filter(|&(_, matching, _)| {
            matching * SIMILARITY_DENOMINATOR >= tokens.len() * SIMILARITY_NUMERATOR
        })
        .map(|(id, ..)| id)
    }

    fn find_leaf(&self, tokens: &[Cow<'_, str>]) -> Option<NodeIndex> {
        let mut node = *self.by_length.get(&tokens.len())?;
        for token in routing_prefix(tokens) {
            node = self
                .child(node, token)
                .or_else(|| self.child(node, PARAM))?;
        }
        Some(node)
    }

    fn create_cluster(&mut self, line: TokenizedLine<'_>) -> Option<ClusterId> {
        let id = ClusterId(self.next_id);
        // Ids are never reused; a miner out of ids stops creating clusters.
        self.next_id = self.next_id.checked_add(1)?;
        if self.clusters.len() >= MAX_CLUSTERS {
            self.evict_least_recent();
        }
        let tokens: Vec<Cow<'static, str>> = line
            .tokens
            .into_iter()
            .map(|token| match token {
                _ if token == PARAM => Cow::Borrowed(PARAM),
                token => Cow::Owned(token.into_owned()),
            })
            .collect();
        let leaf = self.grow_path(&tokens);
        self.nodes[leaf].clusters.push(id);
        self.clock += 1;
        self.recency.insert(self.clock, id);
        self.clusters.insert(
            id,
            Cluster {
                tokens,
                spacing: line.spacing,
                leaf,
                last_used: self.clock,
            },
        );
        Some(id)
    }

    /// The leaf for a new cluster, creating nodes on the way. Tokens with a
    /// digit go under the wildcard; a node's last free child slot is kept
    /// for the wildcard, and once the node is full, other tokens go there too.
    fn grow_path(&mut self, tokens: &[Cow<'_, str>]) -> NodeIndex {
        let mut node = match self.by_length.get(&tokens.len()) {
            Some(&node) => node,
            None => {
                let node = self.allocate(None);
                self.by_length.insert(tokens.len(), node);
                node
            }
        };
        for token in routing_prefix(tokens) {
            node = match self.child(node, token) {
                Some(child) => child,
                None => {
                    let wildcard = self.child(node, PARAM);
                    let child_count = self.nodes[node].children.len();
                    match wildcard {
                        _ if token.chars().any(char::is_numeric) => {
                            wildcard.unwrap_or_else(|| self.add_child(node, PARAM))
                        }
                        Some(wildcard) if child_count >= MAX_CHILDREN => wildcard,
                        Some(_) => self.add_child(node, token),
                        None if child_count + 1 < MAX_CHILDREN => self.add_child(node, token),
                        None => self.add_child(node, PARAM),
                    }
                }
            };
        }
        node
    }

    fn child(&self, node: NodeIndex, token: &str) -> Option<NodeIndex> {
        self.nodes[node]
            .children
            .iter()
            .find(|(key, _)| **key == *token)
            .map(|&(_, child)| child)
    }

    fn add_child(&mut self, parent: NodeIndex, token: &str) -> NodeIndex {
        let child = self.allocate(Some(parent));
        self.nodes[parent].children.push((token.into(), child));
        child
    }

    fn allocate(&mut self, parent: Option<NodeIndex>) -> NodeIndex {
        let node = Node {
            parent,
            ..Node::default()
        };
        match self.free_nodes.pop() {
            Some(index) => {
                self.nodes[index] = node;
                index
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn touch(&mut self, id: ClusterId) {
        if let Some(cluster) = self.clusters.get_mut(&id) {
            self.recency.remove(&cluster.last_used);
            self.clock += 1;
            cluster.last_used = self.clock;
            self.recency.insert(self.clock, id);
        }
    }

    /// Drops the least recently used cluster and the branch that led only
    /// to it. Loki leaves dead branches in place; pruning them keeps memory
    /// bounded when a long query churns through many clusters, and differs
    /// from Loki only after evictions, where Loki would pause training.
    fn evict_least_recent(&mut self) {
        let Some((_, id)) = self.recency.pop_first() else {
            return;
        };
        let Some(cluster) = self.clusters.remove(&id) else {
            return;
        };
        let mut node = cluster.leaf;
        self.nodes[node].clusters.retain(|&kept| kept != id);
        while self.nodes[node].clusters.is_empty() && self.nodes[node].children.is_empty() {
            let parent = self.nodes[node].parent;
            self.nodes[node] = Node::default();
            self.free_nodes.push(node);
            match parent {
                Some(parent) => {
                    self.nodes[parent]
                        .children
                        .retain(|&(_, child)| child != node);
                    node = parent;
                }
                None => {
                    self.by_length.remove(&cluster.tokens.len());
                    return;
                }
            }
        }
    }
}

/// The tokens that choose a line's path: all but the last, at most 27.
fn routing_prefix<'t, 'a>(tokens: &'t [Cow<'a, str>]) -> &'t [Cow<'a, str>] {
    let routed = tokens.len().saturating_sub(1).min(MAX_NODE_DEPTH - 1);
    &tokens[..routed]
}

#[cfg(test)]
mod tests {
    use super::super::PatternMiner;
    use super::*;

    fn trained(lines: &[&str]) -> (PatternMiner, Vec<Option<ClusterId>>) {
        let mut miner = PatternMiner::new();
        let ids = lines
            .iter()
            .map(|line| miner.train(line.as_bytes()))
            .collect();
        (miner, ids)
    }

    fn live_nodes(miner: &PatternMiner) -> usize {
        miner.drain.nodes.len() - miner.drain.free_nodes.len()
    }

    #[test]
    fn differing_positions_become_wildcards() {
        let (miner, ids) = trained(&["user 42 logged in from web", "user 7 logged in from app"]);
        assert_eq!(ids[0], ids[1]);
        let pattern = miner.pattern(ids[0].unwrap()).unwrap();
        assert_eq!(pattern, "user <_> logged in from <_>");
    }

    #[test]
    fn similarity_threshold_is_thirty_percent_of_the_tokens() {
        // Every routed token has a digit, so all lines share one leaf.
        let (_, ids) = trained(&[
            "a1 b1 c1 d1 e1 f1 g1 x y z",
            "a2 b2 c2 d2 e2 f2 g2 x y z",
            "a3 b3 c3 d3 e3 f3 g3 h3 y z",
        ]);
        assert_eq!(ids[0], ids[1], "3 of 10 equal tokens is enough");
        assert_ne!(ids[0], ids[2], "2 of 10 is not");
    }

    #[test]
    fn ties_go_to_the_cluster_with_more_wildcards_then_the_oldest() {
        let (miner, ids) = trained(&[
            "x1 y1 z1 w",
            "p1 q1 r1 s",
            "p2 q1 r1 s",
            "x1 y1 r1 s",
            "x1 y1 z1 s",
        ]);
        let (older, wildcarded) = (ids[0], ids[1]);
        assert_ne!(older, wildcarded);
        assert_eq!(ids[2], wildcarded);
        // Two equal literal tokens against either cluster.
        assert_eq!(ids[3], wildcarded);
        assert_eq!(miner.pattern(wildcarded.unwrap()).unwrap(), "<_> <_> r1 s");
        // Three against the older, two against the wildcarded one.
        assert_eq!(ids[4], older);
    }

    #[test]
    fn leading_tokens_route_and_digits_route_to_the_wildcard() {
        let (miner, ids) = trained(&[
            "alice logged in now",
            "bob logged in now",
            "user1 logged in now",
            "user2 logged in now",
        ]);
        assert_ne!(ids[0], ids[1], "different literal first tokens never meet");
        assert_eq!(ids[2], ids[3]);
        assert_eq!(miner.pattern(ids[2].unwrap()).unwrap(), "<_> logged in now");
        // The last token never routes, so it can vary within a cluster.
        let (miner, ids) = trained(&["job started on alpha", "job started on beta"]);
        assert_eq!(ids[0], ids[1]);
        assert_eq!(
            miner.pattern(ids[0].unwrap()).unwrap(),
            "job started on <_>"
        );
    }

    #[test]
    fn a_full_node_sends_new_tokens_to_the_wildcard() {
        let words: Vec<String> = (0..16u8)
            .map(|index| format!("word{}", char::from(b'a' + index)))
            .collect();
        let lines: Vec<String> = words
            .iter()
            .map(|word| format!("{word} stays the same"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (miner, ids) = trained(&lines);
        let distinct: std::collections::BTreeSet<_> = ids[..15].iter().collect();
        assert_eq!(distinct.len(), 15, "14 literal children, then the wildcard");
        assert_eq!(ids[15], ids[14]);
        assert_eq!(
            miner.pattern(ids[15].unwrap()).unwrap(),
            "<_> stays the same"
        );
    }

    #[test]
    fn lines_outside_the_size_limits_are_skipped() {
        let mut miner = PatternMiner::new();
        assert_eq!(miner.train(b"too few tokens"), None);
        assert!(miner.train(vec!["w"; 80].join(" ").as_bytes()).is_some());
        assert_eq!(miner.train(vec!["w"; 81].join(" ").as_bytes()), None);
    }

    #[test]
    fn least_recently_used_clusters_are_evicted_and_ids_not_reused() {
        let mut miner = PatternMiner::new();
        // All-digit tokens never match each other, so each line is a cluster.
        let line = |index: usize| format!("a{index} b{index} c{index} d{index}");
        let first: Vec<ClusterId> = (0..MAX_CLUSTERS)
            .map(|index| miner.train(line(index).as_bytes()).unwrap())
            .collect();
        assert_eq!(
            miner.train(line(0).as_bytes()),
            Some(first[0]),
            "touches cluster 0"
        );
        let newest = miner.train(line(MAX_CLUSTERS).as_bytes()).unwrap();
        assert!(first.iter().all(|old| *old < newest));
        assert!(miner.pattern(first[0]).is_some());
        assert_eq!(
            miner.pattern(first[1]),
            None,
            "the least recently used went"
        );
        assert_eq!(miner.pattern(newest).unwrap(), "a300 b300 c300 d300");
        assert_eq!(miner.drain.clusters.len(), MAX_CLUSTERS);
        // An evicted cluster's line starts a new cluster under a new id.
        let again = miner.train(line(1).as_bytes()).unwrap();
        assert!(again > newest);
    }

    #[test]
    fn evicted_branches_are_pruned() {
        let mut miner = PatternMiner::new();
        // Each position takes one of 14 letters, so no node overflows into
        // its wildcard and every line reaches a leaf of its own: without
        // pruning, the tree would keep a branch per line ever seen.
        for index in 0..20_000usize {
            let words: Vec<String> = (0..6u32)
                .map(|position| {
                    let digit = index / 14usize.pow(position) % 14;
                    char::from(b'a' + digit as u8).to_string()
                })
                .collect();
            let line = format!("{} tail end", words.join(" "));
            assert!(miner.train(line.as_bytes()).is_some());
        }
        assert_eq!(miner.drain.clusters.len(), MAX_CLUSTERS);
        assert!(live_nodes(&miner) <= MAX_CLUSTERS * MAX_NODE_DEPTH);
        let leaves: usize = miner
            .drain
            .nodes
            .iter()
            .map(|node| node.clusters.len())
            .sum();
        assert_eq!(
            leaves, MAX_CLUSTERS,
            "no stale cluster ids remain in leaves"
        );
    }
}

//! ntfy: one JSON publish per notification, posted to the server root with
//! the topic in the body, so titles, tags and priorities need no headers.

use reqwest::header::HeaderValue;
use serde::Serialize;

use super::{Notification, Outcome, SendError, basic, header_value, parse_http_url, post_payload};
use crate::notify::alert::StoredAlert;
use crate::notify::config::NtfyConfig;
use crate::notify::matcher::render_label_set;

/// ntfy rejects longer messages (or turns them into attachments).
const MAX_MESSAGE_BYTES: usize = 4096;

/// A compiled ntfy target.
#[derive(Debug)]
pub(crate) struct NtfyTarget {
    root: url::Url,
    topic: String,
    priority: Option<u8>,
    tags: Vec<String>,
    click: Option<String>,
    auth: Option<HeaderValue>,
}

/// The JSON publish body.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Publish {
    pub topic: String,
    pub title: String,
    pub message: String,
    pub priority: u8,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click: Option<String>,
}

fn severity_priority(a: &StoredAlert) -> u8 {
    match a.labels.get("severity").map(String::as_str) {
        Some("critical" | "page") => 5,
        Some("warning") => 4,
        Some("info") => 2,
        _ => 3,
    }
}

fn line(a: &StoredAlert) -> String {
    a.annotations
        .get("summary")
        .or_else(|| a.annotations.get("description"))
        .cloned()
        .unwrap_or_else(|| render_label_set(&a.labels))
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl NtfyTarget {
    pub fn build(cfg: &NtfyConfig) -> Result<Self, String> {
        let url = parse_http_url(&cfg.url.0)?;
        // Everything before the last path segment is the server (which may
        // live under a prefix); the last segment is the topic.
        let path = url.path().trim_end_matches('/');
        let (prefix, topic) = path.rsplit_once('/').unwrap_or(("", path));
        if topic.is_empty() {
            return Err("url must name a topic, e.g. https://ntfy.sh/mytopic".into());
        }
        let mut root = url.clone();
        root.set_path(&format!("{prefix}/"));
        root.set_query(None);
        root.set_fragment(None);
        if let Some(p) = cfg.priority
            && !(1..=5).contains(&p)
        {
            return Err(format!("priority must be between 1 and 5, got {p}"));
        }
        let auth = match (&cfg.token, &cfg.username, &cfg.password) {
            (Some(_), Some(_), _) => return Err("token and username are mutually exclusive".into()),
            (Some(t), None, _) => Some(header_value(&format!("Bearer {}", t.0))?),
            (None, Some(u), p) => {
                let pw = p.as_ref().map_or("", |p| p.0.as_str());
                Some(header_value(&basic(u, pw))?)
            }
            (None, None, Some(_)) => return Err("password requires username".into()),
            (None, None, None) => None,
        };
        Ok(Self {
            root,
            topic: topic.to_string(),
            priority: cfg.priority,
            tags: cfg.tags.clone(),
            click: cfg.click.clone().filter(|c| !c.is_empty()),
            auth,
        })
    }

    /// The publish body, or `None` when filtering leaves nothing to send.
    pub fn publish(&self, send_resolved: bool, n: &Notification) -> Option<Publish> {
        let alerts = n.visible(send_resolved);
        let (firing, resolved): (Vec<&StoredAlert>, Vec<&StoredAlert>) =
            alerts.into_iter().partition(|a| !a.resolved_at(n.now));
        if firing.is_empty() && resolved.is_empty() {
            return None;
        }
        let values: Vec<&str> = n.group_labels.values().map(String::as_str).collect();
        let status = if firing.is_empty() {
            "[RESOLVED]".to_string()
        } else {
            format!("[FIRING:{}]", firing.len())
        };
        let title = format!("{status} {}", values.join(" "))
            .trim_end()
            .to_string();
        let message: Vec<String> = firing
            .iter()
            .chain(resolved.iter())
            .map(|a| line(a))
            .collect();
        let priority = self.priority.unwrap_or_else(|| {
            firing
                .iter()
                .map(|a| severity_priority(a))
                .max()
                .unwrap_or(3)
        });
        let status_tag = match (firing.is_empty(), priority) {
            (true, _) => "white_check_mark",
            (false, 5) => "rotating_light",
            (false, 4) => "warning",
            (false, _) => "bell",
        };
        let mut tags = vec![status_tag.to_string()];
        tags.extend(self.tags.iter().cloned());
        let click = self.click.clone().or_else(|| {
            firing
                .iter()
                .chain(resolved.iter())
                .next()
                .map(|a| a.generator_url.clone())
                .filter(|u| !u.is_empty())
        });
        Some(Publish {
            topic: self.topic.clone(),
            title,
            message: truncate(message.join("\n"), MAX_MESSAGE_BYTES),
            priority,
            tags,
            click,
        })
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        send_resolved: bool,
        n: &Notification,
    ) -> Result<Outcome, SendError> {
        let Some(p) = self.publish(send_resolved, n) else {
            return Ok(Outcome::Skipped);
        };
        post_payload(client, &self.root, self.auth.as_ref(), &p).await?;
        Ok(Outcome::Sent)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::notify::alert::Alert;
    use crate::notify::config::Secret;

    fn cfg(url: &str) -> NtfyConfig {
        NtfyConfig {
            url: Secret(url.into()),
            send_resolved: true,
            priority: None,
            tags: vec![],
            click: None,
            token: None,
            username: None,
            password: None,
        }
    }

    fn alert(pairs: &[(&str, &str)], summary: Option<&str>, ends_at: Option<i64>) -> StoredAlert {
        StoredAlert::from_alert(
            Alert {
                labels: pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                annotations: summary
                    .map(|s| ("summary".to_string(), s.to_string()))
                    .into_iter()
                    .collect(),
                starts_at: 1,
                ends_at,
                generator_url: "http://prom/g".into(),
            },
            10,
        )
    }

    fn notif(alerts: Vec<StoredAlert>) -> Notification {
        Notification {
            receiver: "r".into(),
            group_key: "k".into(),
            group_labels: BTreeMap::from([("alertname".to_string(), "Disk".to_string())]),
            alerts,
            now: 10,
            external_url: String::new(),
        }
    }

    #[test]
    fn topic_and_root_come_from_the_url() {
        let t = NtfyTarget::build(&cfg("https://ntfy.sh/mytopic")).unwrap();
        assert_eq!(
            (t.root.as_str(), t.topic.as_str()),
            ("https://ntfy.sh/", "mytopic")
        );
        let t = NtfyTarget::build(&cfg("http://h:8080/ntfy/alerts/")).unwrap();
        assert_eq!(
            (t.root.as_str(), t.topic.as_str()),
            ("http://h:8080/ntfy/", "alerts")
        );
        assert!(NtfyTarget::build(&cfg("https://ntfy.sh/")).is_err());
        let mut c = cfg("https://ntfy.sh/t");
        c.token = Some(Secret("a".into()));
        c.username = Some("u".into());
        assert!(NtfyTarget::build(&c).is_err());
    }

    #[test]
    fn priority_tags_and_message() {
        let t = NtfyTarget::build(&cfg("https://ntfy.sh/t")).unwrap();
        let n = notif(vec![
            alert(
                &[("alertname", "Disk"), ("severity", "warning")],
                Some("disk full"),
                None,
            ),
            alert(
                &[("alertname", "Disk"), ("severity", "info"), ("x", "1")],
                None,
                Some(5),
            ),
            alert(&[("alertname", "Disk"), ("severity", "info")], None, None),
        ]);
        let p = t.publish(true, &n).unwrap();
        assert_eq!(p.title, "[FIRING:2] Disk");
        assert_eq!(p.priority, 4);
        assert_eq!(p.tags, ["warning"]);
        assert_eq!(
            p.message,
            "disk full\n{alertname=\"Disk\", severity=\"info\"}\n{alertname=\"Disk\", severity=\"info\", x=\"1\"}"
        );
        assert_eq!(p.click.as_deref(), Some("http://prom/g"));
        let resolved = notif(vec![alert(
            &[("alertname", "Disk"), ("severity", "critical")],
            None,
            Some(5),
        )]);
        let p = t.publish(true, &resolved).unwrap();
        assert_eq!((p.title.as_str(), p.priority), ("[RESOLVED] Disk", 3));
        assert_eq!(p.tags, ["white_check_mark"]);
        assert!(t.publish(false, &resolved).is_none());
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let s = "é".repeat(3000);
        let cut = truncate(s, MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), 4096);
        let cut = truncate(format!("a{}", "é".repeat(3000)), MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), 4095);
    }
}

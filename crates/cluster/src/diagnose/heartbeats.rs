//! Heartbeats: pods that send none or stopped sending, pods on an older configuration
//! revision, and pods of one instance on different versions.

use super::{count, finding};
use crate::health::is_ready;
use crate::objects::{Index, name};
use crate::report::Heartbeat;
use std::collections::{BTreeMap, BTreeSet};
use tollgate_domain::Timestamp;
use tollgate_domain::instances::{Diagnosis, Severity};

fn fresh(h: &Heartbeat, stale_ms: i64, now: Timestamp) -> bool {
    now.millis().saturating_sub(h.last_seen.millis()) <= stale_ms
}

fn ago(h: &Heartbeat, now: Timestamp) -> String {
    format!(
        "{} s ago",
        now.millis().saturating_sub(h.last_seen.millis()) / 1000
    )
}

/// Warning: running pods of an instance with no heartbeat (once older than the stale window, so
/// a starting pod is not flagged), and heartbeats older than the window for pods that still run
/// (or, with no cluster view, for any process).
pub fn missing_or_stale(
    index: Option<&Index<'_>>,
    heartbeats: &[Heartbeat],
    stale_ms: i64,
    now: Timestamp,
) -> Vec<Diagnosis> {
    let by_pod: BTreeMap<&str, &Heartbeat> =
        heartbeats.iter().map(|h| (h.pod.as_str(), h)).collect();
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut stale: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    match index {
        Some(index) => {
            for (_, instance) in index.instances() {
                for pod in index.pods_of(instance) {
                    let running =
                        pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                    let age = pod
                        .metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| now.millis().saturating_sub(t.0.as_millisecond()))
                        .unwrap_or(0);
                    if !running || pod.metadata.deletion_timestamp.is_some() {
                        continue;
                    }
                    match by_pod.get(name(&pod.metadata)) {
                        None if age > stale_ms && is_ready(pod) => {
                            missing
                                .entry(instance)
                                .or_default()
                                .push(name(&pod.metadata));
                        }
                        Some(h) if !fresh(h, stale_ms, now) => {
                            stale.entry(instance).or_default().push(format!(
                                "{} (last seen {})",
                                h.pod,
                                ago(h, now)
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        None => {
            for h in heartbeats.iter().filter(|h| !fresh(h, stale_ms, now)) {
                stale.entry(h.instance.as_str()).or_default().push(format!(
                    "{} (last seen {})",
                    h.pod,
                    ago(h, now)
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (instance, pods) in missing {
        out.push(finding(
            "heartbeat-missing",
            Severity::Warning,
            format!(
                "{} of instance {instance} never sent a heartbeat",
                count(pods.len(), "running pod", "running pods")
            ),
            vec![instance.to_owned()],
            vec![format!("pods: {}", pods.join(", ")), "a gateway writes one every 5 s to the shared database".to_owned()],
            "Check that these pods run `tollgate gateway` with the same TOLLGATE_DATABASE_URL as the portal, and that POD_NAME is set from the Downward API (metadata.name) so the heartbeat names the pod.",
            vec![format!("kubectl -n <namespace> logs {} | grep -i heartbeat", pods.first().copied().unwrap_or("<pod>"))],
        ));
    }
    for (instance, pods) in stale {
        out.push(finding(
            "heartbeat-stale",
            Severity::Warning,
            format!(
                "{} of instance {instance} stopped sending heartbeats",
                count(pods.len(), "process", "processes")
            ),
            vec![instance.to_owned()],
            pods,
            "A process that stops writing heartbeats is hung, cut off from the database, or gone. Look at its logs and readiness; restart it if it is hung.",
            vec!["kubectl -n <namespace> describe pod <pod>".to_owned()],
        ));
    }
    out
}

/// Warning: processes whose applied configuration revision is behind `current`, the database's
/// revision now (the change feed or the revision poll is not reaching them). With `current`
/// unknown, the newest revision any fresh process has applied stands in for it, which cannot see
/// every process being behind.
pub fn config_behind(
    heartbeats: &[Heartbeat],
    current: Option<i64>,
    stale_ms: i64,
    now: Timestamp,
) -> Vec<Diagnosis> {
    let live: Vec<&Heartbeat> = heartbeats
        .iter()
        .filter(|h| fresh(h, stale_ms, now))
        .collect();
    // A process may have applied a change made after `current` was read: the larger wins.
    let Some(newest) = live.iter().map(|h| h.config_revision).chain(current).max() else {
        return Vec::new();
    };
    let behind: Vec<&&Heartbeat> = live.iter().filter(|h| h.config_revision < newest).collect();
    if behind.is_empty() {
        return Vec::new();
    }
    vec![finding(
        "config-revision-behind",
        Severity::Warning,
        format!(
            "{} behind the {} configuration revision {newest}",
            count(behind.len(), "gateway process is", "gateway processes are"),
            if current == Some(newest) {
                "database's"
            } else {
                "newest"
            }
        ),
        behind.iter().map(|h| h.instance.clone()).collect(),
        behind
            .iter()
            .map(|h| format!("{} ({}): revision {}", h.pod, h.instance, h.config_revision))
            .collect(),
        "They should catch up within the poll interval (3 s by default). If they do not, they cannot read the database's revision: check their database connection and logs.",
        vec!["kubectl -n <namespace> logs <pod> | grep -i revision".to_owned()],
    )]
}

/// Warning: fresh processes of one instance on different Tollgate versions (normal for the
/// length of a rollout).
pub fn mixed_versions(heartbeats: &[Heartbeat], stale_ms: i64, now: Timestamp) -> Vec<Diagnosis> {
    let mut versions: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for h in heartbeats.iter().filter(|h| fresh(h, stale_ms, now)) {
        versions
            .entry(h.instance.as_str())
            .or_default()
            .entry(h.version.as_str())
            .or_default()
            .push(h.pod.as_str());
    }
    versions
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(instance, v)| {
            let list: BTreeSet<&str> = v.keys().copied().collect();
            finding(
                "mixed-versions",
                Severity::Warning,
                format!(
                    "Instance {instance} runs {} versions at once ({})",
                    list.len(),
                    list.into_iter().collect::<Vec<_>>().join(", ")
                ),
                vec![instance.to_owned()],
                v.iter()
                    .map(|(ver, pods)| format!("{ver}: {}", pods.join(", ")))
                    .collect(),
                "Expected while a rollout is in progress. If it lasts, a rollout is stuck: check the Deployment's rollout status.",
                vec![format!("kubectl -n <namespace> rollout status deployment/{instance}")],
            )
        })
        .collect()
}

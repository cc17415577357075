//! The instance health report: what the cluster crate computes from Kubernetes and the
//! heartbeats, and what the portal and `/api/v1/instances` show. Plain data, shared with wasm.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Argo CD's health states, declared from best to worst (`Ord` follows that order), so the
/// health of several parts is the worst of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HealthState {
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    Unknown,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "Healthy",
            HealthState::Suspended => "Suspended",
            HealthState::Progressing => "Progressing",
            HealthState::Missing => "Missing",
            HealthState::Degraded => "Degraded",
            HealthState::Unknown => "Unknown",
        }
    }
}

/// A state and the sentence that explains it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub state: HealthState,
    pub reason: String,
}

impl Health {
    pub fn new(state: HealthState, reason: impl Into<String>) -> Health {
        Health {
            state,
            reason: reason.into(),
        }
    }

    pub fn healthy() -> Health {
        Health::new(HealthState::Healthy, "")
    }

    /// The worst of several, keeping the reasons of every part in that worst state.
    pub fn worst<'a>(parts: impl IntoIterator<Item = &'a Health>) -> Health {
        let parts: Vec<&Health> = parts.into_iter().collect();
        let state = parts
            .iter()
            .map(|h| h.state)
            .max()
            .unwrap_or(HealthState::Healthy);
        // "Healthy" needs no explanation; the parts' own notes would only be noise.
        let reasons: Vec<&str> = parts
            .iter()
            .filter(|h| state != HealthState::Healthy && h.state == state && !h.reason.is_empty())
            .map(|h| h.reason.as_str())
            .collect();
        Health::new(state, reasons.join("; "))
    }
}

/// How bad a finding is, from least to most (`Ord` follows that order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One finding: what is wrong, the evidence, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// A stable identifier of the kind of finding, e.g. `service-selector-overlap`.
    pub code: String,
    pub severity: Severity,
    /// One sentence naming the object and the problem.
    pub title: String,
    /// The instances it concerns (empty when it concerns none in particular).
    pub instances: Vec<String>,
    /// The instance whose object it is about (a Service's own instance), when there is one: an
    /// instance's card shows the findings about its own objects first.
    pub owner: Option<String>,
    /// The facts it rests on, one a line.
    pub evidence: Vec<String>,
    /// The fix in words.
    pub fix: String,
    /// The change to make: kubectl commands or a Kustomize/Helm snippet.
    pub fix_commands: Vec<String>,
}

/// The heartbeat a gateway process writes, as the instance view shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatView {
    pub instance: String,
    pub version: String,
    pub config_revision: i64,
    pub in_flight: i64,
    pub last_seen: Timestamp,
    /// Older than the configured stale threshold.
    pub stale: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodReport {
    pub name: String,
    /// The instance whose Deployment owns it (through its ReplicaSet), when known.
    pub instance: Option<String>,
    pub phase: String,
    pub ready: bool,
    pub restarts: i32,
    /// Why a container last terminated, e.g. `OOMKilled` or `Error (exit 1)`.
    pub last_termination: Option<String>,
    pub oom_killed: bool,
    pub created_at: Option<Timestamp>,
    pub node: Option<String>,
    pub image: Option<String>,
    pub health: Health,
    /// False when the row comes from heartbeats only (no pod of that name in the cluster view).
    pub from_kubernetes: bool,
    pub heartbeat: Option<HeartbeatView>,
}

/// A pod behind a Service, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub pod: String,
    pub instance: Option<String>,
    pub ready: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub name: String,
    /// `key=value,...` as kubectl shows it.
    pub selector: String,
    pub endpoints: Vec<EndpointView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HpaReport {
    pub name: String,
    pub target: String,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub current_replicas: i32,
    pub desired_replicas: i32,
    pub metrics: Vec<String>,
    pub health: Health,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdbReport {
    pub name: String,
    pub selector: String,
    /// `minAvailable: 1` or `maxUnavailable: 25%`.
    pub budget: String,
    pub disruptions_allowed: i32,
    pub current_healthy: i32,
    pub desired_healthy: i32,
    pub health: Health,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReport {
    /// `Pod/claude-7d9f-abcde`.
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub last_seen: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replicas {
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceReport {
    pub name: String,
    /// The Deployment, when Kubernetes knows one.
    pub deployment: Option<String>,
    pub health: Health,
    pub replicas: Replicas,
    pub pods: Vec<PodReport>,
    pub services: Vec<ServiceReport>,
    pub hpas: Vec<HpaReport>,
    pub pdbs: Vec<PdbReport>,
    /// Recent `Warning` events of its Deployment, ReplicaSets, pods, HPAs and PDBs.
    pub events: Vec<EventReport>,
    pub diagnoses: Vec<Diagnosis>,
}

impl InstanceReport {
    /// The most severe finding; among equals, one about this instance's own objects, else the
    /// first.
    pub fn worst_diagnosis(&self) -> Option<&Diagnosis> {
        let own = |d: &Diagnosis| d.owner.as_deref() == Some(self.name.as_str());
        self.diagnoses
            .iter()
            .fold(None, |best: Option<&Diagnosis>, d| match best {
                Some(b) if b.severity > d.severity => Some(b),
                Some(b) if b.severity == d.severity && (own(b) || !own(d)) => Some(b),
                _ => Some(d),
            })
    }
}

/// Whether the Kubernetes parts are on, and how complete the view is.
/// As JSON: `{"state":"off","reason":...}` or `{"state":"on","namespace":...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum KubernetesStatus {
    /// No cluster configured or reachable; instances come from heartbeats only.
    Off { reason: String },
    On {
        namespace: String,
        /// Resources the watches could not read, e.g. `pods: forbidden (403) ...`.
        problems: Vec<String>,
        /// Every watch has listed at least once.
        synced: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterReport {
    pub kubernetes: KubernetesStatus,
    pub generated_at: Timestamp,
    pub instances: Vec<InstanceReport>,
    /// Every finding, instance or not, most severe first.
    pub diagnoses: Vec<Diagnosis>,
}

impl ClusterReport {
    pub fn instance(&self, name: &str) -> Option<&InstanceReport> {
        self.instances.iter().find(|i| i.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_health_follows_argo_order_and_keeps_reasons() {
        let parts = [
            Health::new(HealthState::Progressing, "rolling out"),
            Health::new(HealthState::Degraded, "deadline exceeded"),
            Health::new(HealthState::Healthy, ""),
            Health::new(HealthState::Degraded, "pdb insufficient"),
        ];
        let w = Health::worst(&parts);
        assert_eq!(w.state, HealthState::Degraded);
        assert_eq!(w.reason, "deadline exceeded; pdb insufficient");
        assert!(HealthState::Unknown > HealthState::Degraded);
        assert!(HealthState::Suspended < HealthState::Progressing);
        assert_eq!(Health::worst(&[]).state, HealthState::Healthy);
        let fine = [Health::new(HealthState::Healthy, "AbleToScale")];
        assert_eq!(
            Health::worst(&fine).reason,
            "",
            "no notes on a healthy whole"
        );
    }

    #[test]
    fn the_worst_finding_prefers_the_instances_own_objects() {
        let d = |code: &str, severity, owner: Option<&str>| Diagnosis {
            code: code.into(),
            severity,
            title: code.into(),
            instances: vec!["a".into(), "b".into()],
            owner: owner.map(Into::into),
            evidence: vec![],
            fix: String::new(),
            fix_commands: vec![],
        };
        let mut r = InstanceReport {
            name: "b".into(),
            deployment: None,
            health: Health::healthy(),
            replicas: Replicas::default(),
            pods: vec![],
            services: vec![],
            hpas: vec![],
            pdbs: vec![],
            events: vec![],
            diagnoses: vec![
                d("warn", Severity::Warning, Some("b")),
                d("svc-a", Severity::Critical, Some("a")),
                d("svc-b", Severity::Critical, Some("b")),
            ],
        };
        assert_eq!(r.worst_diagnosis().map(|d| d.code.as_str()), Some("svc-b"));
        r.name = "c".into();
        assert_eq!(r.worst_diagnosis().map(|d| d.code.as_str()), Some("svc-a"));
    }
}

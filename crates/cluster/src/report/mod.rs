//! The health report: instances discovered from Deployments (or, with no cluster view, from
//! heartbeats), each with its health, pods, Services, HPAs, PDBs, Warning events and diagnoses.
//! Pure: the same inputs give the same report.

mod rows;

pub use rows::service_reports;

use crate::diagnose;
use crate::health;
use crate::objects::{Discovery, Index, labels, name};
use crate::selector::selector_matches;
use rows::{events, heartbeat_only, hpa_report, pdb_report, pod_report};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tollgate_domain::Timestamp;
use tollgate_domain::instances::*;

/// A gateway process's heartbeat row (`gateway_nodes`), as the report needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub instance: String,
    pub pod: String,
    pub version: String,
    pub config_revision: i64,
    pub in_flight: i64,
    pub last_seen: Timestamp,
}

/// Requests for `model` that `pod` served, as the spend logs of the last hour record them:
/// `instance` is what the serving process says it is (its `TOLLGATE_INSTANCE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficSample {
    pub instance: String,
    pub pod: String,
    /// The model asked for.
    pub model: String,
    pub requests: u64,
    /// Of those, requests the instance refused as not its own: no route for the model there,
    /// or a key not allowed on it.
    pub misdirected: u64,
}

/// How the report is computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSettings {
    pub discovery: Discovery,
    /// A heartbeat older than this is stale.
    pub heartbeat_stale_ms: i64,
    /// At most this many Warning events per instance, newest first.
    pub max_events: usize,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            discovery: Discovery::default(),
            heartbeat_stale_ms: 30_000,
            max_events: 20,
        }
    }
}

/// Where one watched resource stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KindState {
    /// Not listed yet.
    Pending,
    Synced,
    /// The list failed; `forbidden` when the API server answered 403 (RBAC).
    Failed {
        message: String,
        forbidden: bool,
    },
}

/// The state of every watched resource, by plural name (`pods`, `deployments`, ...).
pub type Access = BTreeMap<String, KindState>;

/// Resources without which there is no instance health at all.
pub const CORE_KINDS: [&str; 3] = ["deployments", "replicasets", "pods"];

fn problems(access: &Access) -> Vec<String> {
    access
        .iter()
        .filter_map(|(kind, s)| match s {
            KindState::Failed { message, forbidden } => Some(if *forbidden {
                format!("{kind}: forbidden (403): {message}")
            } else {
                format!("{kind}: {message}")
            }),
            _ => None,
        })
        .collect()
}

/// The report from the watches' objects. `config_revision` is the database's configuration
/// revision now (`None` when unknown), which every process should have applied.
#[expect(
    clippy::too_many_arguments,
    reason = "a pure function of plain inputs, one per source; each has its own type"
)]
pub fn build_live(
    namespace: &str,
    objects: &crate::Objects,
    access: &Access,
    heartbeats: &[Heartbeat],
    config_revision: Option<i64>,
    traffic: &[TrafficSample],
    settings: &ReportSettings,
    now: Timestamp,
) -> ClusterReport {
    let index = Index::new(objects, &settings.discovery);
    let mut diagnoses = diagnose::all(
        &index,
        heartbeats,
        config_revision,
        traffic,
        settings.heartbeat_stale_ms,
        now,
    );
    let problems = problems(access);
    if !problems.is_empty() {
        diagnoses.push(diagnose_access(namespace, &problems));
    }
    let core_problem: Vec<String> = CORE_KINDS
        .iter()
        .filter_map(|k| match access.get(*k) {
            Some(KindState::Synced) => None,
            Some(KindState::Failed { message, forbidden }) => Some(if *forbidden {
                format!("cannot list {k}: forbidden (403): {message}")
            } else {
                format!("cannot list {k}: {message}")
            }),
            Some(KindState::Pending) | None => Some(format!("{k} not listed yet")),
        })
        .collect();
    let by_pod: BTreeMap<&str, &Heartbeat> =
        heartbeats.iter().map(|h| (h.pod.as_str(), h)).collect();

    let mut instances = Vec::new();
    let mut seen = BTreeSet::new();
    for (deployment, instance) in index.instances() {
        seen.insert(instance.to_owned());
        let Some(d) = objects
            .deployments
            .iter()
            .find(|d| name(&d.metadata) == deployment)
        else {
            continue;
        };
        let pods = index.pods_of(instance);
        let pod_labels: Vec<_> = pods.iter().map(|p| labels(&p.metadata)).collect();
        let mut pod_rows: Vec<PodReport> = pods
            .iter()
            .map(|p| {
                pod_report(
                    p,
                    Some(instance),
                    by_pod.get(name(&p.metadata)).copied(),
                    settings,
                    now,
                )
            })
            .collect();
        let known: BTreeSet<&str> = pods.iter().map(|p| name(&p.metadata)).collect();
        pod_rows.extend(
            heartbeats
                .iter()
                .filter(|h| h.instance == instance && !known.contains(h.pod.as_str()))
                .filter(|h| !is_stale(h, settings, now))
                .map(|h| heartbeat_only(h, settings, now)),
        );
        let hpas: Vec<HpaReport> = objects
            .hpas
            .iter()
            .filter(|h| {
                h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.kind == "Deployment" && s.scale_target_ref.name == deployment
                })
            })
            .map(hpa_report)
            .collect();
        let pdbs: Vec<PdbReport> = objects
            .pdbs
            .iter()
            .filter(|p| {
                let sel = p.spec.as_ref().and_then(|s| s.selector.as_ref());
                sel.is_some_and(|s| pod_labels.iter().any(|l| selector_matches(s, l)))
            })
            .map(pdb_report)
            .collect();
        let services = service_reports(&index, instance);
        let mut parts = vec![health::deployment(d)];
        parts.extend(hpas.iter().map(|h| h.health.clone()));
        parts.extend(pdbs.iter().map(|p| p.health.clone()));
        let mut state = Health::worst(&parts);
        if !core_problem.is_empty() {
            state = Health::new(HealthState::Unknown, core_problem.join("; "));
        }
        let mut related: BTreeSet<(String, String)> = BTreeSet::new();
        related.insert(("Deployment".into(), deployment.to_owned()));
        for p in &pods {
            related.insert(("Pod".into(), name(&p.metadata).to_owned()));
            if let Some(rs) = index.replica_set_of_pod(p) {
                related.insert(("ReplicaSet".into(), rs.to_owned()));
            }
        }
        for h in &hpas {
            related.insert(("HorizontalPodAutoscaler".into(), h.name.clone()));
        }
        for p in &pdbs {
            related.insert(("PodDisruptionBudget".into(), p.name.clone()));
        }
        let status = d.status.as_ref();
        instances.push(InstanceReport {
            name: instance.to_owned(),
            deployment: Some(deployment.to_owned()),
            health: state,
            replicas: Replicas {
                desired: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
            },
            pods: pod_rows,
            services,
            hpas,
            pdbs,
            events: events(objects, &related, settings.max_events),
            diagnoses: diagnoses
                .iter()
                .filter(|x| x.instances.iter().any(|i| i == instance))
                .cloned()
                .collect(),
        });
    }
    // Instances that send heartbeats but have no Deployment here.
    let mut orphans: BTreeMap<&str, Vec<&Heartbeat>> = BTreeMap::new();
    for h in heartbeats.iter().filter(|h| !seen.contains(&h.instance)) {
        orphans.entry(h.instance.as_str()).or_default().push(h);
    }
    for (instance, beats) in orphans {
        let reason = if core_problem.is_empty() {
            format!(
                "no Deployment labelled {}={} for this instance in namespace {namespace}; known from heartbeats only",
                settings.discovery.label_key, settings.discovery.label_value
            )
        } else {
            core_problem.join("; ")
        };
        let state = if core_problem.is_empty() {
            HealthState::Missing
        } else {
            HealthState::Unknown
        };
        instances.push(heartbeat_instance(
            instance,
            &beats,
            Health::new(state, reason),
            &diagnoses,
            settings,
            now,
        ));
    }
    ClusterReport {
        kubernetes: KubernetesStatus::On {
            namespace: namespace.to_owned(),
            synced: access.values().all(|s| *s == KindState::Synced),
            problems,
        },
        generated_at: now,
        instances,
        diagnoses,
    }
}

/// The report with no cluster view: instances and processes from heartbeats only.
pub fn build_off(
    reason: &str,
    heartbeats: &[Heartbeat],
    config_revision: Option<i64>,
    traffic: &[TrafficSample],
    settings: &ReportSettings,
    now: Timestamp,
) -> ClusterReport {
    let stale = settings.heartbeat_stale_ms;
    let mut diagnoses = diagnose::missing_or_stale(None, heartbeats, stale, now);
    diagnoses.extend(diagnose::config_behind(
        heartbeats,
        config_revision,
        stale,
        now,
    ));
    diagnoses.extend(diagnose::mixed_versions(heartbeats, stale, now));
    diagnoses.extend(diagnose::cross_instance_traffic(None, heartbeats, traffic));
    diagnose::sort(&mut diagnoses);
    let mut by_instance: BTreeMap<&str, Vec<&Heartbeat>> = BTreeMap::new();
    for h in heartbeats {
        by_instance.entry(h.instance.as_str()).or_default().push(h);
    }
    let instances = by_instance
        .into_iter()
        .map(|(instance, beats)| {
            let fresh = beats.iter().filter(|h| !is_stale(h, settings, now)).count();
            let health = if fresh == 0 {
                Health::new(
                    HealthState::Missing,
                    format!("no heartbeat in the last {} s", stale / 1000),
                )
            } else if fresh < beats.len() {
                Health::new(
                    HealthState::Degraded,
                    format!(
                        "{} of {} processes stopped sending heartbeats",
                        beats.len() - fresh,
                        beats.len()
                    ),
                )
            } else {
                Health::new(
                    HealthState::Healthy,
                    format!(
                        "{} sending heartbeats",
                        diagnose::count(fresh, "process", "processes")
                    ),
                )
            };
            heartbeat_instance(instance, &beats, health, &diagnoses, settings, now)
        })
        .collect();
    ClusterReport {
        kubernetes: KubernetesStatus::Off {
            reason: reason.to_owned(),
        },
        generated_at: now,
        instances,
        diagnoses,
    }
}

fn heartbeat_instance(
    instance: &str,
    beats: &[&Heartbeat],
    health: Health,
    diagnoses: &[Diagnosis],
    settings: &ReportSettings,
    now: Timestamp,
) -> InstanceReport {
    InstanceReport {
        name: instance.to_owned(),
        deployment: None,
        health,
        replicas: Replicas::default(),
        pods: beats
            .iter()
            .map(|h| heartbeat_only(h, settings, now))
            .collect(),
        services: Vec::new(),
        hpas: Vec::new(),
        pdbs: Vec::new(),
        events: Vec::new(),
        diagnoses: diagnoses
            .iter()
            .filter(|d| d.instances.iter().any(|i| i == instance))
            .cloned()
            .collect(),
    }
}

fn diagnose_access(namespace: &str, problems: &[String]) -> Diagnosis {
    Diagnosis {
        code: "kubernetes-access".to_owned(),
        severity: Severity::Warning,
        title: format!("The portal cannot read every resource it needs in namespace {namespace}"),
        instances: Vec::new(),
        owner: None,
        evidence: problems.to_vec(),
        fix: "Grant the portal's ServiceAccount get, list and watch on deployments, replicasets, pods, services, \
endpointslices, horizontalpodautoscalers, poddisruptionbudgets and events in this namespace (the Helm chart's Role does)."
            .to_owned(),
        fix_commands: vec![format!(
            "kubectl -n {namespace} auth can-i list pods --as=system:serviceaccount:{namespace}:tollgate-portal"
        )],
    }
}

pub(crate) fn is_stale(h: &Heartbeat, settings: &ReportSettings, now: Timestamp) -> bool {
    now.millis().saturating_sub(h.last_seen.millis()) > settings.heartbeat_stale_ms
}

//! The rows of the report: pods (joined with their heartbeats), HPAs, PDBs, Warning events and
//! the Services of an instance with the pods each reaches.

use super::{Heartbeat, ReportSettings, is_stale};
use crate::diagnose;
use crate::health;
use crate::objects::{Index, name};
use crate::selector::{map_to_string, selector_to_string};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeSet;
use tollgate_domain::Timestamp;
use tollgate_domain::instances::*;

fn heartbeat_view(h: &Heartbeat, settings: &ReportSettings, now: Timestamp) -> HeartbeatView {
    HeartbeatView {
        instance: h.instance.clone(),
        version: h.version.clone(),
        config_revision: h.config_revision,
        in_flight: h.in_flight,
        last_seen: h.last_seen,
        stale: is_stale(h, settings, now),
    }
}

pub(super) fn heartbeat_only(
    h: &Heartbeat,
    settings: &ReportSettings,
    now: Timestamp,
) -> PodReport {
    let view = heartbeat_view(h, settings, now);
    PodReport {
        name: h.pod.clone(),
        instance: Some(h.instance.clone()),
        phase: if view.stale {
            "no heartbeat"
        } else {
            "reporting"
        }
        .to_owned(),
        ready: !view.stale,
        restarts: 0,
        last_termination: None,
        oom_killed: false,
        created_at: None,
        node: None,
        image: None,
        health: if view.stale {
            Health::new(HealthState::Missing, "heartbeat is stale")
        } else {
            Health::healthy()
        },
        from_kubernetes: false,
        heartbeat: Some(view),
    }
}

pub(super) fn pod_report(
    p: &Pod,
    instance: Option<&str>,
    heartbeat: Option<&Heartbeat>,
    settings: &ReportSettings,
    now: Timestamp,
) -> PodReport {
    let status = p.status.as_ref();
    let containers: Vec<_> = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let last_termination = containers.iter().find_map(|c| health::last_termination(c));
    PodReport {
        name: name(&p.metadata).to_owned(),
        instance: instance.map(str::to_owned),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".to_owned()),
        ready: health::is_ready(p),
        restarts: containers.iter().map(|c| c.restart_count).sum(),
        oom_killed: last_termination.as_deref() == Some("OOMKilled"),
        last_termination,
        created_at: p
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| Timestamp(t.0.as_millisecond())),
        node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
        image: p
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone()),
        health: health::pod(p),
        from_kubernetes: true,
        heartbeat: heartbeat.map(|h| heartbeat_view(h, settings, now)),
    }
}

pub(super) fn hpa_report(
    h: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
) -> HpaReport {
    let spec = h.spec.as_ref();
    let status = h.status.as_ref();
    let metrics = spec
        .and_then(|s| s.metrics.as_ref())
        .into_iter()
        .flatten()
        .map(|m| {
            if let Some(r) = &m.resource {
                let t = &r.target;
                let target = t
                    .average_utilization
                    .map(|u| format!("{u}%"))
                    .or_else(|| t.average_value.as_ref().map(|q| q.0.clone()))
                    .unwrap_or_default();
                format!("{} {target}", r.name)
            } else if let Some(p) = &m.pods {
                let target = p
                    .target
                    .average_value
                    .as_ref()
                    .map(|q| q.0.clone())
                    .unwrap_or_default();
                format!("{} {target} per pod", p.metric.name)
            } else {
                m.type_.clone()
            }
        })
        .collect();
    HpaReport {
        name: name(&h.metadata).to_owned(),
        target: spec
            .map(|s| format!("{}/{}", s.scale_target_ref.kind, s.scale_target_ref.name))
            .unwrap_or_default(),
        min_replicas: spec.and_then(|s| s.min_replicas).unwrap_or(1),
        max_replicas: spec.map(|s| s.max_replicas).unwrap_or(0),
        current_replicas: status.and_then(|s| s.current_replicas).unwrap_or(0),
        desired_replicas: status.map(|s| s.desired_replicas).unwrap_or(0),
        metrics,
        health: health::hpa(h),
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

pub(super) fn pdb_report(p: &k8s_openapi::api::policy::v1::PodDisruptionBudget) -> PdbReport {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let budget = match (
        spec.and_then(|s| s.min_available.as_ref()),
        spec.and_then(|s| s.max_unavailable.as_ref()),
    ) {
        (Some(m), _) => format!("minAvailable: {}", int_or_string(m)),
        (None, Some(m)) => format!("maxUnavailable: {}", int_or_string(m)),
        (None, None) => "none".to_owned(),
    };
    PdbReport {
        name: name(&p.metadata).to_owned(),
        selector: spec
            .and_then(|s| s.selector.as_ref())
            .map(selector_to_string)
            .unwrap_or_default(),
        budget,
        disruptions_allowed: status.map(|s| s.disruptions_allowed).unwrap_or(0),
        current_healthy: status.map(|s| s.current_healthy).unwrap_or(0),
        desired_healthy: status.map(|s| s.desired_healthy).unwrap_or(0),
        health: health::pdb(p),
    }
}

pub(super) fn events(
    objects: &crate::Objects,
    related: &BTreeSet<(String, String)>,
    max: usize,
) -> Vec<EventReport> {
    let mut out: Vec<EventReport> = objects
        .events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| {
            let o = &e.involved_object;
            related.contains(&(
                o.kind.clone().unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
            ))
        })
        .map(|e| EventReport {
            object: format!(
                "{}/{}",
                e.involved_object.kind.as_deref().unwrap_or_default(),
                e.involved_object.name.as_deref().unwrap_or_default()
            ),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
            last_seen: e
                .last_timestamp
                .as_ref()
                .map(|t| Timestamp(t.0.as_millisecond()))
                .or_else(|| {
                    e.event_time
                        .as_ref()
                        .map(|t| Timestamp(t.0.as_millisecond()))
                }),
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
    out.truncate(max);
    out
}

/// The Services of an instance, with the pods each reaches and whose they are.
pub fn service_reports(index: &Index<'_>, instance: &str) -> Vec<ServiceReport> {
    diagnose::services_of(index, instance)
        .into_iter()
        .map(|svc| {
            let svc_name = name(&svc.metadata);
            ServiceReport {
                name: svc_name.to_owned(),
                selector: map_to_string(
                    &svc.spec
                        .as_ref()
                        .and_then(|s| s.selector.clone())
                        .unwrap_or_default(),
                ),
                endpoints: index
                    .endpoints_of(svc_name)
                    .into_iter()
                    .map(|(pod, ready)| EndpointView {
                        pod: pod.to_owned(),
                        instance: index
                            .pod(pod)
                            .and_then(|p| index.instance_of_pod(p))
                            .map(str::to_owned),
                        ready,
                    })
                    .collect(),
            }
        })
        .collect()
}

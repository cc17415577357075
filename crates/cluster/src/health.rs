//! Health of single objects, following Argo CD's rules for Deployments, Pods, HPAs
//! (autoscaling/v2) and PodDisruptionBudgets (policy/v1), reimplemented from their documented
//! behaviour. Each returns a state and a sentence.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition,
};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use tollgate_domain::instances::{Health, HealthState};

/// A Deployment: Suspended when paused; Progressing until the controller has observed the
/// newest generation and every replica is updated and available; Degraded when the progress
/// deadline was exceeded.
pub fn deployment(d: &Deployment) -> Health {
    let spec = d.spec.as_ref();
    if spec.and_then(|s| s.paused).unwrap_or(false) {
        return Health::new(HealthState::Suspended, "Deployment is paused");
    }
    let Some(status) = &d.status else {
        return Health::new(
            HealthState::Progressing,
            "Waiting for the Deployment controller to report status",
        );
    };
    let generation = d.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Health::new(
            HealthState::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    let progressing = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    if let Some(c) = progressing
        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return Health::new(
            HealthState::Degraded,
            format!(
                "Deployment {:?} exceeded its progress deadline",
                crate::objects::name(&d.metadata)
            ),
        );
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if let Some(want) = spec.and_then(|s| s.replicas)
        && updated < want
    {
        return Health::new(
            HealthState::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {want} new replicas have been updated"
            ),
        );
    }
    if replicas > updated {
        return Health::new(
            HealthState::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination",
                replicas - updated
            ),
        );
    }
    if available < updated {
        return Health::new(
            HealthState::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available"
            ),
        );
    }
    Health::healthy()
}

/// A Pod: Degraded when a container waits on an error or back-off; by phase otherwise; a
/// running pod with `restartPolicy: Always` is Healthy when ready, Degraded when not ready
/// after a container terminated, else Progressing.
pub fn pod(p: &Pod) -> Health {
    if p.metadata.deletion_timestamp.is_some() {
        return Health::new(HealthState::Progressing, "Pod is terminating");
    }
    let status = p.status.as_ref();
    let containers: Vec<&ContainerStatus> = status
        .iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .collect();
    for c in &containers {
        let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = waiting.reason.as_deref().unwrap_or_default();
        if reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff") {
            let message = waiting.message.as_deref().unwrap_or_default();
            let tail = last_termination(c)
                .map(|t| format!(" (last terminated: {t})"))
                .unwrap_or_default();
            return Health::new(
                HealthState::Degraded,
                format!("container {}: {reason} {message}{tail}", c.name)
                    .replace("  ", " ")
                    .trim()
                    .to_owned(),
            );
        }
    }
    let message = status.and_then(|s| s.message.clone()).unwrap_or_default();
    match status.and_then(|s| s.phase.as_deref()).unwrap_or("Unknown") {
        "Pending" => Health::new(HealthState::Progressing, message),
        "Succeeded" => Health::new(HealthState::Healthy, message),
        "Failed" => {
            let why = if message.is_empty() {
                containers
                    .iter()
                    .filter_map(|c| c.state.as_ref()?.terminated.as_ref())
                    .map(|t| {
                        t.reason
                            .clone()
                            .unwrap_or_else(|| format!("exit {}", t.exit_code))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                message
            };
            Health::new(HealthState::Degraded, why)
        }
        "Running" => {
            let always = p
                .spec
                .as_ref()
                .and_then(|s| s.restart_policy.as_deref())
                .unwrap_or("Always")
                == "Always";
            if !always {
                return Health::new(HealthState::Progressing, message);
            }
            if is_ready(p) {
                return Health::new(HealthState::Healthy, message);
            }
            if let Some(c) = containers.iter().find(|c| {
                c.last_state
                    .as_ref()
                    .is_some_and(|s| s.terminated.is_some())
            }) {
                let why = last_termination(c).unwrap_or_default();
                return Health::new(
                    HealthState::Degraded,
                    format!(
                        "container {} is not ready and last terminated: {why}",
                        c.name
                    ),
                );
            }
            Health::new(
                HealthState::Progressing,
                "Waiting for the pod to become ready",
            )
        }
        _ => Health::new(HealthState::Unknown, message),
    }
}

/// The pod's `Ready` condition.
pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Why a container last terminated: `OOMKilled`, or the reason and exit code.
pub fn last_termination(c: &ContainerStatus) -> Option<String> {
    let t = c.last_state.as_ref()?.terminated.as_ref()?;
    Some(match t.reason.as_deref() {
        Some("OOMKilled") => "OOMKilled".to_owned(),
        Some(r) => format!("{r} (exit {})", t.exit_code),
        None => format!("exit {}", t.exit_code),
    })
}

/// An HPA (autoscaling/v2): Degraded when any condition says it cannot get or update the scale
/// (`AbleToScale` False with `FailedGetScale`/`FailedUpdateScale`) or cannot compute a
/// replica count (`ScalingActive` False with a `Failed*` reason or `InvalidSelector`); Healthy
/// once it has rescaled (`AbleToScale`/`SucceededRescale`) or computed a count against its
/// bounds (`ScalingLimited` with `DesiredWithinRange`, `TooFewReplicas` or `TooManyReplicas`);
/// otherwise still waiting. Failures are looked for first: `AbleToScale=True` alone says nothing
/// about the metrics, and its conditions come first in the list.
pub fn hpa(h: &HorizontalPodAutoscaler) -> Health {
    let conditions: Vec<_> = h
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let reason = |c: &HorizontalPodAutoscalerCondition| c.reason.clone().unwrap_or_default();
    let message = |c: &HorizontalPodAutoscalerCondition| {
        c.message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| format!("{}: {}", c.type_, reason(c)))
    };
    if let Some(c) = conditions.iter().find(|c| hpa_failed(c)) {
        return Health::new(HealthState::Degraded, message(c));
    }
    if let Some(c) = conditions.iter().find(|c| {
        matches!(
            (c.type_.as_str(), c.reason.as_deref().unwrap_or_default()),
            ("AbleToScale", "SucceededRescale")
                | (
                    "ScalingLimited",
                    "DesiredWithinRange" | "TooFewReplicas" | "TooManyReplicas"
                )
        )
    }) {
        return Health::new(HealthState::Healthy, message(c));
    }
    Health::new(HealthState::Progressing, "Waiting to Autoscale")
}

/// A condition saying the autoscaler cannot do its work.
fn hpa_failed(c: &HorizontalPodAutoscalerCondition) -> bool {
    if c.status != "False" {
        return false;
    }
    let reason = c.reason.as_deref().unwrap_or_default();
    match c.type_.as_str() {
        "AbleToScale" => matches!(reason, "FailedGetScale" | "FailedUpdateScale"),
        // `FailedGet*Metric`, `InvalidSelector`, `InvalidMetricSourceType`; not `ScalingDisabled`
        // (the target was scaled to zero on purpose).
        "ScalingActive" => reason.starts_with("Failed") || reason.starts_with("Invalid"),
        _ => false,
    }
}

/// A PDB: Degraded when a condition is false for any reason but `InsufficientPods` (which is a
/// normal state for a budget that allows no disruption now); Healthy once it has conditions.
pub fn pdb(p: &PodDisruptionBudget) -> Health {
    let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref());
    let mut health = Health::new(HealthState::Progressing, "Waiting for status");
    for c in conditions.into_iter().flatten() {
        if c.status == "False" && c.reason != "InsufficientPods" {
            return Health::new(
                HealthState::Degraded,
                format!("PodDisruptionBudget has {}", c.reason),
            );
        }
        health = Health::new(
            HealthState::Healthy,
            format!("PodDisruptionBudget has {}", c.reason),
        );
    }
    health
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixtures as fx;

    #[test]
    fn deployment_states() {
        let d = fx::deployment("claude", &fx::gateway_labels("claude"), 3, 3);
        assert_eq!(deployment(&d).state, HealthState::Healthy);

        let mut rolling = d.clone();
        rolling.status.as_mut().unwrap().updated_replicas = Some(1);
        let h = deployment(&rolling);
        assert_eq!(h.state, HealthState::Progressing);
        assert!(h.reason.contains("1 out of 3"), "{}", h.reason);

        let mut unavailable = d.clone();
        unavailable.status.as_mut().unwrap().available_replicas = Some(2);
        assert!(deployment(&unavailable).reason.contains("2 of 3"));

        let mut stale = d.clone();
        stale.metadata.generation = Some(5);
        assert!(deployment(&stale).reason.contains("generation"));

        let mut stuck = d.clone();
        stuck.status.as_mut().unwrap().conditions = Some(vec![fx::deployment_condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
        )]);
        assert_eq!(deployment(&stuck).state, HealthState::Degraded);

        let mut paused = d;
        paused.spec.as_mut().unwrap().paused = Some(true);
        assert_eq!(deployment(&paused).state, HealthState::Suspended);
    }

    #[test]
    fn pod_states_and_oom() {
        let labels = fx::gateway_labels("claude");
        let ok = fx::pod("claude-1", "claude-rs", &labels);
        assert_eq!(pod(&ok).state, HealthState::Healthy);

        let oom = fx::with_crash(
            fx::pod("claude-2", "claude-rs", &labels),
            "OOMKilled",
            137,
            4,
        );
        let h = pod(&oom);
        assert_eq!(h.state, HealthState::Degraded);
        assert!(h.reason.contains("CrashLoopBackOff"), "{}", h.reason);
        assert!(h.reason.contains("OOMKilled"), "{}", h.reason);
        let c = &oom
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()[0];
        assert_eq!(last_termination(c).as_deref(), Some("OOMKilled"));

        let mut pending = ok.clone();
        pending.status.as_mut().unwrap().phase = Some("Pending".into());
        pending.status.as_mut().unwrap().conditions = None;
        assert_eq!(pod(&pending).state, HealthState::Progressing);

        let mut failed = ok.clone();
        failed.status.as_mut().unwrap().phase = Some("Failed".into());
        assert_eq!(pod(&failed).state, HealthState::Degraded);

        let mut unknown = ok;
        unknown.status.as_mut().unwrap().phase = Some("Unknown".into());
        assert_eq!(pod(&unknown).state, HealthState::Unknown);
    }

    fn with_conditions(
        h: &HorizontalPodAutoscaler,
        conditions: &[(&str, &str, &str)],
    ) -> HorizontalPodAutoscaler {
        let mut h = h.clone();
        h.status.as_mut().unwrap().conditions = Some(
            conditions
                .iter()
                .map(|(t, s, r)| fx::hpa_condition(t, s, r))
                .collect(),
        );
        h
    }

    #[test]
    fn hpa_and_pdb_states() {
        let h = fx::hpa("claude", "claude");
        let running = hpa(&h);
        assert_eq!(running.state, HealthState::Healthy, "{running:?}");
        assert_eq!(running.reason, "ScalingLimited: DesiredWithinRange");
        let failed = with_conditions(&h, &[("ScalingActive", "False", "FailedGetResourceMetric")]);
        assert_eq!(hpa(&failed).state, HealthState::Degraded);
        let mut none = h.clone();
        none.status.as_mut().unwrap().conditions = None;
        assert_eq!(hpa(&none).state, HealthState::Progressing);
        assert_eq!(hpa(&none).reason, "Waiting to Autoscale");

        let mut p = fx::pdb("claude", &fx::instance_selector("claude"));
        assert_eq!(pdb(&p).state, HealthState::Healthy);
        p.status.as_mut().unwrap().conditions = Some(vec![fx::meta_condition(
            "DisruptionAllowed",
            "False",
            "InsufficientPods",
        )]);
        assert_eq!(
            pdb(&p).state,
            HealthState::Healthy,
            "InsufficientPods is normal"
        );
        p.status.as_mut().unwrap().conditions = Some(vec![fx::meta_condition(
            "DisruptionAllowed",
            "False",
            "SyncFailed",
        )]);
        assert_eq!(pdb(&p).state, HealthState::Degraded);
    }

    /// The controller lists `AbleToScale` first; a failure later in the list still counts.
    #[test]
    fn an_hpa_that_cannot_read_its_metrics_is_degraded_though_able_to_scale() {
        let h = with_conditions(
            &fx::hpa("claude", "claude"),
            &[
                ("AbleToScale", "True", "ReadyForNewScale"),
                ("ScalingActive", "False", "FailedGetPodsMetric"),
                ("ScalingLimited", "False", "DesiredWithinRange"),
            ],
        );
        let got = hpa(&h);
        assert_eq!(got.state, HealthState::Degraded, "{got:?}");
        assert_eq!(got.reason, "ScalingActive: FailedGetPodsMetric");

        for (t, r) in [
            ("AbleToScale", "FailedGetScale"),
            ("AbleToScale", "FailedUpdateScale"),
            ("ScalingActive", "FailedGetExternalMetric"),
            ("ScalingActive", "InvalidSelector"),
        ] {
            let h = with_conditions(
                &h,
                &[("AbleToScale", "True", "SucceededRescale"), (t, "False", r)],
            );
            assert_eq!(hpa(&h).state, HealthState::Degraded, "{t} {r}");
        }
    }

    #[test]
    fn an_hpa_is_healthy_once_it_rescaled_or_computed_against_its_bounds() {
        let h = fx::hpa("claude", "claude");
        // Able to scale says nothing yet about the metrics.
        let waiting = with_conditions(&h, &[("AbleToScale", "True", "ReadyForNewScale")]);
        assert_eq!(hpa(&waiting).state, HealthState::Progressing);
        let rescaled = with_conditions(&h, &[("AbleToScale", "True", "SucceededRescale")]);
        assert_eq!(hpa(&rescaled).state, HealthState::Healthy);
        for (s, r) in [
            ("False", "DesiredWithinRange"),
            ("True", "TooFewReplicas"),
            ("True", "TooManyReplicas"),
        ] {
            let h = with_conditions(
                &h,
                &[
                    ("AbleToScale", "True", "ReadyForNewScale"),
                    ("ScalingActive", "True", "ValidMetricFound"),
                    ("ScalingLimited", s, r),
                ],
            );
            assert_eq!(hpa(&h).state, HealthState::Healthy, "{r}");
        }
        // Scaled to zero on purpose is not a failure.
        let disabled = with_conditions(&h, &[("ScalingActive", "False", "ScalingDisabled")]);
        assert_eq!(hpa(&disabled).state, HealthState::Progressing);
    }
}

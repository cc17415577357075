//! Builders of real-shaped Kubernetes objects, and the scenarios Tollgate is tested on: the
//! selector-overlap incident and its fix. Used by the tests and by the demo fake API server
//! (`examples/fake-apiserver.rs`) that the end-to-end test points the portal at.

use crate::objects::Objects;
use crate::selector::Labels;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
    ReplicaSetStatus,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Event, ObjectReference, Pod, PodCondition, PodSpec,
    PodStatus, PodTemplateSpec, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
use k8s_openapi::api::policy::v1::{
    PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, LabelSelector, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub const NAMESPACE: &str = "tollgate";
/// The instances of the incident, as the operators named them.
pub const INCIDENT_INSTANCES: [&str; 3] = ["claude", "openai-eu", "batch"];
/// 2026-01-01T00:00:00Z: fixtures are created then, so ages are stable.
pub const CREATED_MS: i64 = 1_767_225_600_000;
pub const IMAGE: &str = "ghcr.io/tollgate/tollgate:0.1.0";

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The labels the Helm chart and the Kustomize base give a gateway instance's objects.
pub fn gateway_labels(instance: &str) -> Labels {
    labels(&[
        ("app.kubernetes.io/name", "tollgate-gateway"),
        ("app.kubernetes.io/instance", instance),
    ])
}

/// A selector naming one instance (what `includeSelectors: true` produces).
pub fn instance_selector(instance: &str) -> Labels {
    gateway_labels(instance)
}

pub fn time(ms: i64) -> Option<Time> {
    k8s_openapi::jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(Time)
}

fn meta(name: &str, labels: &Labels) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(NAMESPACE.to_owned()),
        uid: Some(format!("uid-{name}")),
        labels: (!labels.is_empty()).then(|| labels.clone()),
        creation_timestamp: time(CREATED_MS),
        generation: Some(1),
        ..ObjectMeta::default()
    }
}

fn owner(kind: &str, api_version: &str, name: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        uid: format!("uid-{name}"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A Deployment whose metadata, selector and pod template all carry `labels`, rolled out.
pub fn deployment(name: &str, labels: &Labels, replicas: i32, ready: i32) -> Deployment {
    deployment_with(name, labels, labels, labels, replicas, ready)
}

pub fn deployment_with(
    name: &str,
    meta_labels: &Labels,
    selector: &Labels,
    template_labels: &Labels,
    replicas: i32,
    ready: i32,
) -> Deployment {
    Deployment {
        metadata: meta(name, meta_labels),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec()),
            },
            ..DeploymentSpec::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(1),
            replicas: Some(replicas),
            updated_replicas: Some(replicas),
            ready_replicas: Some(ready),
            available_replicas: Some(ready),
            conditions: Some(vec![deployment_condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
            )]),
            ..DeploymentStatus::default()
        }),
    }
}

pub fn deployment_condition(type_: &str, status: &str, reason: &str) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        ..DeploymentCondition::default()
    }
}

fn pod_spec() -> PodSpec {
    PodSpec {
        containers: vec![Container {
            name: "gateway".to_owned(),
            image: Some(IMAGE.to_owned()),
            ..Container::default()
        }],
        restart_policy: Some("Always".to_owned()),
        ..PodSpec::default()
    }
}

pub fn replica_set(name: &str, deployment: &str, labels: &Labels, replicas: i32) -> ReplicaSet {
    let mut m = meta(name, labels);
    m.owner_references = Some(vec![owner("Deployment", "apps/v1", deployment)]);
    ReplicaSet {
        metadata: m,
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                match_expressions: None,
            },
            ..ReplicaSetSpec::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas,
            ready_replicas: Some(replicas),
            available_replicas: Some(replicas),
            ..ReplicaSetStatus::default()
        }),
    }
}

/// A running, ready pod owned by ReplicaSet `rs`.
pub fn pod(name: &str, rs: &str, labels: &Labels) -> Pod {
    let mut m = meta(name, labels);
    m.owner_references = Some(vec![owner("ReplicaSet", "apps/v1", rs)]);
    m.generation = None;
    Pod {
        metadata: m,
        spec: Some(PodSpec {
            node_name: Some("node-a".to_owned()),
            ..pod_spec()
        }),
        status: Some(PodStatus {
            phase: Some("Running".to_owned()),
            pod_ip: Some("10.0.0.1".to_owned()),
            start_time: time(CREATED_MS),
            conditions: Some(vec![PodCondition {
                type_: "Ready".to_owned(),
                status: "True".to_owned(),
                ..PodCondition::default()
            }]),
            container_statuses: Some(vec![ContainerStatus {
                name: "gateway".to_owned(),
                image: IMAGE.to_owned(),
                image_id: String::new(),
                ready: true,
                restart_count: 0,
                started: Some(true),
                state: Some(ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: time(CREATED_MS),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

/// The pod's container crash-loops after terminating with `reason` (e.g. `OOMKilled`).
pub fn with_crash(mut p: Pod, reason: &str, exit_code: i32, restarts: i32) -> Pod {
    if let Some(status) = p.status.as_mut() {
        status.conditions = Some(vec![PodCondition {
            type_: "Ready".to_owned(),
            status: "False".to_owned(),
            ..PodCondition::default()
        }]);
        for c in status.container_statuses.iter_mut().flatten() {
            c.ready = false;
            c.restart_count = restarts;
            c.state = Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("CrashLoopBackOff".to_owned()),
                    message: Some("back-off 5m0s restarting failed container".to_owned()),
                }),
                ..ContainerState::default()
            });
            c.last_state = Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code,
                    reason: Some(reason.to_owned()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            });
        }
    }
    p
}

pub fn service(name: &str, meta_labels: &Labels, selector: &Labels) -> Service {
    Service {
        metadata: meta(name, meta_labels),
        spec: Some(ServiceSpec {
            selector: Some(selector.clone()),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: 80,
                target_port: Some(IntOrString::String("http".to_owned())),
                ..ServicePort::default()
            }]),
            type_: Some("ClusterIP".to_owned()),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The EndpointSlice the endpoint controller keeps for `service`, with these pods, all ready.
pub fn endpoint_slice(service: &str, pods: &[&str]) -> EndpointSlice {
    let mut m = meta(
        &format!("{service}-x7k2p"),
        &labels(&[
            ("kubernetes.io/service-name", service),
            (
                "endpointslice.kubernetes.io/managed-by",
                "endpointslice-controller.k8s.io",
            ),
        ]),
    );
    m.owner_references = Some(vec![owner("Service", "v1", service)]);
    m.generation = None;
    EndpointSlice {
        metadata: m,
        address_type: "IPv4".to_owned(),
        endpoints: pods
            .iter()
            .enumerate()
            .map(|(i, p)| Endpoint {
                addresses: vec![format!("10.0.0.{}", i + 10)],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                }),
                node_name: Some("node-a".to_owned()),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".to_owned()),
                    name: Some((*p).to_owned()),
                    namespace: Some(NAMESPACE.to_owned()),
                    uid: Some(format!("uid-{p}")),
                    ..ObjectReference::default()
                }),
                ..Endpoint::default()
            })
            .collect(),
        ports: None,
    }
}

/// An HPA on CPU for Deployment `target`, at work: able to scale, reading its metric, and its
/// desired count within its bounds.
pub fn hpa(name: &str, target: &str) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: meta(name, &Labels::new()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_owned()),
                kind: "Deployment".to_owned(),
                name: target.to_owned(),
            },
            min_replicas: Some(2),
            max_replicas: 6,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_owned(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_owned(),
                    target: MetricTarget {
                        type_: "Utilization".to_owned(),
                        average_utilization: Some(70),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        }),
        status: Some(HorizontalPodAutoscalerStatus {
            current_replicas: Some(3),
            desired_replicas: 3,
            // What the controller reports for an HPA at work: in this order.
            conditions: Some(vec![
                hpa_condition("AbleToScale", "True", "ReadyForNewScale"),
                hpa_condition("ScalingActive", "True", "ValidMetricFound"),
                hpa_condition("ScalingLimited", "False", "DesiredWithinRange"),
            ]),
            ..HorizontalPodAutoscalerStatus::default()
        }),
    }
}

pub fn hpa_condition(type_: &str, status: &str, reason: &str) -> HorizontalPodAutoscalerCondition {
    HorizontalPodAutoscalerCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(format!("{type_}: {reason}")),
        ..HorizontalPodAutoscalerCondition::default()
    }
}

/// A PDB with `minAvailable: 1` over `selector`, allowing disruptions.
pub fn pdb(name: &str, selector: &Labels) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta(name, &Labels::new()),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                match_expressions: None,
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: Some(PodDisruptionBudgetStatus {
            current_healthy: 3,
            desired_healthy: 1,
            disruptions_allowed: 2,
            expected_pods: 3,
            observed_generation: Some(1),
            conditions: Some(vec![meta_condition(
                "DisruptionAllowed",
                "True",
                "SufficientPods",
            )]),
            ..PodDisruptionBudgetStatus::default()
        }),
    }
}

pub fn meta_condition(type_: &str, status: &str, reason: &str) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: String::new(),
        last_transition_time: time(CREATED_MS)
            .unwrap_or(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
        observed_generation: None,
    }
}

/// A `Warning` event about `kind/name`.
pub fn warning_event(kind: &str, name: &str, reason: &str, message: &str) -> Event {
    Event {
        metadata: meta(&format!("{name}.{reason}").to_lowercase(), &Labels::new()),
        involved_object: ObjectReference {
            kind: Some(kind.to_owned()),
            name: Some(name.to_owned()),
            namespace: Some(NAMESPACE.to_owned()),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        type_: Some("Warning".to_owned()),
        count: Some(1),
        last_timestamp: time(CREATED_MS),
        ..Event::default()
    }
}

/// The names of the three pods of `instance`.
pub fn pod_names(instance: &str) -> Vec<String> {
    ["a1b2c", "d3e4f", "g5h6i"]
        .iter()
        .map(|s| format!("{instance}-5d8f7c9b4-{s}"))
        .collect()
}

/// One instance's Deployment, ReplicaSet and pods, with the given selector and template labels.
fn add_instance(o: &mut Objects, instance: &str, selector: &Labels, template: &Labels) {
    let mut meta_labels = gateway_labels(instance);
    meta_labels.extend(selector.clone());
    o.deployments.push(deployment_with(
        instance,
        &meta_labels,
        selector,
        template,
        3,
        3,
    ));
    let rs = format!("{instance}-5d8f7c9b4");
    o.replica_sets.push(replica_set(&rs, instance, template, 3));
    for p in pod_names(instance) {
        o.pods.push(pod(&p, &rs, template));
    }
}

/// The incident: three instances deployed with Kustomize `labels` and `includeSelectors: false`,
/// so every Deployment and Service selects `app=litellm`. Each Service's EndpointSlice holds
/// all nine pods; each HPA's scale selector and each PDB cover every instance's pods.
pub fn incident() -> Objects {
    let shared = labels(&[("app", "litellm")]);
    let mut o = Objects::default();
    let all_pods: Vec<String> = INCIDENT_INSTANCES
        .iter()
        .flat_map(|i| pod_names(i))
        .collect();
    let all: Vec<&str> = all_pods.iter().map(String::as_str).collect();
    for i in INCIDENT_INSTANCES {
        add_instance(&mut o, i, &shared, &shared);
        let mut svc_labels = gateway_labels(i);
        svc_labels.extend(shared.clone());
        o.services.push(service(i, &svc_labels, &shared));
        o.endpoint_slices.push(endpoint_slice(i, &all));
        o.hpas.push(hpa(i, i));
        o.pdbs.push(pdb(i, &shared));
    }
    o
}

/// The fix: `includeSelectors: true`, so selectors and pod templates name the instance.
pub fn incident_fixed() -> Objects {
    let mut o = Objects::default();
    for i in INCIDENT_INSTANCES {
        let sel = instance_selector(i);
        add_instance(&mut o, i, &sel, &sel);
        o.services.push(service(i, &gateway_labels(i), &sel));
        let pods = pod_names(i);
        let refs: Vec<&str> = pods.iter().map(String::as_str).collect();
        o.endpoint_slices.push(endpoint_slice(i, &refs));
        o.hpas.push(hpa(i, i));
        o.pdbs.push(pdb(i, &sel));
    }
    o
}

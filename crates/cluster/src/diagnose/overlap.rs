//! Services and their endpoints: a Service whose endpoints belong to more than one instance (the
//! selector-overlap incident), a Service with no endpoints, and endpoint counts that differ from
//! the ready replicas.

use super::finding;
use crate::INSTANCE_LABEL;
use crate::objects::{Index, Owner, name};
use crate::selector::map_to_string;
use std::collections::BTreeMap;
use tollgate_domain::instances::{Diagnosis, Severity};

pub const OVERLAP_FIX: &str = "Give each instance's Deployment selector, pod template and Service selector the label \
`app.kubernetes.io/instance: <instance>`, so a Service selects only its own instance's pods. With Kustomize, use \
`labels` with `includeSelectors: true` (and `includeTemplates: true`). A Deployment's selector is immutable once \
applied: delete the Deployment with `--cascade=orphan` (its pods keep serving), apply the fixed one, and once its \
pods are ready delete the orphaned old ReplicaSet. A Service's selector can be changed in place.";

/// The Service's own instance, from its `app.kubernetes.io/instance` label.
fn service_instance(svc: &k8s_openapi::api::core::v1::Service) -> Option<String> {
    svc.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(INSTANCE_LABEL))
        .cloned()
}

fn selector_of(svc: &k8s_openapi::api::core::v1::Service) -> crate::selector::Labels {
    svc.spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default()
}

/// Critical: a Service's EndpointSlices hold pods of more than one workload, at least one of
/// them a gateway instance. Each instance's traffic is then spread over the others' pods.
///
/// Only owners found through the caches count. Each kind has its own watch, so during a
/// rollout an EndpointSlice can name a pod the pod cache does not hold yet, or a pod whose new
/// ReplicaSet has not arrived: such endpoints are listed as unresolved evidence of a finding
/// that stands without them, and never make one.
pub fn service_overlap(index: &Index<'_>) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for svc in &index.objects.services {
        let svc_name = name(&svc.metadata);
        let mut owners: BTreeMap<Owner, Vec<String>> = BTreeMap::new();
        let mut unresolved: Vec<String> = Vec::new();
        for (pod_name, _ready) in index.endpoints_of(svc_name) {
            let resolved = index
                .pod(pod_name)
                .ok_or_else(|| "pod".to_owned())
                .and_then(|p| index.resolved_owner_of_pod(p));
            match resolved {
                Ok(owner) => owners.entry(owner).or_default().push(pod_name.to_owned()),
                Err(missing) => {
                    unresolved.push(format!("{pod_name} ({missing} not in the cache yet)"))
                }
            }
        }
        let instances: Vec<String> = owners
            .keys()
            .filter_map(|o| match o {
                Owner::Instance(i) => Some(i.clone()),
                Owner::Workload(_) => None,
            })
            .collect();
        if owners.len() < 2 || instances.is_empty() {
            continue;
        }
        let selector = map_to_string(&selector_of(svc));
        let mut evidence = vec![format!(
            "Service {svc_name} selects `{selector}`; its EndpointSlices hold {} pods of {} workloads",
            owners.values().map(Vec::len).sum::<usize>(),
            owners.len()
        )];
        for (owner, pods) in &owners {
            let through = match owner {
                Owner::Instance(i) => {
                    let deployment = index
                        .instance_of_deployment
                        .iter()
                        .find(|(_, v)| *v == i)
                        .map(|(d, _)| *d)
                        .unwrap_or("?");
                    let rs = pods
                        .first()
                        .and_then(|p| index.pod(p))
                        .and_then(|p| index.replica_set_of_pod(p))
                        .unwrap_or("?");
                    format!(" (ReplicaSet {rs}, Deployment {deployment})")
                }
                Owner::Workload(_) => String::new(),
            };
            evidence.push(format!("{}{through}: {}", owner.label(), pods.join(", ")));
        }
        if !unresolved.is_empty() {
            evidence.push(format!(
                "owner not resolved yet, not counted: {}",
                unresolved.join(", ")
            ));
        }
        let own = service_instance(svc).unwrap_or_else(|| svc_name.to_owned());
        let mut affected = instances.clone();
        affected.extend(service_instance(svc));
        out.push(owned(service_instance(svc), finding(
            "service-selector-overlap",
            Severity::Critical,
            format!(
                "Service {svc_name} sends traffic to pods of {} instances ({}): requests for one instance are served by the others",
                owners.len(),
                owners.keys().map(Owner::label).collect::<Vec<_>>().join(", ")
            ),
            affected,
            evidence,
            OVERLAP_FIX,
            vec![
                format!(
                    "kubectl -n {ns} patch service {svc_name} --type merge -p '{{\"spec\":{{\"selector\":{{\"{INSTANCE_LABEL}\":\"{own}\"}}}}}}'",
                    ns = namespace_of(svc)
                ),
                "# kustomization.yaml of each instance:\nlabels:\n  - pairs:\n      app.kubernetes.io/instance: <instance>\n    includeSelectors: true\n    includeTemplates: true".to_owned(),
                format!(
                    "kubectl -n {ns} delete deployment <deployment> --cascade=orphan && kubectl apply -k <overlay>",
                    ns = namespace_of(svc)
                ),
            ],
        )));
    }
    out
}

fn namespace_of(svc: &k8s_openapi::api::core::v1::Service) -> &str {
    svc.metadata.namespace.as_deref().unwrap_or("<namespace>")
}

/// Services that belong to an instance: labelled with its name, or reaching only its pods.
pub fn services_of<'a>(
    index: &Index<'a>,
    instance: &str,
) -> Vec<&'a k8s_openapi::api::core::v1::Service> {
    index
        .objects
        .services
        .iter()
        .filter(|svc| {
            service_instance(svc).as_deref() == Some(instance)
                || index
                    .endpoints_of(name(&svc.metadata))
                    .iter()
                    .any(|(p, _)| {
                        index.pod(p).and_then(|p| index.instance_of_pod(p)) == Some(instance)
                    })
        })
        .collect()
}

/// Critical: an instance's Service (labelled with its name) has a selector but no ready
/// endpoint while the Deployment wants replicas. Requests to it fail.
pub fn no_endpoints(index: &Index<'_>) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for (deployment, instance) in index.instances() {
        let wants = index
            .objects
            .deployments
            .iter()
            .find(|d| name(&d.metadata) == deployment)
            .and_then(|d| d.spec.as_ref()?.replicas)
            .unwrap_or(1);
        for svc in &index.objects.services {
            if service_instance(svc).as_deref() != Some(instance) || selector_of(svc).is_empty() {
                continue;
            }
            let svc_name = name(&svc.metadata);
            let ready = index.ready_endpoints(svc_name);
            if ready > 0 || wants == 0 {
                continue;
            }
            out.push(owned(Some(instance.to_owned()), finding(
                "service-no-endpoints",
                Severity::Critical,
                format!("Service {svc_name} has no ready endpoints: requests to instance {instance} fail"),
                vec![instance.to_owned()],
                vec![
                    format!("selector `{}`", map_to_string(&selector_of(svc))),
                    format!("Deployment {deployment} wants {wants} replicas"),
                ],
                "Make the Service's selector match the labels of the instance's pod template, and check that the pods are ready (readiness probe on /health/readiness).",
                vec![
                    format!("kubectl -n {} get pods -l {} -o wide", namespace_of(svc), map_to_string(&selector_of(svc))),
                    format!("kubectl -n {} describe service {svc_name}", namespace_of(svc)),
                ],
            )));
        }
    }
    out
}

/// Warning: a Service of an instance has a different number of ready endpoints than the
/// Deployment has ready replicas. Normal for a moment during a rollout; lasting, it means the
/// Service reaches pods that are not the instance's, or misses some.
pub fn endpoint_count(index: &Index<'_>) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for (deployment, instance) in index.instances() {
        let Some(d) = index
            .objects
            .deployments
            .iter()
            .find(|d| name(&d.metadata) == deployment)
        else {
            continue;
        };
        let ready_replicas = d
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0);
        for svc in &index.objects.services {
            if service_instance(svc).as_deref() != Some(instance) {
                continue;
            }
            let svc_name = name(&svc.metadata);
            let ready = index.ready_endpoints(svc_name);
            if ready == 0 || i32::try_from(ready).ok() == Some(ready_replicas) {
                continue;
            }
            out.push(owned(Some(instance.to_owned()), finding(
                "endpoint-count-mismatch",
                Severity::Warning,
                format!(
                    "Service {svc_name} has {ready} ready endpoints but Deployment {deployment} has {ready_replicas} ready replicas"
                ),
                vec![instance.to_owned()],
                vec![format!("selector `{}`", map_to_string(&selector_of(svc)))],
                "During a rollout this passes on its own. If it lasts, compare the Service's selector with the Deployment's pod template labels.",
                vec![format!(
                    "kubectl -n {} get endpointslices -l kubernetes.io/service-name={svc_name} -o wide",
                    namespace_of(svc)
                )],
            )));
        }
    }
    out
}

fn owned(owner: Option<String>, mut d: Diagnosis) -> Diagnosis {
    d.owner = owner;
    d
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixtures as fx;
    use crate::objects::Discovery;

    /// Mid-rollout, as the caches can see it: claude's EndpointSlice already names a pod of the
    /// new ReplicaSet (whose watch has not delivered it) and a pod the pod watch has not
    /// delivered.
    fn rollout_with_cache_lag() -> crate::Objects {
        let mut o = fx::incident_fixed();
        let labels = fx::gateway_labels("claude");
        o.pods.push(fx::pod(
            "claude-7c6b5a4d3-k8m2n",
            "claude-7c6b5a4d3",
            &labels,
        ));
        let mut pods = fx::pod_names("claude");
        pods.push("claude-7c6b5a4d3-k8m2n".to_owned());
        pods.push("claude-7c6b5a4d3-p4q5r".to_owned());
        let refs: Vec<&str> = pods.iter().map(String::as_str).collect();
        o.endpoint_slices
            .retain(|s| s.metadata.name.as_deref() != Some("claude-x7k2p"));
        o.endpoint_slices.push(fx::endpoint_slice("claude", &refs));
        o
    }

    #[test]
    fn endpoints_whose_owner_is_not_cached_yet_make_no_overlap() {
        let o = rollout_with_cache_lag();
        let index = Index::new(&o, &Discovery::default());
        assert_eq!(index.endpoints_of("claude").len(), 5);
        let found = service_overlap(&index);
        assert!(found.is_empty(), "{found:#?}");

        // Once the new ReplicaSet arrives, the pod is claude's own.
        let mut o = o;
        o.replica_sets.push(fx::replica_set(
            "claude-7c6b5a4d3",
            "claude",
            &fx::gateway_labels("claude"),
            1,
        ));
        let index = Index::new(&o, &Discovery::default());
        assert!(service_overlap(&index).is_empty());
    }

    #[test]
    fn a_real_overlap_stands_and_lists_the_unresolved_endpoints_apart() {
        let mut o = rollout_with_cache_lag();
        let slice = o
            .endpoint_slices
            .iter_mut()
            .find(|s| s.metadata.name.as_deref() == Some("claude-x7k2p"))
            .unwrap();
        let mut other = fx::endpoint_slice("claude", &[&fx::pod_names("openai-eu")[0]]).endpoints;
        slice.endpoints.append(&mut other);
        let index = Index::new(&o, &Discovery::default());
        let found = service_overlap(&index);
        assert_eq!(found.len(), 1, "{found:#?}");
        let d = &found[0];
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.instances, vec!["claude", "openai-eu"]);
        assert!(
            d.title
                .contains("pods of 2 instances (instance claude, instance openai-eu)"),
            "{}",
            d.title
        );
        assert_eq!(
            d.evidence.last().unwrap(),
            "owner not resolved yet, not counted: \
             claude-7c6b5a4d3-k8m2n (ReplicaSet claude-7c6b5a4d3 not in the cache yet), \
             claude-7c6b5a4d3-p4q5r (pod not in the cache yet)"
        );
    }
}

//! Traffic evidence from the spend logs of the last hour, a plain list of samples (the serving
//! process's instance, pod, model, requests, and how many it refused as not its own):
//! - requests an instance's pods refused as not theirs (no route for the model there, or a key
//!   not allowed on it) for a model another instance did serve: the traffic of that instance
//!   reached the wrong pods, which is what a Service selecting several instances' pods does;
//! - requests a pod logged under one instance while Kubernetes (or its heartbeat) places it in
//!   another: a pod whose `TOLLGATE_INSTANCE` disagrees with its Deployment.

use super::finding;
use crate::objects::Index;
use crate::report::{Heartbeat, TrafficSample};
use std::collections::BTreeMap;
use tollgate_domain::instances::{Diagnosis, Severity};

/// Every traffic finding, from both rules of the module.
pub fn cross_instance_traffic(
    index: Option<&Index<'_>>,
    heartbeats: &[Heartbeat],
    traffic: &[TrafficSample],
) -> Vec<Diagnosis> {
    let mut out = misdirected_traffic(traffic);
    out.extend(pods_in_the_wrong_instance(index, heartbeats, traffic));
    out
}

/// Critical: requests for a model that instance A served and instance B's pods refused as not
/// theirs, per (B, model).
fn misdirected_traffic(traffic: &[TrafficSample]) -> Vec<Diagnosis> {
    // The instances that served each model (answered it other than as not their own).
    let mut served: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in traffic.iter().filter(|s| s.requests > s.misdirected) {
        let list = served.entry(s.model.as_str()).or_default();
        if !list.contains(&s.instance.as_str()) {
            list.push(s.instance.as_str());
        }
    }
    let mut refused: BTreeMap<(&str, &str), Vec<(&str, u64)>> = BTreeMap::new();
    for s in traffic.iter().filter(|s| s.misdirected > 0) {
        refused
            .entry((s.instance.as_str(), s.model.as_str()))
            .or_default()
            .push((s.pod.as_str(), s.misdirected));
    }
    refused
        .into_iter()
        .filter_map(|((at, model), pods)| {
            let mut owners: Vec<&str> = served
                .get(model)?
                .iter()
                .copied()
                .filter(|i| *i != at)
                .collect();
            if owners.is_empty() {
                return None;
            }
            owners.sort_unstable();
            let total: u64 = pods.iter().map(|(_, n)| n).sum();
            let owner_list = owners.join(", ");
            let mut instances: Vec<String> = owners.iter().map(|o| (*o).to_owned()).collect();
            instances.push(at.to_owned());
            let mut evidence: Vec<String> = pods
                .iter()
                .map(|(p, n)| format!("{p} (instance {at}) refused {n} requests for {model} as not its own"))
                .collect();
            evidence.push(format!("{model} was served by instance {owner_list} in the same hour"));
            Some(finding(
                "cross-instance-traffic",
                Severity::Critical,
                format!(
                    "{total} requests for {model}, which instance {owner_list} serves, reached pods of instance {at} in the last hour"
                ),
                instances,
                evidence,
                "Requests meant for another instance reach this instance's pods. Either that instance's Service selects these pods too (see the selector-overlap finding; give each Service a selector with `app.kubernetes.io/instance`), or its clients call this instance's address.",
                vec![format!("kubectl -n <namespace> get endpointslices -o wide | grep -e {at} -e {}", owners[0])],
            ))
        })
        .collect()
}

/// Critical: samples whose pod belongs (by Kubernetes ownership, else by its heartbeat) to an
/// instance other than the one its process logged.
fn pods_in_the_wrong_instance(
    index: Option<&Index<'_>>,
    heartbeats: &[Heartbeat],
    traffic: &[TrafficSample],
) -> Vec<Diagnosis> {
    let mut wrong: BTreeMap<(&str, String), Vec<(&str, u64)>> = BTreeMap::new();
    for s in traffic.iter().filter(|s| s.requests > 0) {
        let by_kube = index
            .and_then(|i| i.pod(&s.pod).and_then(|p| i.instance_of_pod(p)))
            .map(str::to_owned);
        let owner = by_kube.or_else(|| {
            heartbeats
                .iter()
                .find(|h| h.pod == s.pod)
                .map(|h| h.instance.clone())
        });
        if let Some(owner) = owner
            && owner != s.instance
        {
            // Samples come by pod then model: one line per pod.
            let pods = wrong.entry((s.instance.as_str(), owner)).or_default();
            match pods.last_mut() {
                Some((p, n)) if *p == s.pod.as_str() => *n += s.requests,
                _ => pods.push((s.pod.as_str(), s.requests)),
            }
        }
    }
    wrong
        .into_iter()
        .map(|((meant, served_by), pods)| {
            let total: u64 = pods.iter().map(|(_, n)| n).sum();
            finding(
                "pod-instance-mismatch",
                Severity::Critical,
                format!(
                    "{total} requests were served as instance {meant} by pods of instance {served_by} in the last hour"
                ),
                vec![meant.to_owned(), served_by.clone()],
                pods.iter()
                    .map(|(p, n)| format!("{p} belongs to instance {served_by} but logged {n} requests as instance {meant}"))
                    .collect(),
                "These pods run with TOLLGATE_INSTANCE set to another instance than their Deployment's `app.kubernetes.io/instance`, so they serve that instance's routes and keys: set it to the Deployment's instance name (the Helm chart sets both from one value; a Kustomize overlay must change both together).",
                vec![format!("kubectl -n <namespace> get pods -l app.kubernetes.io/instance={served_by} -o jsonpath='{{range .items[*]}}{{.metadata.name}}: {{.spec.containers[0].env}}{{\"\\n\"}}{{end}}'")],
            )
        })
        .collect()
}

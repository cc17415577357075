//! Traffic evidence: requests meant for one instance that pods of another served. The input is a
//! plain list of samples (instance, pod, requests), fed from the spend logs of the last hour.

use super::finding;
use crate::objects::Index;
use crate::report::{Heartbeat, TrafficSample};
use std::collections::BTreeMap;
use tollgate_domain::instances::{Diagnosis, Severity};

/// Critical: samples whose pod belongs (by Kubernetes ownership, else by its heartbeat) to an
/// instance other than the one the requests were for.
pub fn cross_instance_traffic(
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
            wrong
                .entry((s.instance.as_str(), owner))
                .or_default()
                .push((s.pod.as_str(), s.requests));
        }
    }
    wrong
        .into_iter()
        .map(|((meant, served_by), pods)| {
            let total: u64 = pods.iter().map(|(_, n)| n).sum();
            finding(
                "cross-instance-traffic",
                Severity::Critical,
                format!(
                    "{total} requests for instance {meant} were served by pods of instance {served_by} in the last hour"
                ),
                vec![meant.to_owned(), served_by.clone()],
                pods.iter()
                    .map(|(p, n)| format!("{p} (instance {served_by}) served {n} requests for {meant}"))
                    .collect(),
                "The Service clients use for this instance reaches the other instance's pods: see the selector-overlap finding, and give each instance's Service a selector with `app.kubernetes.io/instance`.",
                vec![format!("kubectl -n <namespace> get endpointslices -l kubernetes.io/service-name={meant} -o wide")],
            )
        })
        .collect()
}

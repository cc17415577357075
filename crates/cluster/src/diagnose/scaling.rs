//! Scaling and disruption: a pod covered by two PDBs (the eviction API refuses it, so node
//! drains hang), and an HPA whose selector reaches other instances' pods (its metrics then
//! average across instances).

use super::{count, finding};
use crate::objects::{Index, Owner, labels, name};
use crate::selector::{selector_matches, selector_to_string};
use std::collections::BTreeMap;
use tollgate_domain::instances::{Diagnosis, Severity};

/// Warning: pods matched by more than one PodDisruptionBudget, grouped by the set of PDBs.
pub fn pdb_double_coverage(index: &Index<'_>) -> Vec<Diagnosis> {
    let mut groups: BTreeMap<Vec<&str>, Vec<&str>> = BTreeMap::new();
    for pod in &index.objects.pods {
        let pod_labels = labels(&pod.metadata);
        let covering: Vec<&str> = index
            .objects
            .pdbs
            .iter()
            .filter(|p| {
                // policy/v1: a missing selector matches no pods, an empty one every pod.
                p.spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .is_some_and(|s| selector_matches(s, &pod_labels))
            })
            .map(|p| name(&p.metadata))
            .collect();
        if covering.len() > 1 {
            groups
                .entry(covering)
                .or_default()
                .push(name(&pod.metadata));
        }
    }
    groups
        .into_iter()
        .map(|(pdbs, pods)| {
            let instances: Vec<String> = pods
                .iter()
                .filter_map(|p| index.pod(p).and_then(|p| index.instance_of_pod(p)))
                .map(str::to_owned)
                .collect();
            let mut evidence: Vec<String> = pdbs
                .iter()
                .filter_map(|n| index.objects.pdbs.iter().find(|p| name(&p.metadata) == *n))
                .map(|p| {
                    let sel = p
                        .spec
                        .as_ref()
                        .and_then(|s| s.selector.as_ref())
                        .map(selector_to_string)
                        .unwrap_or_default();
                    format!("PodDisruptionBudget {} selects `{sel}`", name(&p.metadata))
                })
                .collect();
            evidence.push(format!("pods covered by all of them: {}", pods.join(", ")));
            finding(
                "pod-multiple-pdbs",
                Severity::Warning,
                format!(
                    "{} covered by {} PodDisruptionBudgets ({}): evictions of them fail and node drains hang",
                    count(pods.len(), "pod is", "pods are"),
                    pdbs.len(),
                    pdbs.join(", ")
                ),
                instances,
                evidence,
                "Give each PodDisruptionBudget a selector that names one instance (`app.kubernetes.io/instance: <instance>`), so each pod has exactly one.",
                vec!["kubectl -n <namespace> patch pdb <pdb> --type merge -p '{\"spec\":{\"selector\":{\"matchLabels\":{\"app.kubernetes.io/instance\":\"<instance>\"}}}}'".to_owned()],
            )
        })
        .collect()
}

/// Warning: an HPA scales an instance's Deployment whose selector also matches pods of other
/// workloads; the HPA averages its metrics over all of them.
pub fn hpa_selector_overlap(index: &Index<'_>) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for hpa in &index.objects.hpas {
        let Some(spec) = &hpa.spec else { continue };
        let target = &spec.scale_target_ref;
        if target.kind != "Deployment" {
            continue;
        }
        let Some(instance) = index.instance_of_deployment.get(target.name.as_str()) else {
            continue;
        };
        let Some(selector) = index
            .objects
            .deployments
            .iter()
            .find(|d| name(&d.metadata) == target.name)
            .and_then(|d| d.spec.as_ref())
            .map(|s| &s.selector)
        else {
            continue;
        };
        let mut others: BTreeMap<Owner, Vec<&str>> = BTreeMap::new();
        for pod in &index.objects.pods {
            if !selector_matches(selector, &labels(&pod.metadata)) {
                continue;
            }
            let owner = index.owner_of_pod(pod);
            if owner != Owner::Instance(instance.clone()) {
                others.entry(owner).or_default().push(name(&pod.metadata));
            }
        }
        if others.is_empty() {
            continue;
        }
        let hpa_name = name(&hpa.metadata);
        let mut evidence = vec![format!(
            "HorizontalPodAutoscaler {hpa_name} scales Deployment {}, whose selector is `{}`",
            target.name,
            selector_to_string(selector)
        )];
        for (owner, pods) in &others {
            evidence.push(format!(
                "also matches {}: {}",
                owner.label(),
                pods.join(", ")
            ));
        }
        let mut instances = vec![instance.clone()];
        instances.extend(others.keys().filter_map(|o| match o {
            Owner::Instance(i) => Some(i.clone()),
            Owner::Workload(_) => None,
        }));
        let mut d = finding(
            "hpa-selector-overlap",
            Severity::Warning,
            format!(
                "HPA {hpa_name} of instance {instance} measures pods of {} as well: it scales on their average",
                others
                    .keys()
                    .map(Owner::label)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            instances,
            evidence,
            "Make the Deployment's selector name the instance (`app.kubernetes.io/instance`); the HPA follows the Deployment's selector. The selector is immutable: recreate the Deployment.",
            vec![format!(
                "kubectl -n <namespace> get pods -l '{}' -L app.kubernetes.io/instance",
                selector_to_string(selector)
            )],
        );
        d.owner = Some(instance.clone());
        out.push(d);
    }
    out
}

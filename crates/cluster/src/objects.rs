//! The namespace's objects as plain lists (what the watches cache, or what fixtures build), and
//! the ownership index the health model and diagnoses share: pod -> ReplicaSet -> Deployment ->
//! instance.

use crate::selector::Labels;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One namespace's objects of the kinds Tollgate watches.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Objects {
    pub deployments: Vec<Deployment>,
    pub replica_sets: Vec<ReplicaSet>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub hpas: Vec<HorizontalPodAutoscaler>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub events: Vec<Event>,
}

/// How instances are recognised among Deployments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// A Deployment is a gateway instance when it carries `label_key=label_value`.
    pub label_key: String,
    pub label_value: String,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            label_key: "app.kubernetes.io/name".to_owned(),
            label_value: "tollgate-gateway".to_owned(),
        }
    }
}

pub fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

pub fn labels(meta: &ObjectMeta) -> Labels {
    meta.labels.clone().unwrap_or_default()
}

/// The name of the controller owner of the given kind, if any.
pub fn controller_of<'a>(meta: &'a ObjectMeta, kind: &str) -> Option<&'a str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == kind && o.controller.unwrap_or(true))
        .map(|o| o.name.as_str())
}

/// Who owns what, computed once per report.
pub struct Index<'a> {
    pub objects: &'a Objects,
    /// Deployment name -> instance name, for the Deployments that are gateway instances.
    pub instance_of_deployment: BTreeMap<&'a str, String>,
    /// Every cached ReplicaSet -> its owning Deployment, when it has one.
    deployment_of_rs: BTreeMap<&'a str, Option<&'a str>>,
    /// Every cached Deployment.
    deployments: BTreeSet<&'a str>,
}

impl<'a> Index<'a> {
    pub fn new(objects: &'a Objects, discovery: &Discovery) -> Index<'a> {
        let instance_of_deployment = objects
            .deployments
            .iter()
            .filter(|d| {
                d.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(&discovery.label_key))
                    == Some(&discovery.label_value)
            })
            .map(|d| (name(&d.metadata), instance_name(d)))
            .collect();
        let deployment_of_rs = objects
            .replica_sets
            .iter()
            .map(|rs| {
                (
                    name(&rs.metadata),
                    controller_of(&rs.metadata, "Deployment"),
                )
            })
            .collect();
        Index {
            objects,
            instance_of_deployment,
            deployment_of_rs,
            deployments: objects
                .deployments
                .iter()
                .map(|d| name(&d.metadata))
                .collect(),
        }
    }

    /// The Deployment owning a pod through its ReplicaSet.
    pub fn deployment_of_pod(&self, pod: &Pod) -> Option<&'a str> {
        let rs = controller_of(&pod.metadata, "ReplicaSet")?;
        self.deployment_of_rs.get(rs).copied().flatten()
    }

    pub fn replica_set_of_pod<'p>(&self, pod: &'p Pod) -> Option<&'p str> {
        controller_of(&pod.metadata, "ReplicaSet")
    }

    /// The instance owning a pod, when its Deployment is a gateway instance.
    pub fn instance_of_pod(&self, pod: &Pod) -> Option<&str> {
        let d = self.deployment_of_pod(pod)?;
        self.instance_of_deployment.get(d).map(String::as_str)
    }

    /// The owner a diagnosis names: the instance, else `Deployment/x`, else `ReplicaSet/x`, else
    /// `Pod/x` (a bare pod).
    pub fn owner_of_pod(&self, pod: &Pod) -> Owner {
        if let Some(i) = self.instance_of_pod(pod) {
            return Owner::Instance(i.to_owned());
        }
        if let Some(d) = self.deployment_of_pod(pod) {
            return Owner::Workload(format!("Deployment/{d}"));
        }
        if let Some(rs) = self.replica_set_of_pod(pod) {
            return Owner::Workload(format!("ReplicaSet/{rs}"));
        }
        Owner::Workload(format!("Pod/{}", name(&pod.metadata)))
    }

    /// [`Index::owner_of_pod`] when the caches hold every link of the chain; else which link is
    /// missing (`ReplicaSet x`, `Deployment y`), as happens for a moment during a rollout since
    /// each kind has its own watch.
    pub fn resolved_owner_of_pod(&self, pod: &Pod) -> Result<Owner, String> {
        if let Some(rs) = self.replica_set_of_pod(pod) {
            match self.deployment_of_rs.get(rs) {
                None => return Err(format!("ReplicaSet {rs}")),
                Some(Some(d)) if !self.deployments.contains(d) => {
                    return Err(format!("Deployment {d}"));
                }
                Some(_) => {}
            }
        }
        Ok(self.owner_of_pod(pod))
    }

    pub fn pod(&self, pod_name: &str) -> Option<&'a Pod> {
        self.objects
            .pods
            .iter()
            .find(|p| name(&p.metadata) == pod_name)
    }

    /// Instance names in a stable order.
    pub fn instances(&self) -> Vec<(&'a str, &str)> {
        let mut v: Vec<(&'a str, &str)> = self
            .instance_of_deployment
            .iter()
            .map(|(d, i)| (*d, i.as_str()))
            .collect();
        v.sort_by(|a, b| a.1.cmp(b.1));
        v
    }

    /// The pods of an instance.
    pub fn pods_of(&self, instance: &str) -> Vec<&'a Pod> {
        self.objects
            .pods
            .iter()
            .filter(|p| self.instance_of_pod(p) == Some(instance))
            .collect()
    }

    /// `(pod name, ready)` for each Pod endpoint of a Service, from its EndpointSlices.
    pub fn endpoints_of(&self, service: &str) -> Vec<(&'a str, bool)> {
        let mut out = Vec::new();
        for slice in &self.objects.endpoint_slices {
            let owner = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"));
            if owner.map(String::as_str) != Some(service) {
                continue;
            }
            for ep in &slice.endpoints {
                let Some(target) = &ep.target_ref else {
                    continue;
                };
                if target.kind.as_deref() != Some("Pod") {
                    continue;
                }
                let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                if let Some(pod) = target.name.as_deref() {
                    out.push((pod, ready));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// How many of a Service's endpoints are ready.
    pub fn ready_endpoints(&self, service: &str) -> usize {
        self.endpoints_of(service)
            .iter()
            .filter(|(_, r)| *r)
            .count()
    }
}

/// Who a pod belongs to, for diagnoses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    Instance(String),
    Workload(String),
}

impl Owner {
    pub fn label(&self) -> String {
        match self {
            Owner::Instance(i) => format!("instance {i}"),
            Owner::Workload(w) => w.clone(),
        }
    }
}

/// An instance Deployment's name for the instance: its `app.kubernetes.io/instance` label, else
/// the Deployment's own name.
pub fn instance_name(d: &Deployment) -> String {
    d.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(crate::INSTANCE_LABEL))
        .cloned()
        .unwrap_or_else(|| name(&d.metadata).to_owned())
}

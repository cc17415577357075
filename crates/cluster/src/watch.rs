//! Cached watches (kube-runtime reflectors) of the namespace's Deployments, ReplicaSets, Pods,
//! Services, EndpointSlices, HPAs, PDBs and Warning events. Pages read these caches; nothing
//! calls the API server per page load. Each watch records whether it has listed, or why not.

use crate::objects::Objects;
use crate::report::{Access, KindState};
use futures_util::StreamExt as _;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::{Arc, RwLock};
use tokio::task::AbortHandle;

/// The running watches of one namespace. Dropping it stops them.
pub struct Watches {
    namespace: String,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    services: Store<Service>,
    endpoint_slices: Store<EndpointSlice>,
    hpas: Store<HorizontalPodAutoscaler>,
    pdbs: Store<PodDisruptionBudget>,
    events: Store<Event>,
    access: Arc<RwLock<Access>>,
    tasks: Vec<AbortHandle>,
}

impl Watches {
    /// Starts one watch per resource on the current tokio runtime.
    pub fn start(client: &Client, namespace: &str) -> Watches {
        let access = Arc::new(RwLock::new(Access::new()));
        let mut tasks = Vec::new();
        let all = watcher::Config::default();
        // Only Warning events are shown, and Normal ones are most of the volume.
        let warnings = watcher::Config::default().fields("type=Warning");
        macro_rules! watch {
            ($kind:literal, $config:expr) => {{
                let (store, task) = spawn(client, namespace, $kind, $config, &access);
                tasks.push(task);
                store
            }};
        }
        Watches {
            namespace: namespace.to_owned(),
            deployments: watch!("deployments", all.clone()),
            replica_sets: watch!("replicasets", all.clone()),
            pods: watch!("pods", all.clone()),
            services: watch!("services", all.clone()),
            endpoint_slices: watch!("endpointslices", all.clone()),
            hpas: watch!("horizontalpodautoscalers", all.clone()),
            pdbs: watch!("poddisruptionbudgets", all),
            events: watch!("events", warnings),
            access,
            tasks,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A copy of every cached object.
    pub fn objects(&self) -> Objects {
        fn copy<K: Clone + Resource + 'static>(s: &Store<K>) -> Vec<K>
        where
            K::DynamicType: std::hash::Hash + Eq + Clone,
        {
            s.state().iter().map(|o| (**o).clone()).collect()
        }
        Objects {
            deployments: copy(&self.deployments),
            replica_sets: copy(&self.replica_sets),
            pods: copy(&self.pods),
            services: copy(&self.services),
            endpoint_slices: copy(&self.endpoint_slices),
            hpas: copy(&self.hpas),
            pdbs: copy(&self.pdbs),
            events: copy(&self.events),
        }
    }

    /// Where each watch stands.
    pub fn access(&self) -> Access {
        self.access.read().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn set(access: &RwLock<Access>, kind: &str, state: KindState) {
    if let Ok(mut a) = access.write() {
        a.insert(kind.to_owned(), state);
    }
}

fn spawn<K>(
    client: &Client,
    namespace: &str,
    kind: &'static str,
    config: watcher::Config,
    access: &Arc<RwLock<Access>>,
) -> (Store<K>, AbortHandle)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let (reader, writer) = reflector::store();
    set(access, kind, KindState::Pending);
    let access = access.clone();
    let stream = watcher(api, config)
        // Retries with exponential backoff: a 403 keeps being retried, so granting the RBAC
        // later heals the view without a restart.
        .default_backoff()
        // Managed fields are often the largest part of an object and nothing reads them.
        .modify(|o: &mut K| {
            o.meta_mut().managed_fields = None;
        })
        .reflect(writer);
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(watcher::Event::InitDone) => {
                    tracing::debug!(kind, "listed");
                    set(&access, kind, KindState::Synced);
                }
                Ok(_) => {}
                Err(e) => {
                    let (message, forbidden) = classify(&e);
                    tracing::warn!(kind, forbidden, "Kubernetes watch failed: {e}");
                    // A failed initial list leaves the cache empty or old: say so. Errors of a
                    // running watch (a 410 Gone included) make the watcher re-list by itself.
                    if matches!(e, watcher::Error::InitialListFailed(_)) {
                        set(&access, kind, KindState::Failed { message, forbidden });
                    }
                }
            }
        }
    });
    (reader, task.abort_handle())
}

/// A sentence and whether it was a 403.
fn classify(e: &watcher::Error) -> (String, bool) {
    let api = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.as_ref()),
        watcher::Error::WatchError(s) => Some(s.as_ref()),
        _ => None,
    };
    match api {
        Some(s) => (
            if s.message.is_empty() {
                s.reason.clone()
            } else {
                s.message.clone()
            },
            s.code == 403,
        ),
        None => (e.to_string(), false),
    }
}

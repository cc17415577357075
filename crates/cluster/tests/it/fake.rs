//! A fake Kubernetes API server on loopback, for tests and the portal's end-to-end test. It
//! speaks the real wire format for the resources Tollgate watches: lists with a
//! `resourceVersion`, watch streams of `{"type":"ADDED|MODIFIED|DELETED|ERROR","object":...}`
//! lines, a `410 Gone` ERROR event for a watch that resumes from a compacted version, and `403`
//! Status bodies for resources the test forbids. It is the only stand-in in Tollgate's tests:
//! it cannot prove admission, RBAC enforcement or what real controllers do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};
use tollgate_cluster::Objects;

/// (plural, API path prefix, list kind) of every resource served.
const RESOURCES: [(&str, &str, &str); 8] = [
    ("deployments", "/apis/apps/v1", "DeploymentList"),
    ("replicasets", "/apis/apps/v1", "ReplicaSetList"),
    ("pods", "/api/v1", "PodList"),
    ("services", "/api/v1", "ServiceList"),
    ("events", "/api/v1", "EventList"),
    (
        "endpointslices",
        "/apis/discovery.k8s.io/v1",
        "EndpointSliceList",
    ),
    (
        "horizontalpodautoscalers",
        "/apis/autoscaling/v2",
        "HorizontalPodAutoscalerList",
    ),
    (
        "poddisruptionbudgets",
        "/apis/policy/v1",
        "PodDisruptionBudgetList",
    ),
];

#[derive(Default)]
struct Inner {
    rv: u64,
    /// plural -> name -> object
    objects: BTreeMap<String, BTreeMap<String, Value>>,
    /// plural -> events (rv, type, object), for watches that resume from an older version.
    history: BTreeMap<String, Vec<(u64, &'static str, Value)>>,
    /// Watches resuming from a version below this get `410 Gone`.
    compacted: u64,
    forbidden: BTreeSet<String>,
    lists: BTreeMap<String, usize>,
    watches: BTreeMap<String, usize>,
    gone_sent: usize,
}

struct Shared {
    inner: Mutex<Inner>,
    live: broadcast::Sender<(String, u64, String)>,
    /// Bumped to end every open watch stream.
    hangup: watch::Sender<u64>,
}

/// A running fake API server. Dropping it stops serving.
pub struct FakeApi {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn to_values(o: &Objects) -> Vec<(&'static str, Value)> {
    let mut v: Vec<(&'static str, Value)> = Vec::new();
    macro_rules! add {
        ($plural:literal, $list:expr) => {
            for x in &$list {
                v.push(($plural, serde_json::to_value(x).unwrap()));
            }
        };
    }
    add!("deployments", o.deployments);
    add!("replicasets", o.replica_sets);
    add!("pods", o.pods);
    add!("services", o.services);
    add!("events", o.events);
    add!("endpointslices", o.endpoint_slices);
    add!("horizontalpodautoscalers", o.hpas);
    add!("poddisruptionbudgets", o.pdbs);
    v
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

impl FakeApi {
    /// Serves `objects` on 127.0.0.1 at a free port.
    pub async fn start(objects: &Objects) -> FakeApi {
        Self::start_on("127.0.0.1:0", objects).await
    }

    pub async fn start_on(addr: &str, objects: &Objects) -> FakeApi {
        let (live, _) = broadcast::channel(1024);
        let (hangup, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            live,
            hangup,
        });
        {
            let mut inner = shared.inner.lock().unwrap();
            for (plural, mut value) in to_values(objects) {
                inner.rv += 1;
                value["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
                let name = name_of(&value);
                inner
                    .objects
                    .entry(plural.to_owned())
                    .or_default()
                    .insert(name, value);
            }
        }
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeApi { url, shared, task }
    }

    /// Adds or replaces an object; open watches see ADDED or MODIFIED.
    pub fn apply(&self, plural: &str, object: &impl serde::Serialize) {
        let mut value = serde_json::to_value(object).unwrap();
        let mut inner = self.shared.inner.lock().unwrap();
        inner.rv += 1;
        let rv = inner.rv;
        value["metadata"]["resourceVersion"] = json!(rv.to_string());
        let name = name_of(&value);
        let old = inner
            .objects
            .entry(plural.to_owned())
            .or_default()
            .insert(name, value.clone());
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        self.record(&mut inner, plural, rv, kind, value);
    }

    /// Deletes an object; open watches see DELETED.
    pub fn delete(&self, plural: &str, name: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        let Some(mut value) = inner.objects.get_mut(plural).and_then(|m| m.remove(name)) else {
            panic!("no {plural}/{name} to delete");
        };
        inner.rv += 1;
        let rv = inner.rv;
        value["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record(&mut inner, plural, rv, "DELETED", value);
    }

    fn record(&self, inner: &mut Inner, plural: &str, rv: u64, kind: &'static str, value: Value) {
        let line = json!({ "type": kind, "object": value.clone() }).to_string() + "\n";
        inner
            .history
            .entry(plural.to_owned())
            .or_default()
            .push((rv, kind, value));
        let _ = self.shared.live.send((plural.to_owned(), rv, line));
    }

    /// Deletes an object with no event, compacts the history past it and hangs up every watch:
    /// a watcher resuming from its last version gets `410 Gone` and must re-list to notice.
    pub fn delete_while_compacted(&self, plural: &str, name: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner
            .objects
            .get_mut(plural)
            .and_then(|m| m.remove(name))
            .unwrap();
        inner.rv += 1;
        inner.compacted = inner.rv;
        inner.history.clear();
        drop(inner);
        self.shared.hangup.send_modify(|n| *n += 1);
    }

    /// Answers 403 to lists and watches of this resource from now on.
    pub fn forbid(&self, plural: &str) {
        self.shared
            .inner
            .lock()
            .unwrap()
            .forbidden
            .insert(plural.to_owned());
    }

    pub fn allow(&self, plural: &str) {
        self.shared.inner.lock().unwrap().forbidden.remove(plural);
    }

    pub fn lists(&self, plural: &str) -> usize {
        *self
            .shared
            .inner
            .lock()
            .unwrap()
            .lists
            .get(plural)
            .unwrap_or(&0)
    }

    pub fn watches(&self, plural: &str) -> usize {
        *self
            .shared
            .inner
            .lock()
            .unwrap()
            .watches
            .get(plural)
            .unwrap_or(&0)
    }

    pub fn gone_sent(&self) -> usize {
        self.shared.inner.lock().unwrap().gone_sent
    }

    /// A kubeconfig (YAML) for this server, namespace `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\n",
            self.url
        )
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

fn reply(code: u16, body: Value) -> Response {
    let status = http::StatusCode::from_u16(code).unwrap();
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    // <prefix>/namespaces/<ns>/<plural>
    let Some((prefix, rest)) = path.split_once("/namespaces/") else {
        return reply(
            404,
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    };
    let plural = rest.split('/').nth(1).unwrap_or_default().to_owned();
    let Some((_, api, list_kind)) = RESOURCES
        .iter()
        .find(|(p, api, _)| *p == plural && *api == prefix)
    else {
        return reply(
            404,
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    };
    let watching = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let mut inner = shared.inner.lock().unwrap();
    if inner.forbidden.contains(&plural) {
        let verb = if watching { "watch" } else { "list" };
        let group = api.trim_start_matches("/apis/").trim_start_matches("/api/");
        let group = group
            .split('/')
            .next()
            .filter(|_| api.starts_with("/apis/"))
            .unwrap_or("");
        return reply(
            403,
            status(
                403,
                "Forbidden",
                &format!(
                    "{plural} is forbidden: User \"system:serviceaccount:tollgate:tollgate-portal\" cannot {verb} resource \"{plural}\" in API group \"{group}\" in the namespace \"tollgate\""
                ),
            ),
        );
    }
    if !watching {
        *inner.lists.entry(plural.clone()).or_default() += 1;
        let items: Vec<Value> = inner
            .objects
            .get(&plural)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let api_version = api.trim_start_matches("/apis/").trim_start_matches("/api/");
        return reply(
            200,
            json!({
                "apiVersion": api_version,
                "kind": list_kind,
                "metadata": { "resourceVersion": inner.rv.to_string() },
                "items": items,
            }),
        );
    }
    *inner.watches.entry(plural.clone()).or_default() += 1;
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if from < inner.compacted {
        inner.gone_sent += 1;
        let line = json!({
            "type": "ERROR",
            "object": status(410, "Expired", &format!("too old resource version: {from} ({})", inner.compacted)),
        })
        .to_string()
            + "\n";
        return Response::builder()
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(line))
            .unwrap();
    }
    // Replay what happened after `from`, then follow live events; subscribed under the lock so
    // nothing falls between the two.
    let replay: Vec<Result<Bytes, Infallible>> = inner
        .history
        .get(&plural)
        .into_iter()
        .flatten()
        .filter(|(rv, _, _)| *rv > from)
        .map(|(_, kind, obj)| {
            Ok(Bytes::from(
                json!({ "type": kind, "object": obj }).to_string() + "\n",
            ))
        })
        .collect();
    let mut live = shared.live.subscribe();
    let mut hangup = shared.hangup.subscribe();
    drop(inner);
    let follow = async_stream(move |tx| async move {
        loop {
            tokio::select! {
                changed = hangup.changed() => { let _ = changed; return; }
                ev = live.recv() => match ev {
                    Ok((p, rv, line)) if p == plural && rv > from => {
                        if tx.send(Ok(Bytes::from(line))).await.is_err() { return; }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
            }
        }
    });
    let body = futures_util::stream::iter(replay).chain(follow);
    Response::builder()
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap()
}

/// A stream fed by a task (no async-stream crate needed).
fn async_stream<F, Fut>(f: F) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Bytes, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

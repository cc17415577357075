//! `/api/v1/instances` against the fake Kubernetes API server of `tollgate-cluster` (the portal
//! finds it through `KUBECONFIG`, as it would a real cluster), and with no cluster at all; and
//! `tollgate check-manifests` on rendered manifests.

#[path = "../../../crates/cluster/tests/it/fake.rs"]
mod fake;

use super::harness::{Db, Server, command};
use serde_json::Value;
use std::time::{Duration, Instant};
use tollgate_cluster::fixtures;

const KEY: &str = "sk-master-test-0123456789abcdef";

async fn get(s: &Server, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", s.base))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Polls `/api/v1/instances` until `check` holds.
async fn until(s: &Server, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(s, "/api/v1/instances").await;
        if status == 200 && check(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; last answer {status} {body:#}\nlog:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_api_reports_the_overlap_seen_through_a_kubeconfig() {
    let api = fake::FakeApi::start(&fixtures::incident()).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig(fixtures::NAMESPACE)).unwrap();
    let s = Server::spawn(
        "portal",
        Db::Sqlite,
        &[
            ("TOLLGATE_MASTER_KEY", KEY),
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
        ],
        None,
    )
    .ready()
    .await;

    let anonymous = reqwest::get(format!("{}/api/v1/instances", s.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let body = until(&s, "the watches to list", |b| {
        b["kubernetes"]["state"] == "on" && b["kubernetes"]["synced"] == true
    })
    .await;
    assert_eq!(body["kubernetes"]["namespace"], "tollgate");
    let instances = body["data"].as_array().unwrap();
    let names: Vec<&str> = instances
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["batch", "claude", "openai-eu"]);
    for i in instances {
        let overlap = i["diagnoses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == "service-selector-overlap")
            .unwrap_or_else(|| panic!("no overlap for {}: {i:#}", i["name"]));
        assert_eq!(overlap["severity"], "critical");
    }

    let (status, one) = get(&s, "/api/v1/instances/claude").await;
    assert_eq!(status, 200, "{one:#}");
    assert_eq!(one["data"]["name"], "claude");
    assert_eq!(one["data"]["pods"].as_array().unwrap().len(), 3);
    assert_eq!(one["data"]["health"]["state"], "Healthy");
    let (status, _) = get(&s, "/api/v1/instances/nope").await;
    assert_eq!(status, 404);
    assert!(api.lists("pods") >= 1);
}

#[tokio::test]
async fn with_no_cluster_instances_come_from_heartbeats() {
    let s = Server::start(
        Db::Sqlite,
        &[
            ("TOLLGATE_MASTER_KEY", KEY),
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
        ],
    )
    .ready()
    .await;
    // `serve` runs a gateway too, which writes a heartbeat as instance `default`.
    let body = until(&s, "the heartbeat of this process", |b| {
        b["data"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    assert_eq!(body["kubernetes"]["state"], "off", "{body:#}");
    assert!(
        body["kubernetes"]["reason"]
            .as_str()
            .unwrap()
            .contains("kubeconfig"),
        "{body:#}"
    );
    let default = &body["data"][0];
    assert_eq!(default["name"], "default");
    assert_eq!(default["health"]["state"], "Healthy");
    assert_eq!(default["pods"][0]["from_kubernetes"], false);
}

#[test]
fn enabled_true_without_a_cluster_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(&["portal", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("TOLLGATE_DATA_DIR", dir.path())
        .env("TOLLGATE_KUBERNETES__ENABLED", "true")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("[kubernetes] enabled = true"), "{text}");
}

const BROKEN: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: claude}
spec:
  selector: {app: litellm}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: claude}
spec:
  selector: {matchLabels: {app: litellm}}
  template:
    metadata: {labels: {app: litellm, app.kubernetes.io/instance: claude}}
    spec: {containers: [{name: gateway, image: tollgate}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch}
spec:
  selector: {matchLabels: {app: litellm}}
  template:
    metadata: {labels: {app: litellm, app.kubernetes.io/instance: batch}}
    spec: {containers: [{name: gateway, image: tollgate}]}
"#;

#[test]
fn check_manifests_exits_1_on_overlap_and_0_when_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, BROKEN).unwrap();
    let out = command(&["check-manifests", broken.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("CRITICAL: Service claude selects the pods of 2 Deployments"),
        "{text}"
    );
    assert!(text.contains("includeSelectors: true"), "{text}");

    let fixed = dir.path().join("fixed.yaml");
    std::fs::write(
        &fixed,
        BROKEN.replace(
            "selector: {app: litellm}",
            "selector: {app: litellm, app.kubernetes.io/instance: claude}",
        ),
    )
    .unwrap();
    let out = command(&["check-manifests", fixed.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 findings, 0 critical"), "{text}");

    let out = command(&["check-manifests", "/nonexistent.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

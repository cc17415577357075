//! The gateway as processes: keys from the CLI, config-file routes to a stub upstream, and a
//! key blocked on one Postgres database refused by two gateway processes (sharing one Redis for
//! their counters) within a second.

use super::harness::{
    Db, Server, command, migrated_postgres, redis_url, stub_upstream, write_config,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Runs `tollgate keys ...` against `db_url`; returns stdout.
fn keys(db_url: &str, args: &[&str]) -> String {
    let mut all = vec!["keys"];
    all.extend_from_slice(args);
    let out = command(&all)
        .env("TOLLGATE_DATABASE_URL", db_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

async fn chat(base: &str, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "ping", "messages": [{"role": "user", "content": "ping"}]}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_blocked_key_is_refused_by_every_gateway_within_a_second() {
    let upstream = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &upstream, "stub-model");
    let db = migrated_postgres();

    // Two replicas as in a cluster: one Postgres, one Redis for their counters.
    let redis = redis_url();
    let env = [
        ("TOLLGATE_INSTANCE", "default"),
        ("TOLLGATE_REDIS_URL", redis.as_str()),
    ];
    let a = Server::spawn("gateway", Db::Url(db.clone()), &env, Some(dir.path()))
        .ready()
        .await;
    let b = Server::spawn("gateway", Db::Url(db.clone()), &env, Some(dir.path()))
        .ready()
        .await;

    let created = keys(&db, &["create", "--alias", "multi", "--models", "ping"]);
    let (id, key) = (field(&created, "id:"), field(&created, "key:"));
    assert!(key.starts_with("sk-tg-") && key.len() >= 6 + 32, "{key}");

    // The new key reaches both processes through the change feed.
    for s in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = chat(&s.base, &key).await;
            if r.status() == StatusCode::OK {
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["choices"][0]["message"]["content"], "pong");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "key never accepted by {}",
                s.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    keys(&db, &["block", &id]);
    let blocked_at = Instant::now();
    for s in [&a, &b] {
        loop {
            if chat(&s.base, &key).await.status() == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                blocked_at.elapsed() < Duration::from_secs(1),
                "{} still accepts the blocked key after 1 s",
                s.base
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let body: Value = chat(&a.base, &key).await.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error", "{body}");

    // Heartbeats from both processes are on record with the revision they applied.
    let metrics = reqwest::get(format!("{}/metrics", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tollgate_requests_total"), "{metrics}");
    assert!(metrics.contains("status=\"401\""), "{metrics}");
}

#[tokio::test]
async fn serve_routes_a_cli_key_to_the_configured_upstream() {
    let upstream = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &upstream, "stub-model");
    let data = dir.path().join("data");
    let data_str = data.to_str().unwrap();
    let created = command(&["keys", "create", "--data-dir", data_str])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        !created.status.success(),
        "keys refuses an unmigrated database"
    );
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(stderr.contains("tollgate migrate"), "{stderr}");

    // `serve` and the CLI share one SQLite file; a key made by the CLI in another process
    // reaches the running server through the revision poll (1 s in this config).
    let db = format!("sqlite://{}", data.join("tollgate.db").display());
    let s = Server::spawn("serve", Db::Url(db.clone()), &[], Some(dir.path()))
        .ready()
        .await;
    let created = keys(&db, &["create", "--alias", "cli", "--models", "ping"]);
    let key = field(&created, "key:");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = chat(&s.base, &key).await;
        if r.status() == StatusCode::OK {
            assert_eq!(r.headers()["x-tollgate-instance"], "default");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["choices"][0]["message"]["content"], "pong", "{body}");
            assert_eq!(
                body["model"], "stub-model",
                "the upstream saw the deployment's model"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the CLI's key never reached serve"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let models: Value = reqwest::Client::new()
        .get(format!("{}/v1/models", s.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "ping", "{models}");

    let r = chat(&s.base, "sk-tg-not-a-real-key-000000000000000000000000").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.base))
        .body("{\"model\": ")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "a valid key with a truncated body"
    );
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("column"),
        "{body}"
    );
    let models = reqwest::Client::new()
        .get(format!("{}/v1/models", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), StatusCode::UNAUTHORIZED);
}

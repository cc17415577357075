//! The portal over HTTP: health, sign-in and its throttle, the forced password change, cookies,
//! cross-site refusal, the master key, body limits, and start-up with the database down.

use super::harness::{Db, Server};
use reqwest::StatusCode;

const NEW_PASSWORD: &str = "a much better passphrase";

async fn sign_in(
    client: &reqwest::Client,
    s: &Server,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/rpc/sign_in", s.base))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The whole first-run path: bootstrap admin, forced change, dashboard, sign-out.
async fn first_run(db: Db) {
    let s = Server::start(db, &[]).ready().await;
    let live = reqwest::get(format!("{}/health/liveliness", s.base))
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready: serde_json::Value = reqwest::get(format!("{}/health/readiness", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["database"]["ok"], true, "{ready}");

    let password = s.bootstrap_password().await;
    let browser = s.browser();

    let home = browser.get(format!("{}/", s.base)).send().await.unwrap();
    assert!(home.status().is_redirection());
    assert_eq!(location(&home), "/signin");

    let wrong = sign_in(&browser, &s, "admin@localhost", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("BadCredentials"));
    let unknown = sign_in(&browser, &s, "nobody@example.com", "not the password").await;
    assert!(
        unknown.text().await.unwrap().contains("BadCredentials"),
        "same answer for unknown emails"
    );

    let ok = sign_in(&browser, &s, "admin@localhost", &password).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let cookie = ok
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );
    assert!(ok.text().await.unwrap().contains("/account/password"));

    let forced = browser
        .get(format!("{}/keys", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&forced),
        "/account/password",
        "the password must be changed first"
    );

    let short = browser
        .post(format!("{}/rpc/change_password", s.base))
        .form(&[
            ("current_password", password.as_str()),
            ("new_password", "short"),
            ("confirm_password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 12 characters")
    );

    let changed = browser
        .post(format!("{}/rpc/change_password", s.base))
        .form(&[
            ("current_password", password.as_str()),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "{}",
        changed.text().await.unwrap()
    );

    let dash = browser.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(dash.status(), StatusCode::OK);
    let html = dash.text().await.unwrap();
    assert!(
        html.contains("Dashboard") && html.contains("admin@localhost"),
        "{html}"
    );

    // The one-time password no longer works; the new one does and skips the forced change.
    let old = sign_in(&s.browser(), &s, "admin@localhost", &password).await;
    assert!(old.text().await.unwrap().contains("BadCredentials"));
    let again = sign_in(&s.browser(), &s, "admin@localhost", NEW_PASSWORD).await;
    assert_eq!(again.text().await.unwrap(), "\"/\"");

    let out = browser
        .post(format!("{}/rpc/sign_out", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let after = browser.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(location(&after), "/signin", "signed out after sign-out");

    let audit = s.log();
    assert!(
        !audit.contains(NEW_PASSWORD),
        "passwords never reach the log"
    );
}

#[tokio::test]
async fn first_run_on_sqlite() {
    first_run(Db::Sqlite).await;
}

#[tokio::test]
async fn first_run_on_postgres() {
    first_run(Db::Postgres).await;
}

#[tokio::test]
async fn forged_cookies_are_signed_out() {
    let s = Server::start(Db::Sqlite, &[]).ready().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for cookie in [
        "tollgate_session=forged",
        "tollgate_session=",
        "tollgate_session=x; other=1",
    ] {
        let r = client
            .get(format!("{}/users", s.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), "/signin", "{cookie}");
    }
    let rpc = client
        .post(format!("{}/rpc/list_users", s.base))
        .header("cookie", "tollgate_session=forged")
        .form(&[("offset", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), StatusCode::UNAUTHORIZED);
    assert!(rpc.text().await.unwrap().contains("Unauthenticated"));
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_anything_happens() {
    let s = Server::start(Db::Sqlite, &[]).ready().await;
    let password = s.bootstrap_password().await;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/rpc/sign_in", s.base))
        .header("origin", "https://evil.example")
        .form(&[
            ("email", "admin@localhost"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session was created"
    );
}

#[tokio::test]
async fn repeated_failures_are_slowed_then_refused() {
    let s = Server::start(Db::Sqlite, &[]).ready().await;
    let password = s.bootstrap_password().await;
    let client = s.browser();
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(
            sign_in(&client, &s, "admin@localhost", "wrong password!")
                .await
                .status(),
        );
    }
    let last = sign_in(&client, &s, "admin@localhost", &password).await;
    assert_eq!(
        last.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits: {statuses:?}"
    );
    let retry: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60, "{retry}");
    assert!(last.text().await.unwrap().contains("TooManyAttempts"));
    // Another account from another client is not locked out by this one.
    let other = sign_in(&s.browser(), &s, "someone@else.io", "whatever password").await;
    assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_master_key_authenticates_the_api_and_the_portal() {
    let key = "sk-master-test-0123456789abcdef";
    let s = Server::start(Db::Sqlite, &[("TOLLGATE_MASTER_KEY", key)])
        .ready()
        .await;
    let client = reqwest::Client::new();

    let anon = client
        .get(format!("{}/api/v1/users", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = anon.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error", "{body}");

    let wrong = client
        .get(format!("{}/api/v1/users", s.base))
        .bearer_auth("sk-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let users: serde_json::Value = client
        .get(format!("{}/api/v1/users", s.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["data"][0]["email"], "admin@localhost", "{users}");

    let bad = client
        .get(format!("{}/api/v1/users?limit=0", s.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let missing = client
        .get(format!("{}/api/v1/nothing", s.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let browser = s.browser();
    let signed = sign_in(&browser, &s, "master", key).await;
    assert_eq!(signed.status(), StatusCode::OK);
    let page = browser.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("master key"));
}

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Server::start(Db::Sqlite, &[]).ready().await;
    // A raw request that announces 2 MiB and sends only its headers: the server must answer
    // 413 from `Content-Length` alone, before reading (or waiting for) any of the body. An
    // HTTP client that keeps writing the body after that answer races the server's close
    // and may see a broken pipe instead of the status, so the body is never sent here.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /rpc/sign_in HTTP/1.1\r\nhost: {addr}\r\norigin: {}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        s.base,
        2 * 1024 * 1024
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("the server answered before the body arrived")
            .unwrap();
        assert!(n > 0, "connection closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let status_line = String::from_utf8_lossy(&answer);
    assert!(
        status_line.starts_with("HTTP/1.1 413"),
        "{}",
        status_line.lines().next().unwrap_or_default()
    );
    // The bootstrap password still works: the oversized attempt did not lock anything.
    let password = s.bootstrap_password().await;
    assert_eq!(
        sign_in(&s.browser(), &s, "admin@localhost", &password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unreachable_database_is_reported_and_retried() {
    let s = Server::start(Db::Unreachable, &[]);
    let r = s.wait_for_status("/health/readiness", 503).await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "starting", "{body}");
    let detail = body["checks"]["database"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("unreachable") || detail.contains("connecting"),
        "{detail}"
    );
    assert!(!detail.contains("SELECT"), "{detail}");
    let live = reqwest::get(format!("{}/health/liveliness", s.base))
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let page = reqwest::get(format!("{}/", s.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
}

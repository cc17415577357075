//! Opt-in prompt storage: off by default; on for a key or for every key of its team, the
//! usage event carries the request body and the answer as the client got them (a stream's
//! events as sent), each cut at `store_prompts_max_bytes`.

use crate::harness::{Harness, hi, openai, read_stream, route, test_config};
use crate::stub::Stub;
use serde_json::json;
use tollgate_domain::Timestamp;

#[tokio::test]
async fn nothing_is_kept_unless_the_key_or_its_team_asks() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let team = crate::harness::team(h.store.as_ref()).await;
    let plain = h.key().await;
    let in_team = h.key_with(|k| k.team_id = Some(team)).await;
    let (status, _) = h.ask(&plain.secret, "gpt-4o").await;
    assert_eq!(status, 200);
    let (status, _) = h.ask(&in_team.secret, "gpt-4o").await;
    assert_eq!(status, 200);
    assert!(h.usage.events().iter().all(|e| e.bodies.is_none()));

    // The team turns it on: its key stores, the other key still does not.
    h.store
        .set_team_store_prompts(team, true, Timestamp::now())
        .await
        .unwrap();
    h.apply().await;
    h.ask(&in_team.secret, "gpt-4o").await;
    h.ask(&plain.secret, "gpt-4o").await;
    let events = h.usage.events();
    let stored = events[2].bodies.as_ref().expect("the team's key stores");
    assert!(
        stored.prompt.contains("\"model\":\"gpt-4o\""),
        "{}",
        stored.prompt
    );
    assert!(
        stored.completion.contains("chat.completion"),
        "{}",
        stored.completion
    );
    assert!(!stored.truncated);
    assert_eq!(events[3].bodies, None, "a key outside the team does not");

    // And off again.
    h.store
        .set_team_store_prompts(team, false, Timestamp::now())
        .await
        .unwrap();
    h.apply().await;
    h.ask(&in_team.secret, "gpt-4o").await;
    assert_eq!(h.usage.last().record.bodies, None);
}

#[tokio::test]
async fn a_plain_answer_is_kept_whole_within_the_cap_and_cut_beyond_it() {
    let mut config = test_config();
    config.store_prompts_max_bytes = 200;
    let h = Harness::with_config(config).await;
    let stub = Stub::with(|b| b.text = vec!["é".repeat(300)]).await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key_with(|k| k.store_prompts = true).await;

    let r = h.chat(&key.secret, &hi("gpt-4o")).await;
    assert_eq!(r.status(), 200);
    let answer = r.text().await.unwrap();
    let stored = h.usage.last().record.bodies.expect("stored");
    let sent = serde_json::to_string(&hi("gpt-4o")).unwrap();
    assert_eq!(stored.prompt, sent, "the body as sent, under the cap");
    assert!(stored.truncated, "a 600-byte answer is over a 200-byte cap");
    assert!(stored.completion.len() <= 200);
    assert!(
        answer.starts_with(&stored.completion),
        "a prefix of the answer"
    );
    assert!(
        stored.completion.len() > 190,
        "cut at the cap, on a character boundary"
    );
}

#[tokio::test]
async fn a_stream_keeps_the_events_the_client_was_sent() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| b.text = vec!["Hel".into(), "lo".into()]).await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key_with(|k| k.store_prompts = true).await;
    let body = json!({"model": "gpt-4o", "stream": true,
        "messages": [{"role": "user", "content": "<script>alert(1)</script>"}]});
    let r = h.chat(&key.secret, &body).await;
    assert_eq!(r.status(), 200);
    let received: String = read_stream(r).await.into_iter().map(|(_, c)| c).collect();
    assert!(
        crate::harness::eventually(std::time::Duration::from_secs(2), || h.usage.count() == 1)
            .await
    );
    let stored = h.usage.last().record.bodies.expect("stored");
    assert_eq!(stored.completion, received, "exactly what the client read");
    assert!(stored.completion.ends_with("data: [DONE]\n\n"));
    assert!(stored.prompt.contains("<script>alert(1)</script>"));
    assert!(!stored.truncated);
}

#[tokio::test]
async fn a_refused_request_keeps_its_prompt() {
    let h = Harness::start().await;
    let key = h.key_with(|k| k.store_prompts = true).await;
    let (status, _) = h.ask(&key.secret, "no-such-model").await;
    assert_eq!(status, 404);
    let stored = h.usage.last().record.bodies.expect("stored");
    assert!(stored.prompt.contains("no-such-model"));
    assert_eq!(stored.completion, "");
}

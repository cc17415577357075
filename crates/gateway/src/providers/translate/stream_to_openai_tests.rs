use super::*;
use crate::providers::StreamConverter;
use crate::providers::fixtures::{
    ANTHROPIC_TOOL_STREAM, anthropic_text_stream, events, run, run_every_split,
};

fn conv(wants_usage: bool) -> Box<dyn StreamConverter> {
    Box::new(crate::providers::sse::SseConverter::new(
        EventsToChunks::new(wants_usage),
    ))
}

/// The data of every event, with the `[DONE]` marker as a string.
fn datas(out: &[u8]) -> Vec<Value> {
    events(out)
        .into_iter()
        .map(|(name, d)| {
            assert_eq!(name, None, "OpenAI chunks have no event names");
            d
        })
        .collect()
}

#[test]
fn a_text_stream_becomes_chunks() {
    let out = run_every_split(|| conv(false), &anthropic_text_stream());
    let d = datas(&out);
    assert_eq!(d.len(), 5);
    for chunk in &d[..4] {
        assert_eq!(chunk["id"], "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "claude-sonnet-4-5-20250929");
    }
    assert_eq!(
        d[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(d[1]["choices"][0]["delta"], json!({"content": "Hello"}));
    assert_eq!(
        d[2]["choices"][0]["delta"],
        json!({"content": "! ¿Qué tal? 👋"})
    );
    assert_eq!(d[2]["choices"][0]["finish_reason"], Value::Null);
    assert_eq!(d[3]["choices"][0]["delta"], json!({}));
    assert_eq!(d[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(d[4], "[DONE]");

    let mut c = conv(false);
    run(c.as_mut(), &[anthropic_text_stream().as_bytes()]);
    assert_eq!(
        c.usage(),
        Usage {
            prompt_tokens: 125,
            completion_tokens: 15,
            cached_tokens: 100
        }
    );
}

#[test]
fn the_usage_chunk_comes_only_when_asked() {
    let out = run_every_split(|| conv(true), &anthropic_text_stream());
    let d = datas(&out);
    assert_eq!(d.len(), 6);
    assert_eq!(d[4]["choices"], json!([]));
    assert_eq!(
        d[4]["usage"],
        json!({"prompt_tokens": 125, "completion_tokens": 15, "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 100}})
    );
    assert_eq!(d[5], "[DONE]");
}

#[test]
fn a_tool_use_stream_becomes_tool_call_deltas() {
    let out = run_every_split(|| conv(false), ANTHROPIC_TOOL_STREAM);
    let d = datas(&out);
    let deltas: Vec<&Value> = d
        .iter()
        .filter_map(|c| c.get("choices"))
        .map(|c| &c[0]["delta"])
        .collect();
    assert_eq!(
        deltas[1],
        &json!({"content": "Okay, let's check the weather."})
    );
    assert_eq!(
        deltas[2],
        &json!({"tool_calls": [{"index": 0, "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        "type": "function", "function": {"name": "get_weather", "arguments": ""}}]})
    );
    let args: String = deltas[3..]
        .iter()
        .filter_map(|d| d["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"location": "San Francisco, CA"})
    );
    assert!(deltas[3..].iter().all(|d| {
        d.get("tool_calls")
            .is_none_or(|t| t[0]["index"] == 0 && t[0].get("id").is_none())
    }));
    let last = &d[d.len() - 2];
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(d[d.len() - 1], "[DONE]");
}

#[test]
fn started_waits_for_text_or_a_tool() {
    let mut c = conv(false);
    let input = anthropic_text_stream();
    let evs: Vec<&str> = input.split_inclusive("\r\n\r\n").collect();
    for e in &evs[..3] {
        c.push(e.as_bytes()).unwrap();
    }
    assert!(
        !c.started(),
        "message_start, an empty text block and a ping are no content"
    );
    c.push(evs[3].as_bytes()).unwrap();
    assert!(c.started());
}

#[test]
fn an_error_event_becomes_an_openai_error_and_ends_the_stream() {
    let input = anthropic_text_stream();
    let first = input.split_inclusive("\r\n\r\n").next().unwrap().to_owned();
    let stream = first
        + "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    let out = run_every_split(|| conv(true), &stream);
    let d = datas(&out);
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[1],
        json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
    );
}

#[test]
fn an_empty_upstream_gives_nothing_and_garbage_is_bad_upstream() {
    assert!(run(conv(true).as_mut(), &[b": just a comment\n\n"]).is_empty());
    let err = conv(false)
        .push(b"event: message_start\ndata: {not json\n\n")
        .unwrap_err();
    assert!(matches!(err, ProviderError::BadUpstream(_)));
}

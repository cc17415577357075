use super::*;
use crate::providers::StreamConverter;
use crate::providers::fixtures::{
    OPENAI_TEXT_STREAM, OPENAI_TOOL_STREAM, events, run, run_every_split,
};

fn conv() -> Box<dyn StreamConverter> {
    Box::new(crate::providers::sse::SseConverter::new(
        ChunksToEvents::new(),
    ))
}

/// Asserts the Anthropic event grammar: `message_start`, blocks opened and closed in index
/// order with deltas only to the open one, `message_delta`, `message_stop`; returns the events.
fn well_formed(out: &[u8]) -> Vec<(String, Value)> {
    let evs: Vec<(String, Value)> = events(out)
        .into_iter()
        .map(|(name, data)| {
            let name = name.expect("every Anthropic event is named");
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect();
    assert_eq!(evs.first().unwrap().0, "message_start");
    let n = evs.len();
    assert_eq!(evs[n - 2].0, "message_delta");
    assert_eq!(evs[n - 1].0, "message_stop");
    let (mut open, mut next) = (None, 0);
    for (name, data) in &evs[1..n - 2] {
        let index = data["index"].as_u64().unwrap();
        match name.as_str() {
            "content_block_start" => {
                assert_eq!((open, index), (None, next));
                open = Some(index);
            }
            "content_block_delta" => assert_eq!(open, Some(index)),
            "content_block_stop" => {
                assert_eq!(open, Some(index));
                open = None;
                next += 1;
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(open, None);
    evs
}

#[test]
fn a_text_stream_becomes_a_message() {
    let out = run_every_split(conv, OPENAI_TEXT_STREAM);
    let evs = well_formed(&out);
    let message = &evs[0].1["message"];
    assert_eq!(message["id"], "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    assert_eq!(message["model"], "gpt-4o-2024-08-06");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"], json!([]));
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello! How can I help — today?");
    let delta = &evs[evs.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 11, "output_tokens": 10, "cache_read_input_tokens": 8})
    );

    let mut c = conv();
    run(c.as_mut(), &[OPENAI_TEXT_STREAM.as_bytes()]);
    assert_eq!(
        c.usage(),
        Usage {
            prompt_tokens: 19,
            completion_tokens: 10,
            cached_tokens: 8
        }
    );
}

#[test]
fn a_tool_call_stream_becomes_a_tool_use_block() {
    let out = run_every_split(conv, OPENAI_TOOL_STREAM);
    let evs = well_formed(&out);
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "tool_use", "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        "name": "get_weather", "input": {}})
    );
    let json_text: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json_text).unwrap(),
        json!({"location": "Paris, France"})
    );
    assert_eq!(evs[evs.len() - 2].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(evs[evs.len() - 2].1["usage"]["output_tokens"], 17);
}

#[test]
fn text_then_two_tool_calls_get_their_own_blocks() {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let call = |i: u64, id: Option<&str>, args: &str| {
        let mut c = json!({"index": i, "function": {"arguments": args}});
        if let Some(id) = id {
            c["id"] = id.into();
            c["type"] = "function".into();
            c["function"]["name"] = format!("tool{i}").into();
        }
        json!({"tool_calls": [c]})
    };
    let stream = [
        chunk(
            json!({"role": "assistant", "content": "Checking."}),
            Value::Null,
        ),
        chunk(call(0, Some("call_a"), "{\"a\":"), Value::Null),
        chunk(call(0, None, "1}"), Value::Null),
        chunk(call(1, Some("call_b"), ""), Value::Null),
        chunk(call(1, None, "{}"), Value::Null),
        chunk(json!({}), json!("tool_calls")),
    ]
    .concat();
    // No `[DONE]`: `finish` closes the message.
    let out = run_every_split(conv, &stream);
    let evs = well_formed(&out);
    let starts: Vec<&Value> = evs
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[1]["content_block"]["id"], "call_a");
    assert_eq!(starts[2]["content_block"]["name"], "tool1");
    assert_eq!(starts[2]["index"], 2);
}

#[test]
fn azure_filter_chunks_and_started() {
    let filter = r#"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}

"#;
    let mut c = conv();
    assert!(c.push(filter.as_bytes()).unwrap().is_empty());
    let first = OPENAI_TEXT_STREAM.split_inclusive("\n\n").next().unwrap();
    let out = c.push(first.as_bytes()).unwrap();
    assert_eq!(
        events(&out)[0].1["message"]["id"],
        "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    );
    assert!(!c.started(), "the role chunk carries no content");
    let rest: String = OPENAI_TEXT_STREAM.split_inclusive("\n\n").skip(1).collect();
    c.push(rest.as_bytes()).unwrap();
    assert!(c.started());
}

#[test]
fn an_error_chunk_becomes_an_error_event() {
    let stream = "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}\n\n";
    let out = run(conv().as_mut(), &[stream.as_bytes()]);
    let evs = events(&out);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].0.as_deref(), Some("error"));
    assert_eq!(
        evs[0].1["error"]["message"],
        "The server had an error while processing your request."
    );
    assert!(
        run(conv().as_mut(), &[]).is_empty(),
        "an empty upstream gives nothing"
    );
}

"""The official `anthropic` Python SDK against a real `tollgate serve` (conftest.py starts it).

`claude-stub` and `broken-claude` go to the stub's Anthropic side (passed through);
`gpt-4o-mini` to its OpenAI side, so the Messages API is translated to chat completions and
back. Each test asserts what the stub sent, or what it received.
"""

from __future__ import annotations

import json

import anthropic
import pytest

import stub_upstream as stub
from conftest import ANTHROPIC_WEATHER_TOOL, HELLO, UPSTREAM_KEY


def ant(gw, key: str | None = None) -> anthropic.Anthropic:
    # No SDK retries: each call reaches the gateway once, and errors surface at once.
    return anthropic.Anthropic(base_url=gw.url, api_key=key or gw.key, max_retries=0, timeout=30)


# -- plain, streaming, tools ------------------------------------------------------------


def test_messages_create(gateway):
    r = ant(gateway).messages.create(model="claude-stub", max_tokens=64, messages=HELLO, system="Be brief.")
    assert [b.type for b in r.content] == ["text"]
    assert r.content[0].text == f"{stub.ANTHROPIC_TEXT} system=Be brief."
    assert r.stop_reason == "end_turn"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (21, 9)
    sent = gateway.stub.last("/v1/messages")
    assert sent["body"]["model"] == "claude-stub-upstream"
    assert sent["body"]["max_tokens"] == 64
    assert sent["headers"]["x-api-key"] == UPSTREAM_KEY


def test_messages_create_with_bearer_auth(gateway):
    client = anthropic.Anthropic(base_url=gateway.url, auth_token=gateway.key, max_retries=0, timeout=30)
    r = client.messages.create(model="claude-stub", max_tokens=64, messages=HELLO)
    assert r.content[0].text == stub.ANTHROPIC_TEXT


def test_messages_stream_text(gateway):
    with ant(gateway).messages.stream(model="claude-stub", max_tokens=64, messages=HELLO) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == stub.ANTHROPIC_TEXT
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (21, 9)


def test_messages_tool_use(gateway):
    r = ant(gateway).messages.create(
        model="claude-stub", max_tokens=64, messages=HELLO, tools=[ANTHROPIC_WEATHER_TOOL]
    )
    assert r.stop_reason == "tool_use"
    [tool_use] = [b for b in r.content if b.type == "tool_use"]
    assert (tool_use.name, tool_use.input) == ("get_weather", stub.TOOL_ARGS)


def test_messages_stream_tool_use(gateway):
    with ant(gateway).messages.stream(
        model="claude-stub", max_tokens=64, messages=HELLO, tools=[ANTHROPIC_WEATHER_TOOL]
    ) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == stub.ANTHROPIC_TEXT
    assert (final.content[1].name, final.content[1].input) == ("get_weather", stub.TOOL_ARGS)


def test_messages_to_openai_upstream(gateway):
    r = ant(gateway).messages.create(model="gpt-4o-mini", max_tokens=64, messages=HELLO, system="Be brief.")
    assert [b.type for b in r.content] == ["text"]
    assert r.content[0].text == stub.OPENAI_TEXT
    assert r.stop_reason == "end_turn"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (12, 5)
    sent = gateway.stub.last("/v1/chat/completions")["body"]
    assert sent["model"] == "stub-gpt"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}


def test_messages_stream_to_openai_upstream(gateway):
    with ant(gateway).messages.stream(model="gpt-4o-mini", max_tokens=64, messages=HELLO) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == stub.OPENAI_TEXT
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5


def test_messages_tool_use_from_openai_upstream(gateway):
    r = ant(gateway).messages.create(
        model="gpt-4o-mini", max_tokens=64, messages=HELLO, tools=[ANTHROPIC_WEATHER_TOOL]
    )
    assert r.stop_reason == "tool_use"
    [tool_use] = [b for b in r.content if b.type == "tool_use"]
    assert (tool_use.name, tool_use.input) == ("get_weather", stub.TOOL_ARGS)


def test_messages_tool_result_round_trip_to_openai_upstream(gateway):
    messages = [
        *HELLO,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": stub.TOOL_ARGS}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 degrees"}]},
    ]
    r = ant(gateway).messages.create(
        model="gpt-4o-mini", max_tokens=64, messages=messages, tools=[ANTHROPIC_WEATHER_TOOL]
    )
    assert r.stop_reason == "tool_use"
    sent = gateway.stub.last("/v1/chat/completions")["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    [call] = sent[1]["tool_calls"]
    assert (call["id"], call["function"]["name"]) == ("toolu_1", "get_weather")
    assert json.loads(call["function"]["arguments"]) == stub.TOOL_ARGS
    assert (sent[2]["tool_call_id"], sent[2]["content"]) == ("toolu_1", "18 degrees")


# -- errors -----------------------------------------------------------------------------


def test_messages_bad_key_is_authentication_error(gateway):
    with pytest.raises(anthropic.AuthenticationError) as e:
        ant(gateway, "sk-tg-not-a-real-key").messages.create(model="claude-stub", max_tokens=8, messages=HELLO)
    assert e.value.status_code == 401
    assert e.value.body["type"] == "error"


def test_messages_unknown_model_is_not_found(gateway):
    with pytest.raises(anthropic.NotFoundError) as e:
        ant(gateway).messages.create(model="no-such-model", max_tokens=8, messages=HELLO)
    assert e.value.status_code == 404
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "not_found_error"


def test_messages_restricted_key_is_permission_denied(gateway):
    with pytest.raises(anthropic.PermissionDeniedError) as e:
        ant(gateway, gateway.restricted_key).messages.create(model="claude-stub", max_tokens=8, messages=HELLO)
    assert e.value.status_code == 403


def test_messages_upstream_failure(gateway):
    with pytest.raises(anthropic.APIStatusError) as e:
        ant(gateway).messages.create(model="broken-claude", max_tokens=8, messages=HELLO)
    assert e.value.status_code in (502, stub.ERROR_STATUS)
    assert e.value.body["type"] == "error"

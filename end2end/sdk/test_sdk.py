"""The official `openai` Python SDK against a real `tollgate serve` (conftest.py starts it).

Routes: `gpt-4o-mini`, `text-embedding-3-small`, `broken-model` and `openai/*` go to the stub's
OpenAI side; `claude-stub`, `broken-claude` and `anthropic/*` to its Anthropic side, so a chat
client there is translated. Each test asserts what the stub sent (text, token counts, tool
names and arguments), so a gateway that drops, mistranslates or invents a field fails here.
The Anthropic SDK's tests are in test_sdk_anthropic.py.
"""

from __future__ import annotations

import json
import time

import openai
import pytest
from pydantic import BaseModel

import stub_upstream as stub
from conftest import CONFIGURED_MODELS, HELLO, UPSTREAM_KEY, WEATHER_TOOL


def oai(gw, key: str | None = None) -> openai.OpenAI:
    # No SDK retries: each call reaches the gateway once, and errors surface at once.
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key or gw.key, max_retries=0, timeout=30)


# -- OpenAI SDK, OpenAI upstream ---------------------------------------------------------


def test_chat_returns_the_upstream_answer_and_usage(gateway):
    r = oai(gateway).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert r.choices[0].message.content == stub.OPENAI_TEXT
    assert r.choices[0].finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (12, 5, 17)
    sent = gateway.stub.last("/v1/chat/completions")
    assert sent["body"]["model"] == "stub-gpt"
    assert sent["body"]["messages"] == HELLO
    # The upstream key comes from `env:STUB_KEY`; the caller's virtual key never leaves.
    assert sent["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"


def test_chat_stream_assembles_text_without_usage_unless_asked(gateway):
    chunks = list(oai(gateway).chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == stub.OPENAI_TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    # The client did not set `stream_options.include_usage`: OpenAI sends no usage chunk then.
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_chat_stream_with_include_usage_ends_with_usage(gateway):
    chunks = list(
        oai(gateway).chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == stub.OPENAI_TEXT
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (12, 5, 17)


def test_chat_tool_call_has_name_and_arguments(gateway):
    r = oai(gateway).chat.completions.create(model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == stub.TOOL_ARGS
    assert gateway.stub.last("/v1/chat/completions")["body"]["tools"] == [WEATHER_TOOL]


class GetWeather(BaseModel):
    city: str
    unit: str


def test_chat_parse_gives_typed_tool_arguments(gateway):
    r = oai(gateway).chat.completions.parse(
        model="gpt-4o-mini", messages=HELLO, tools=[openai.pydantic_function_tool(GetWeather)]
    )
    [call] = r.choices[0].message.tool_calls
    assert call.function.name == "GetWeather"
    assert call.function.parsed_arguments == GetWeather(**stub.TOOL_ARGS)


def test_chat_stream_tool_call_deltas_assemble(gateway):
    with oai(gateway).chat.completions.stream(model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL]) as s:
        final = s.get_final_completion()
    [call] = final.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == stub.TOOL_ARGS
    assert final.choices[0].finish_reason == "tool_calls"


def test_legacy_completions(gateway):
    r = oai(gateway).completions.create(model="gpt-4o-mini", prompt="Say hello.")
    assert r.choices[0].text == stub.OPENAI_TEXT
    assert r.usage.total_tokens == 17
    assert gateway.stub.last("/v1/completions")["body"]["prompt"] == "Say hello."


@pytest.mark.parametrize("encoding_format", [None, "float"], ids=["sdk-default-base64", "float"])
def test_embeddings(gateway, encoding_format):
    extra = {"encoding_format": encoding_format} if encoding_format else {}
    r = oai(gateway).embeddings.create(model="text-embedding-3-small", input=["one", "two"], **extra)
    assert [d.embedding for d in r.data] == [stub.embedding_for(0), stub.embedding_for(1)]
    assert [d.index for d in r.data] == [0, 1]
    assert r.usage.prompt_tokens == 2 * stub.EMBED_PROMPT_TOKENS
    assert gateway.stub.last("/v1/embeddings")["body"]["model"] == "stub-embed"


def test_models_list_shows_what_the_key_may_call(gateway):
    assert {m.id for m in oai(gateway).models.list()} == CONFIGURED_MODELS
    assert [m.id for m in oai(gateway, gateway.restricted_key).models.list()] == ["gpt-4o-mini"]


# -- OpenAI SDK errors -------------------------------------------------------------------


def test_bad_key_is_authentication_error(gateway):
    with pytest.raises(openai.AuthenticationError) as e:
        oai(gateway, "sk-tg-not-a-real-key").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert e.value.status_code == 401
    assert e.value.body["message"]


def test_restricted_key_is_permission_denied(gateway):
    client = oai(gateway, gateway.restricted_key)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
    calls = gateway.stub.calls["/v1/messages"]
    with pytest.raises(openai.PermissionDeniedError) as e:
        client.chat.completions.create(model="claude-stub", messages=HELLO)
    assert e.value.status_code == 403
    assert gateway.stub.calls["/v1/messages"] == calls  # refused before any upstream call


def test_unknown_model_is_not_found(gateway):
    with pytest.raises(openai.NotFoundError) as e:
        oai(gateway).chat.completions.create(model="no-such-model", messages=HELLO)
    assert e.value.status_code == 404
    assert "no-such-model" in e.value.message


# Three consecutive failures cool a deployment down for 30 s (`CooldownPolicy`): the failing
# routes are called at most twice each in a session, so these see the upstream's failure.
def test_upstream_failure_is_an_api_status_error(gateway):
    with pytest.raises(openai.APIStatusError) as e:
        oai(gateway).chat.completions.create(model="broken-model", messages=HELLO)
    assert e.value.status_code in (502, stub.ERROR_STATUS)
    assert isinstance(e.value.body, dict) and e.value.body.get("message")
    assert gateway.stub.last("/v1/chat/completions")["body"]["model"] == "stub-error"


def test_upstream_failure_before_a_stream_is_an_http_error(gateway):
    with pytest.raises(openai.APIStatusError) as e:
        list(oai(gateway).chat.completions.create(model="broken-model", messages=HELLO, stream=True))
    assert e.value.status_code in (502, stub.ERROR_STATUS)


def test_blocked_key_is_refused_within_seconds(gateway):
    client = oai(gateway, gateway.doomed_key)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
    gateway.cli("keys", "block", gateway.doomed_key_id)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        except openai.AuthenticationError:
            return
        assert time.monotonic() < deadline, "a blocked key still works after 10 s"
        time.sleep(0.25)


# -- OpenAI SDK, Anthropic upstream (translation) ----------------------------------------


def test_chat_to_anthropic_text_and_usage(gateway):
    r = oai(gateway).chat.completions.create(model="claude-stub", messages=HELLO)
    assert r.choices[0].message.content == stub.ANTHROPIC_TEXT
    assert r.choices[0].finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (21, 9, 30)
    sent = gateway.stub.last("/v1/messages")
    assert sent["body"]["model"] == "claude-stub-upstream"
    assert sent["body"]["messages"][0]["role"] == "user"
    assert isinstance(sent["body"]["max_tokens"], int)  # Anthropic requires it; the client sent none
    assert sent["headers"]["x-api-key"] == UPSTREAM_KEY
    assert sent["headers"].get("anthropic-version")


def test_chat_to_anthropic_moves_the_system_prompt(gateway):
    messages = [{"role": "system", "content": "You are terse."}, *HELLO]
    r = oai(gateway).chat.completions.create(model="claude-stub", messages=messages)
    assert r.choices[0].message.content == f"{stub.ANTHROPIC_TEXT} system=You are terse."
    sent = gateway.stub.last("/v1/messages")["body"]
    assert all(m["role"] != "system" for m in sent["messages"])


def test_chat_to_anthropic_tool_call(gateway):
    r = oai(gateway).chat.completions.create(model="claude-stub", messages=HELLO, tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == stub.ANTHROPIC_TEXT
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.id == "toolu_stub_1"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == stub.TOOL_ARGS
    [tool] = gateway.stub.last("/v1/messages")["body"]["tools"]
    assert tool["name"] == "get_weather"
    assert tool["input_schema"] == WEATHER_TOOL["function"]["parameters"]


def test_chat_to_anthropic_stream_text_and_usage(gateway):
    chunks = list(
        oai(gateway).chat.completions.create(
            model="claude-stub", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == stub.ANTHROPIC_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage = [c.usage for c in chunks if c.usage]
    assert usage and (usage[-1].prompt_tokens, usage[-1].completion_tokens, usage[-1].total_tokens) == (21, 9, 30)


def test_chat_to_anthropic_stream_without_include_usage_has_no_usage(gateway):
    chunks = list(oai(gateway).chat.completions.create(model="claude-stub", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == stub.ANTHROPIC_TEXT
    assert all(c.usage is None for c in chunks)


def test_chat_to_anthropic_stream_tool_call(gateway):
    with oai(gateway).chat.completions.stream(model="claude-stub", messages=HELLO, tools=[WEATHER_TOOL]) as s:
        final = s.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == stub.ANTHROPIC_TEXT
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == stub.TOOL_ARGS


def test_chat_to_anthropic_tool_result_round_trip(gateway):
    messages = [
        *HELLO,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps(stub.TOOL_ARGS)},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees"},
    ]
    r = oai(gateway).chat.completions.create(model="claude-stub", messages=messages, tools=[WEATHER_TOOL])
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    sent = gateway.stub.last("/v1/messages")["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    [tool_use] = [b for b in sent[1]["content"] if b["type"] == "tool_use"]
    assert (tool_use["id"], tool_use["name"], tool_use["input"]) == ("call_1", "get_weather", stub.TOOL_ARGS)
    [result] = [b for b in sent[2]["content"] if b["type"] == "tool_result"]
    assert result["tool_use_id"] == "call_1"
    assert result["content"] in ("18 degrees", [{"type": "text", "text": "18 degrees"}])


def test_wildcard_route_forwards_the_suffix(gateway):
    r = oai(gateway).chat.completions.create(model="anthropic/claude-wild-1", messages=HELLO)
    assert r.choices[0].message.content == stub.ANTHROPIC_TEXT
    assert gateway.stub.last("/v1/messages")["body"]["model"] == "claude-wild-1"


def test_chat_to_anthropic_upstream_failure_is_openai_shaped(gateway):
    with pytest.raises(openai.APIStatusError) as e:
        oai(gateway).chat.completions.create(model="broken-claude", messages=HELLO)
    assert e.value.status_code in (502, stub.ERROR_STATUS)
    assert isinstance(e.value.body, dict) and e.value.body.get("message")

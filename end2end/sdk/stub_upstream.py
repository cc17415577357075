"""A stub LLM provider speaking OpenAI's and Anthropic's wire formats, for the SDK tests.

Standard library only. One server answers both dialects on one port:

    POST /v1/chat/completions   OpenAI chat (JSON, or SSE when `stream` is true)
    POST /v1/completions        OpenAI legacy completions (JSON)
    POST /v1/embeddings         OpenAI embeddings (floats, or base64 when asked)
    POST /v1/messages           Anthropic messages (JSON, or SSE when `stream` is true)

What it answers follows from the request, so the tests can assert exact content:
- text answers are fixed strings (`OPENAI_TEXT`, `ANTHROPIC_TEXT`) followed by what the stub
  saw (`system=...` on Anthropic), so a translation that drops a field shows in the answer;
- a request with `tools` is answered with a call of the first tool and `TOOL_ARGS`;
- usage numbers are fixed constants; an OpenAI stream ends with a usage chunk only when
  `stream_options.include_usage` is true, as OpenAI does;
- a model named `stub-error` is answered with `ERROR_STATUS` and an error body in the dialect's
  shape; `stub-error-429` (any status) with that status instead.

Every request is recorded (`Stub.requests`) and counted per path (`Stub.calls`).
Run alone with `python3 stub_upstream.py [PORT]` to poke at it by hand.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAI_TEXT = "Hello from the OpenAI stub."
OPENAI_PIECES = ["Hello", " from", " the", " OpenAI", " stub."]
OPENAI_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}

ANTHROPIC_TEXT = "Hello from the Anthropic stub."
ANTHROPIC_PIECES = ["Hello", " from the", " Anthropic", " stub."]
ANTHROPIC_INPUT_TOKENS = 21
ANTHROPIC_OUTPUT_TOKENS = 9

TOOL_ARGS = {"city": "Paris", "unit": "celsius"}
# How the arguments are split across streamed deltas: the client must join them.
TOOL_ARGS_PIECES = ['{"city": ', '"Paris", ', '"unit": "celsius"}']

EMBEDDING_DIM = 4
EMBED_PROMPT_TOKENS = 3

ERROR_STATUS = 500
ERROR_MESSAGE = "the stub upstream failed on purpose"


def embedding_for(index: int) -> list[float]:
    """A vector that differs per input and survives float32 exactly."""
    return [index + 0.5, -0.25, 0.125, float(index)]


class Stub:
    """The running stub: its port, and what it received."""

    def __init__(self, port: int = 0) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.requests: list[dict] = []
        handler = type("BoundHandler", (Handler,), {"stub": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Stub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, path: str, headers: dict[str, str], body: dict) -> None:
        with self.lock:
            self.calls[path] += 1
            self.requests.append({"path": path, "headers": headers, "body": body})

    def last(self, path: str) -> dict:
        """The most recent request to `path` (headers lower-cased)."""
        with self.lock:
            for r in reversed(self.requests):
                if r["path"] == path:
                    return r
        raise AssertionError(f"the stub received no request to {path}")


class Handler(BaseHTTPRequestHandler):
    stub: Stub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: pytest shows the assertions, not an access log

    # -- plumbing ---------------------------------------------------------

    def send_json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self) -> None:
        # No content-length: the stream ends when the connection closes.
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def send_event(self, data: dict | str, event: str | None = None) -> None:
        payload = data if isinstance(data, str) else json.dumps(data)
        frame = (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"
        self.wfile.write(frame.encode())
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802
        self.send_json(404, {"error": {"message": f"no GET {self.path} here"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self.send_json(400, {"error": {"message": "body is not JSON"}})
            return
        path = self.path.split("?", 1)[0]
        self.stub.record(path, {k.lower(): v for k, v in self.headers.items()}, body)
        model = str(body.get("model", ""))
        routes = {
            "/v1/chat/completions": self.openai_chat,
            "/v1/completions": self.openai_completions,
            "/v1/embeddings": self.openai_embeddings,
            "/v1/messages": self.anthropic_messages,
        }
        if path not in routes:
            self.send_json(404, {"error": {"message": f"no POST {path} here"}})
        elif model.startswith("stub-error"):
            status = model.removeprefix("stub-error").lstrip("-")
            self.fail(path, int(status) if status.isdigit() else ERROR_STATUS)
        else:
            routes[path](body, model)

    def fail(self, path: str, status: int) -> None:
        if path == "/v1/messages":
            err = {"type": "error", "error": {"type": "api_error", "message": ERROR_MESSAGE}}
        else:
            err = {"error": {"message": ERROR_MESSAGE, "type": "server_error", "param": None, "code": None}}
        self.send_json(status, err)

    # -- OpenAI -----------------------------------------------------------

    def openai_chat(self, body: dict, model: str) -> None:
        tools = body.get("tools") or []
        tool_name = tools[0]["function"]["name"] if tools else None
        if body.get("stream"):
            self.openai_chat_stream(body, model, tool_name)
            return
        if tool_name:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_stub_1",
                        "type": "function",
                        "function": {"name": tool_name, "arguments": json.dumps(TOOL_ARGS)},
                    }
                ],
            }
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": OPENAI_TEXT}
            finish = "stop"
        self.send_json(
            200,
            {
                "id": "chatcmpl-stub-1",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": OPENAI_USAGE,
            },
        )

    def openai_chat_stream(self, body: dict, model: str, tool_name: str | None) -> None:
        base = {"id": "chatcmpl-stub-2", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model}

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        self.start_sse()
        if tool_name:
            self.send_event(
                chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_stub_2",
                                "type": "function",
                                "function": {"name": tool_name, "arguments": ""},
                            }
                        ],
                    }
                )
            )
            for piece in TOOL_ARGS_PIECES:
                self.send_event(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            self.send_event(chunk({}, "tool_calls"))
        else:
            self.send_event(chunk({"role": "assistant", "content": ""}))
            for piece in OPENAI_PIECES:
                self.send_event(chunk({"content": piece}))
            self.send_event(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage") is True:
            self.send_event({**base, "choices": [], "usage": OPENAI_USAGE})
        self.send_event("[DONE]")

    def openai_completions(self, body: dict, model: str) -> None:
        self.send_json(
            200,
            {
                "id": "cmpl-stub-1",
                "object": "text_completion",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{"index": 0, "text": OPENAI_TEXT, "logprobs": None, "finish_reason": "stop"}],
                "usage": OPENAI_USAGE,
            },
        )

    def openai_embeddings(self, body: dict, model: str) -> None:
        inputs = body.get("input")
        inputs = inputs if isinstance(inputs, list) else [inputs]
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, _ in enumerate(inputs):
            vector = embedding_for(i)
            encoded = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
            )
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = EMBED_PROMPT_TOKENS * len(inputs)
        self.send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # -- Anthropic --------------------------------------------------------

    def anthropic_messages(self, body: dict, model: str) -> None:
        system = body.get("system")
        if isinstance(system, list):  # blocks: [{"type": "text", "text": ...}]
            system = "".join(b.get("text", "") for b in system)
        suffix = f" system={system}" if system else ""
        tools = body.get("tools") or []
        tool_name = tools[0]["name"] if tools else None
        if body.get("stream"):
            self.anthropic_stream(model, suffix, tool_name)
            return
        content: list[dict] = [{"type": "text", "text": ANTHROPIC_TEXT + suffix}]
        if tool_name:
            content.append({"type": "tool_use", "id": "toolu_stub_1", "name": tool_name, "input": TOOL_ARGS})
        self.send_json(
            200,
            {
                "id": "msg_stub_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": "tool_use" if tool_name else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": ANTHROPIC_INPUT_TOKENS, "output_tokens": ANTHROPIC_OUTPUT_TOKENS},
            },
        )

    def anthropic_stream(self, model: str, suffix: str, tool_name: str | None) -> None:
        self.start_sse()
        self.send_event(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_stub_2",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": ANTHROPIC_INPUT_TOKENS, "output_tokens": 1},
                },
            },
            "message_start",
        )
        self.send_event({"type": "ping"}, "ping")
        self.send_event(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        )
        for piece in ANTHROPIC_PIECES + ([suffix] if suffix else []):
            self.send_event(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                "content_block_delta",
            )
        self.send_event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        if tool_name:
            self.send_event(
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "tool_use", "id": "toolu_stub_2", "name": tool_name, "input": {}},
                },
                "content_block_start",
            )
            for piece in TOOL_ARGS_PIECES:
                self.send_event(
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                    "content_block_delta",
                )
            self.send_event({"type": "content_block_stop", "index": 1}, "content_block_stop")
        self.send_event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use" if tool_name else "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": ANTHROPIC_OUTPUT_TOKENS},
            },
            "message_delta",
        )
        self.send_event({"type": "message_stop"}, "message_stop")


if __name__ == "__main__":
    stub = Stub(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"stub upstream on http://127.0.0.1:{stub.port}", flush=True)
    stub.server.serve_forever()

"""The session fixture: a stub upstream, then a real `tollgate serve` routing to it.

Environment:
    TG_BIN            the server binary (default $CARGO_TARGET_DIR/debug/tollgate)
    CARGO_TARGET_DIR  default ~/.cache/tollgate/target, as in scripts/lib.sh
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from stub_upstream import Stub  # noqa: E402

READY_TIMEOUT_S = 90
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
# The upstream credential, given to the server only as `env:STUB_KEY` in the config.
UPSTREAM_KEY = "stub-upstream-secret"

TOML = """\
[[routes]]
model_name = "gpt-4o-mini"
[[routes.deployments]]
provider = "openai"
upstream_model = "stub-gpt"
api_base = "http://127.0.0.1:{port}/v1"
api_key = "env:STUB_KEY"

[[routes]]
model_name = "text-embedding-3-small"
[[routes.deployments]]
provider = "openai"
upstream_model = "stub-embed"
api_base = "http://127.0.0.1:{port}/v1"
api_key = "env:STUB_KEY"

[[routes]]
model_name = "broken-model"
[[routes.deployments]]
provider = "openai"
upstream_model = "stub-error"
api_base = "http://127.0.0.1:{port}/v1"
api_key = "env:STUB_KEY"

[[routes]]
model_name = "claude-stub"
[[routes.deployments]]
provider = "anthropic"
upstream_model = "claude-stub-upstream"
api_base = "http://127.0.0.1:{port}"
api_key = "env:STUB_KEY"

[[routes]]
model_name = "broken-claude"
[[routes.deployments]]
provider = "anthropic"
upstream_model = "stub-error-claude"
api_base = "http://127.0.0.1:{port}"
api_key = "env:STUB_KEY"

[[routes]]
model_name = "openai/*"
[[routes.deployments]]
provider = "openai"
api_base = "http://127.0.0.1:{port}/v1"
api_key = "env:STUB_KEY"

[[routes]]
model_name = "anthropic/*"
[[routes.deployments]]
provider = "anthropic"
api_base = "http://127.0.0.1:{port}"
api_key = "env:STUB_KEY"
"""

HELLO = [{"role": "user", "content": "Say hello."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city", "unit"],
        },
    },
}
ANTHROPIC_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": WEATHER_TOOL["function"]["parameters"],
}

# The exact model names, as `GET /v1/models` lists them for a key with no `--models`
# (wildcards are patterns, not models).
CONFIGURED_MODELS = {"gpt-4o-mini", "text-embedding-3-small", "broken-model", "claude-stub", "broken-claude"}


@dataclass
class Gateway:
    url: str
    key: str  # may call every model
    restricted_key: str  # may call only gpt-4o-mini
    doomed_key: str  # valid at start; a test blocks it
    doomed_key_id: str
    stub: Stub
    cli: Cli


@dataclass
class Cli:
    """`tollgate <command> --data-dir D`, run in the work directory, failing with its output."""

    bin: str
    workdir: str
    data_dir: str
    env: dict

    def __call__(self, *args: str) -> str:
        r = subprocess.run(
            [self.bin, *args, "--data-dir", self.data_dir],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            pytest.fail(f"`tollgate {' '.join(args)}` exited with {r.returncode}:\n{r.stdout}{r.stderr}")
        return r.stdout

    def create_key(self, alias: str, *extra: str) -> tuple[str, str]:
        """Returns (id, secret) from the `id:` and `key:` lines."""
        out = self("keys", "create", "--alias", alias, *extra)
        key_id = re.search(r"^id:\s+(\S+)", out, re.M)
        key = re.search(r"^key:\s+(sk-tg-\S+)", out, re.M)
        assert key_id and key, f"unexpected `keys create` output:\n{out}"
        return key_id.group(1), key.group(1)


def server_bin() -> str:
    if os.environ.get("TG_BIN"):
        return os.environ["TG_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/tollgate/target")
    return os.path.join(target, "debug", "tollgate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict:
    """Ours, minus every inherited `TOLLGATE_*` (unknown ones are errors, and a developer's
    shell must not point the test at their database), plus the upstream key's variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env["STUB_KEY"] = UPSTREAM_KEY
    env["NO_COLOR"] = "1"
    env.setdefault("RUST_LOG", "info")
    return env


@pytest.fixture(scope="session")
def gateway():
    bin_ = server_bin()
    if not os.access(bin_, os.X_OK):
        pytest.fail(f"no tollgate binary at {bin_}: build it (cargo build -p tollgate) or set TG_BIN")
    stub = Stub().start()
    workdir = tempfile.mkdtemp(prefix="tollgate-sdk-")
    data_dir = os.path.join(workdir, "data")
    env = server_env()
    # cwd is the temp dir, so `tollgate.toml` there is the config and nothing touches the clone.
    Path(workdir, "tollgate.toml").write_text(TOML.format(port=stub.port))
    # Beside the browser tests' logs (gitignored), so a failed run can be read afterwards.
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = str(RESULTS_DIR / "sdk-serve.log")
    proc = None
    try:
        cli = Cli(bin_, workdir, data_dir, env)
        cli("migrate")
        _, key = cli.create_key("sdk-all")
        _, restricted = cli.create_key("sdk-restricted", "--models", "gpt-4o-mini")
        doomed_id, doomed = cli.create_key("sdk-doomed")

        port = free_port()
        with open(log_path, "wb") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [bin_, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log_path)
        yield Gateway(url, key, restricted, doomed, doomed_id, stub, cli)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stub.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def wait_ready(url: str, proc: subprocess.Popen, log_path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"tollgate exited with {proc.returncode} before it was ready:\n{tail(log_path)}")
        if time.monotonic() > deadline:
            pytest.fail(f"tollgate not ready after {READY_TIMEOUT_S} s:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{url}/health/readiness", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet, or 503 while the database comes up
        time.sleep(0.2)


def tail(path: str, n: int = 4000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"

#!/usr/bin/env python3
"""How soon a disabled user's key stops (issue 5: "their keys stop within 1 s").

Starts an OpenAI-shaped stub upstream in this process, makes (through the admin API of a
running `tollgate serve`) a team, a user in it and a key of theirs, then ROUNDS times: enables
the user and waits until the key answers 200, disables the user and sends a request with the
key every 5 ms until it is refused (401). The time is from sending the PATCH to the first 401.
Prints a markdown table. Standard library only.
"""

import argparse
import http.client
import http.server
import json
import sys
import threading
import time

TARGET_MS = 1000.0


class Stub(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "ping",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def percentile(samples, p):
    s = sorted(samples)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start-stub", type=int, help="only run the stub on this port")
    ap.add_argument("--port", type=int)
    ap.add_argument("--master-key")
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    if args.start_stub:
        http.server.ThreadingHTTPServer(("127.0.0.1", args.start_stub), Stub).serve_forever()
        return

    admin = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    gw = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)

    def api(method, path, body=None):
        admin.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Authorization": f"Bearer {args.master_key}",
                               "content-type": "application/json"})
        r = admin.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data) if data else None

    team = api("POST", "/api/v1/teams", {"name": "bench"})["data"]["id"]
    user = api("POST", "/api/v1/users", {"email": "bench@example.com"})["data"]["id"]
    api("POST", f"/api/v1/teams/{team}/members", {"email": "bench@example.com", "role": "member"})
    secret = api("POST", "/api/v1/keys", {"team_id": team, "user_id": user})["secret"]
    payload = json.dumps({"model": "ping", "messages": [{"role": "user", "content": "hi"}]})

    def ask():
        gw.request("POST", "/v1/chat/completions", body=payload,
                   headers={"Authorization": f"Bearer {secret}", "content-type": "application/json"})
        r = gw.getresponse()
        r.read()
        return r.status

    def until(status, limit_s=10):
        start = time.perf_counter()
        while ask() != status:
            if time.perf_counter() - start > limit_s:
                sys.exit(f"no {status} within {limit_s} s")
            time.sleep(0.005)

    samples = []
    for _ in range(args.rounds):
        api("PATCH", f"/api/v1/users/{user}", {"disabled": False})
        until(200)
        t0 = time.perf_counter()
        api("PATCH", f"/api/v1/users/{user}", {"disabled": True})
        patched = time.perf_counter()
        until(401)
        samples.append(((time.perf_counter() - t0) * 1000, (patched - t0) * 1000))
    stop = [s[0] for s in samples]
    patch = [s[1] for s in samples]
    print(f"| {args.rounds} rounds | p50 ms | p95 ms | max ms | target |")
    print("|---|---|---|---|---|")
    print(f"| PATCH sent to the first 401 with the key | {percentile(stop, 50):.1f} | {percentile(stop, 95):.1f} | {max(stop):.1f} | {'met' if max(stop) < TARGET_MS else 'MISSED'} (< {TARGET_MS:.0f} ms, every round) |")
    print(f"| of which the PATCH itself | {percentile(patch, 50):.1f} | {percentile(patch, 95):.1f} | {max(patch):.1f} | |")


if __name__ == "__main__":
    main()

"""A tiny OpenAI-compatible server for fault injection (stdlib only).

`server.mode` picks the behaviour of the next requests: ok, slow, hang, 429, 500, 400, nonjson,
empty_choices, no_content, huge, nul, redirect. `server.requests` counts requests served. `server.reply`
(ok mode), when set, is a callable body -> answer text: two model configs can answer differently.
`server.tokens`, when set, is a callable answer text -> completion_tokens reported in `usage`."""

import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.delay = 0.0
        self.requests = 0
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.reply = None  # body -> content, for the ok mode (default: "Answer to: <prompt>")
        self.tokens = None  # content -> completion_tokens in usage (default: 5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def start(self) -> "FakeOpenAI":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


def completion(content: str, model: str = "fake-model", completion_tokens: int = 5) -> dict:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": completion_tokens, "total_tokens": 7 + completion_tokens},
    }


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_POST(self):
        server: FakeOpenAI = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with server.lock:
            server.requests += 1
            headers = self.headers
            server.bodies.append({"body": body, "auth": headers.get("Authorization"), "host": headers.get("Host")})
        mode = server.mode
        if server.delay:
            time.sleep(server.delay)
        if mode == "hang":
            server.release.wait(120)
            return
        if mode == "429":
            return self._send(429, b'{"error": "slow down"}', headers={"Retry-After": "1"})
        if mode == "500":
            return self._send(500, b'{"error": "boom"}')
        if mode == "400":
            return self._send(400, b'{"error": {"message": "unknown model"}}')
        if mode == "nonjson":
            return self._send(200, b"<html>definitely not json</html>", content_type="text/html")
        if mode == "empty_choices":
            return self._send(200, json.dumps({"choices": []}).encode())
        if mode == "no_content":
            return self._send(200, json.dumps({"choices": [{"message": {"role": "assistant"}}]}).encode())
        if mode == "huge":
            return self._send(200, json.dumps(completion("x" * (10 * 1024 * 1024))).encode())
        if mode == "nul":
            return self._send(200, json.dumps(completion("before\u0000after \ud800 end")).encode())
        if mode == "redirect":
            return self._send(302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        prompt = body.get("messages", [{}])[-1].get("content", "")
        if server.reply is not None:
            content = server.reply(body)
            tokens = server.tokens(content) if server.tokens is not None else 5
            return self._send(200, json.dumps(completion(content, completion_tokens=tokens)).encode())
        return self._send(200, json.dumps(completion(f"Answer to: {prompt}")).encode())


def allow_inference_server(settings, monkeypatch, host_port: str) -> None:
    """Let model configs reach this loopback server's exact host:port (the SSRF guard refuses loopback
    otherwise), here and in workers started afterwards (they read the environment)."""
    settings.INFERENCE_ALLOWED_HOSTS = [*settings.INFERENCE_ALLOWED_HOSTS, host_port]
    inherited = [h for h in os.environ.get("INFERENCE_ALLOWED_HOSTS", "").split(",") if h]
    monkeypatch.setenv("INFERENCE_ALLOWED_HOSTS", ",".join([*inherited, host_port]))

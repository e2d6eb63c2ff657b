"""A local OpenAI-compatible chat completions server over real HTTP on loopback.

It reads the cells it is sent as a careful model would ("SMITH John" -> John Smith, "15th March
1990" -> 1990-03-15), or answers what a test scripts: an HTTP status, empty content, a delay.
It keeps every request body and the most requests it held at once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dateutil import parser as dateparser


def read_cells(cells: dict[str, str]) -> dict[str, str | None]:
    """What a model would make of these cells: a word in capitals is the surname."""
    words = " ".join(cells.get(f, "") for f in ("first_name", "last_name", "full_name")).split()
    upper = [w for w in words if w.isupper() and len(w) > 1]
    rest = [w for w in words if w not in upper]
    if upper and rest:
        first, last = " ".join(rest), " ".join(upper)
    elif len(words) >= 2:
        first, last = " ".join(words[:-1]), words[-1]
    else:
        first, last = None, (words[0] if words else None)
    dob = None
    if cells.get("dob"):
        try:
            dob = dateparser.parse(cells["dob"], dayfirst=True).date().isoformat()
        except (ValueError, OverflowError):
            dob = None
    return {"first_name": first, "last_name": last, "dob": dob}


@dataclass
class Step:
    """One scripted answer: an HTTP status, or content (None: read the cells), after a delay;
    with ``drip``, its body goes out one byte every ``drip`` seconds."""

    status: int = 200
    content: str | None = None
    delay: float = 0.0
    drip: float = 0.0
    retry_after: str = ""  # a Retry-After header to send, if any


@dataclass
class FakeModel:
    """The server's state, shared with the test."""

    script: deque = field(default_factory=deque)  # Steps used first, one per request
    answers: dict = field(default_factory=dict)  # cells JSON -> answer dict, else read_cells
    delay: float = 0.0  # for every request not scripted
    requests: list = field(default_factory=list)  # the JSON bodies received
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def sent_cells(self) -> list[dict[str, str]]:
        """The cells each request carried (its user message)."""
        return [json.loads(body["messages"][-1]["content"]) for body in self.requests]

    def respond(self, body: dict) -> Step:
        """The step answering this request, its content filled in."""
        with self.lock:
            self.requests.append(body)
            step = self.script.popleft() if self.script else Step(delay=self.delay)
        if step.status != 200 or step.content is not None:
            return step
        cells = json.loads(body["messages"][-1]["content"])
        answer = self.answers.get(json.dumps(cells, sort_keys=True)) or read_cells(cells)
        return Step(content=json.dumps(answer), delay=step.delay, drip=step.drip)


def _handler(model: FakeModel):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes: without this, each answer waits for
            # the client's delayed ACK (some 40 ms), which would be the fake's, not the code's.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with model.lock:
                model.in_flight += 1
                model.most_in_flight = max(model.most_in_flight, model.in_flight)
            try:
                if self.path != "/v1/chat/completions":
                    step = Step(status=404)
                else:
                    step = model.respond(body)
                status, content = step.status, step.content
                time.sleep(step.delay)
            finally:
                with model.lock:
                    model.in_flight -= 1
            if status == 200:
                reply = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                }
            else:
                reply = {"error": {"message": "scripted failure"}}
            data = json.dumps(reply).encode()
            if status != 200 and content is not None:
                data = content.encode()  # a scripted error page
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if step.retry_after:
                    self.send_header("Retry-After", step.retry_after)
                self.end_headers()
                if step.drip:
                    for i in range(len(data)):
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(step.drip)
                else:
                    self.wfile.write(data)
            except OSError:
                pass  # the client gave up (its timeout)

    return Handler


class FakeModelServer:
    """Serve a FakeModel on 127.0.0.1 in a thread; `with` starts and stops it."""

    def __init__(self, model: FakeModel | None = None):
        self.model = model or FakeModel()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.model))
        self.httpd.daemon_threads = True
        self.model.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeModel:
        self.thread.start()
        return self.model

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

"""A webhook receiver process that notes when each webhook arrived, for bench/webhooks.py.

It runs tests/receiver.py's receiver in its own process (so it shares no interpreter with
the bench or the worker) and answers every POST 204, noting its arrival (Unix time) and
whether it verified with the customer's secret. Two control requests, from the bench only:
`PUT /_secret` (body: the secret to verify with) and `GET /_times` (the arrivals since the
last call, as JSON, then forgotten).

    python bench/timed_receiver.py --port 0     # prints its URL once listening
"""

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.receiver import Receiver


class Arrivals:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.unverified = 0
        self.webhook = None

    def __call__(self, request):
        if request.method == "PUT" and request.path == "/_secret":
            from standardwebhooks import Webhook

            self.webhook = Webhook(request.body.decode())
            return 204, {}, b""
        if request.method == "GET" and request.path == "/_times":
            answer = json.dumps({"times": self.times, "unverified": self.unverified})
            self.times, self.unverified = [], 0
            return 200, {"Content-Type": "application/json"}, answer.encode()
        self.times.append(time.time())
        try:
            self.webhook.verify(request.body, request.headers, json_parse=False)
        except Exception:  # no secret yet, or a bad signature: both are failures here
            self.unverified += 1
        return 204, {}, b""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    receiver = Receiver(
        host=args.host, port=args.port, responder=Arrivals(), path="/", keep_requests=False
    ).start()
    print(receiver.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    receiver.stop()


if __name__ == "__main__":
    main()

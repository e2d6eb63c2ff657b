"""A webhook receiver process that notes when each webhook arrived, for bench/webhooks.py.

It runs tests/receiver.py's receiver in its own process (so it shares no interpreter with
the bench or the worker) and answers every POST 204, noting, per path, its arrival (Unix
time) and whether it verified with that path's secret. Two control requests, from the bench
only: `PUT /_secret/<path>` (body: the secret to verify that path's webhooks with) and
`GET /_times` (each path's arrivals since the last call, as JSON, then forgotten).

    python bench/timed_receiver.py --port 0     # prints its URL once listening
    python bench/timed_receiver.py --ports 4    # four ports, each with its own arrivals, on
                                                # one event loop: four URLs
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
        self.paths: dict[str, dict] = {}  # path -> {"times": [...], "unverified": n}
        self.webhooks: dict[str, object] = {}  # path -> its secret's verifier

    def __call__(self, request):
        if request.method == "PUT" and request.path.startswith("/_secret/"):
            from standardwebhooks import Webhook

            self.webhooks["/" + request.path.removeprefix("/_secret/")] = Webhook(
                request.body.decode()
            )
            return 204, {}, b""
        if request.method == "GET" and request.path == "/_times":
            answer, self.paths = json.dumps(self.paths), {}
            return 200, {"Content-Type": "application/json"}, answer.encode()
        arrived = self.paths.setdefault(request.path, {"times": [], "unverified": 0})
        arrived["times"].append(time.time())
        try:
            self.webhooks[request.path].verify(request.body, request.headers, json_parse=False)
        except Exception:  # no secret for the path, or a bad signature: both failures here
            arrived["unverified"] += 1
        return 204, {}, b""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ports", type=int, default=1, help="receivers on ports of their own")
    args = parser.parse_args()
    receivers = [
        Receiver(
            host=args.host,
            port=args.port if args.ports == 1 else 0,
            responder=Arrivals(),
            path="/",
            keep_requests=False,
        )
        for _ in range(args.ports)
    ]
    receivers[0].start()
    for receiver in receivers[1:]:  # one thread for all: the same capacity as one port
        receiver.start(beside=receivers[0])
    for receiver in receivers:
        print(receiver.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    for receiver in reversed(receivers):
        receiver.stop()


if __name__ == "__main__":
    main()

"""A DNS server on loopback (UDP) answering MX questions from a table, for the MX lookups."""

import socket
import threading

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset


class DnsStub:
    """`mx`: domain -> exchanges (an empty list: no MX records); others: NXDOMAIN.

    Domains in `silent` get no answer at all, so the asker times out.
    """

    def __init__(self, mx: dict[str, list[str]], silent: frozenset[str] = frozenset()):
        self.mx = mx
        self.silent = silent
        self.questions: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            name = query.question[0].name
            domain = name.to_text().rstrip(".").lower()
            self.questions.append(domain)
            if domain in self.silent:
                continue
            response = dns.message.make_response(query)
            if domain in self.mx:
                exchanges = self.mx[domain]
                if exchanges:
                    records = [
                        f"{10 * (i + 1)} {host.rstrip('.')}." for i, host in enumerate(exchanges)
                    ]
                    response.answer.append(dns.rrset.from_text(name, 300, "IN", "MX", *records))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._sock.sendto(response.to_wire(), peer)

"""A fault-injecting HTTP proxy for tests: between the tool and the real local Redmine.

It listens on 127.0.0.1 (random port), forwards every request to the upstream Redmine and,
by a seeded schedule, answers some of them with a fault instead:

    500, 502, 503   an error page, the request never reaches Redmine
    429             "Too Many Requests" with `Retry-After`, never reaches Redmine
    reset           the connection is reset (TCP RST) before anything is forwarded
    delay           no answer until after the client's timeout, then the connection closes
    drop            the request IS forwarded and applied by Redmine, then the connection is
                    reset: the write happened, the client never heard (an ambiguous write)

Faults come from `schedule` (request number -> kind, 1-based, e.g. {3: "503"}: fail the 3rd
request) and, for the other requests, from a `random.Random(seed)` drawn once per request
with probability `rate` (kinds taken in seeded shuffled rounds, so each occurs). With one
client thread the sequence of requests is deterministic,
so a seed reproduces a run exactly. `counts` says how many faults of each kind were
injected; `outage()` refuses every connection (as if Redmine were stopped) until `restore()`.

Hooks `on_request(n, method, path)` (before forwarding; it may return a fault kind to apply
to this request) and `on_response(n, method, path,
status)` (after Redmine answered, before the client hears it) let a test act at exact
moments, e.g. SIGKILL the client process when request N arrives.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FAULT_KINDS = ("500", "502", "503", "429", "reset", "delay", "drop")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "host", "content-length"}

RequestHook = Callable[[int, str, str], str | None]
ResponseHook = Callable[[int, str, str, int], None]


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a connection reset, not an orderly close."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class FaultProxy:
    """Threaded HTTP proxy with seeded, countable faults. Use as a context manager."""

    def __init__(self, upstream: str, *, seed: int = 0, rate: float = 0.0,
                 kinds: Iterable[str] = FAULT_KINDS, schedule: Mapping[int, str] | None = None,
                 delay: float = 3.0, retry_after: int = 1, upstream_timeout: float = 120.0,
                 on_request: RequestHook | None = None, on_response: ResponseHook | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.upstream_prefix = parts.path.rstrip("/")
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        self.rate = rate
        self.schedule: dict[int, str] = dict(schedule or {})
        self.delay = delay
        self.retry_after = retry_after
        self.upstream_timeout = upstream_timeout
        self.on_request = on_request
        self.on_response = on_response
        self.counts: Counter[str] = Counter()  # faults injected, per kind
        self.by_method: Counter[str] = Counter()  # requests seen, per method
        self.forwarded = 0
        self.requests = 0
        self.log: list[tuple[int, str, str, str]] = []  # (n, method, path, fault or "ok")
        self._rng = random.Random(seed)
        self._bag: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._down = False
        self._connections: set[socket.socket] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FaultProxy:
        self._listen()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _listen(self) -> None:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        server = _QuietServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="faultproxy", daemon=True)
        self._thread.start()

    def outage(self) -> None:
        """Stop listening: every new connection is refused, as if Redmine were down."""
        with self._lock:
            self._down = True
            live, self._connections = list(self._connections), set()
        self.stop()
        for sock in live:  # kept-alive connections must not go on working through the outage
            _reset(sock)

    def restore(self) -> None:
        """Listen again on the same port."""
        with self._lock:
            self._down = False
        deadline = time.monotonic() + 10
        while True:
            try:
                self._listen()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # --- decisions ---------------------------------------------------------------------------

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.by_method.clear()
            self.requests = self.forwarded = 0
            self.log.clear()

    @property
    def faults(self) -> int:
        return sum(self.counts.values())

    def _decide(self, method: str, path: str) -> tuple[int, str | None]:
        with self._lock:
            self.requests += 1
            n = self.requests
            self.by_method[method] += 1
            fault = self.schedule.get(n)
            if self._rng.random() < self.rate and fault is None and self.kinds:
                if not self._bag:  # every kind once per round, in a seeded order: balanced counts
                    self._bag = list(self.kinds)
                    self._rng.shuffle(self._bag)
                fault = self._bag.pop()
            if fault is not None:
                if fault not in FAULT_KINDS:
                    raise ValueError(f"unknown fault kind {fault!r}")
                self.counts[fault] += 1
            self.log.append((n, method, path, fault or "ok"))
        return n, fault


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client killed or timed out mid-answer is the point of this proxy, not an error


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, like Redmine behind Puma

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        self.close_connection = True
        _reset(self.connection)

    def _forward(self, method: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        owner = self.owner
        conn = http.client.HTTPConnection(owner.upstream_host, owner.upstream_port, timeout=owner.upstream_timeout)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Host"] = f"{owner.upstream_host}:{owner.upstream_port}"
            headers["Connection"] = "close"
            if body or method in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(method, owner.upstream_prefix + self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            return response.status, out, data
        finally:
            conn.close()

    def _handle(self) -> None:
        owner = self.owner
        method = self.command
        body = self._body()
        if owner._down:
            self._reset()
            return
        n, fault = owner._decide(method, self.path)
        if owner.on_request is not None:
            override = owner.on_request(n, method, self.path)
            if override:  # the hook's own fault for this request (not counted as injected)
                fault = override
        if fault == "reset":
            self._reset()
            return
        if fault == "delay":
            time.sleep(owner.delay)
            self._reset()
            return
        if fault in ("500", "502", "503"):
            page = f"<html><body><h1>{fault} injected by faultproxy</h1></body></html>".encode()
            self._reply(int(fault), page, {"Content-Type": "text/html"})
            return
        if fault == "429":
            self._reply(429, b"Too Many Requests", {"Retry-After": str(owner.retry_after),
                                                    "Content-Type": "text/plain"})
            return
        try:
            status, headers, data = self._forward(method, body)
        except OSError:
            self._reply(502, b"upstream unreachable", {"Content-Type": "text/plain"})
            return
        with owner._lock:
            owner.forwarded += 1
        if owner.on_response is not None:
            owner.on_response(n, method, self.path, status)
        if fault == "drop":
            self._reset()
            return
        self._reply(status, data, dict(headers))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815

"""The one module through which all Redmine traffic passes.

Why requests and not python-redmine underneath: python-redmine's `.all()` loads every page
before returning, impersonation is fixed per client object rather than per call, its
`requests={'timeout': ...}` option has been reported not to reach the session, and it has
no notion of an ambiguous write (the request reached Redmine but the answer was lost). A
thin gateway over one `requests.Session` per thread gives us exactly: real timeouts,
tenacity retries on transient faults only, `X-Redmine-Switch-User` per call, streaming
pagination, write recovery hooks, request counting, and an API key that never leaves the
request header.

The key goes to the configured origin only (scheme, host and port, as parsed by both
`urllib.parse` and urllib3, which must agree): every request URL is checked before it is sent,
redirects are never followed by `requests` (it would carry our header to any host), a
redirect within the origin is followed for a read, and one to another origin is refused with
`RedirectRefused`. Within the origin the key goes under the configured URL's path only
(`REDMINE_URL=http://host/redmine`: never to `http://host/other-app/`, nor through `..`
segments): another application on the same host is another party (issue 19).
Every error leaving the gateway is redacted (`helpdesk_core.redaction`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from helpdesk_core.catalog import Catalog
from helpdesk_core.config import ConnectionSettings
from helpdesk_core.errors import (
    AuthError,
    BasePathError,
    ForbiddenError,
    ImpersonationError,
    NotFoundError,
    RedirectRefused,
    RedmineError,
    ServerError,
    TLSVerificationError,
    UnavailableError,
    ValidationFailed,
    WriteRefused,
)
from helpdesk_core.redaction import Redactor

log = logging.getLogger("helpdesk.gateway")
T = TypeVar("T")
Json = dict[str, Any]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# A write that failed this way may still have been applied by Redmine.
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
PAGE_SIZE = 100
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}
# Nothing listens on the port: two quick tries cover a restart in progress; more only delay the answer.
REFUSED_ATTEMPTS = 2
REFUSED_WAIT = 0.5
Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL; None when unparsable or when the two URL parsers in
    play (urllib.parse in requests' adapter, urllib3 in its pool) disagree, e.g. `http://a\\@b/`."""
    try:
        split, parsed = urlsplit(url), parse_url(url)
        split_port, parsed_port = split.port, parsed.port
    except (ValueError, LocationParseError):
        return None
    scheme = (split.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or (parsed.scheme or "").lower() != scheme:
        return None
    host = (split.hostname or "").lower()
    if not host or (parsed.host or "").lower().strip("[]") != host:
        return None
    port = split_port or DEFAULT_PORTS[scheme]
    if (parsed_port or DEFAULT_PORTS[scheme]) != port:
        return None
    return scheme, host, port


def under_base(path: str, base: str) -> bool:
    """`path` is the configured URL's path `base` or below it, with no `.`/`..` segment (also
    percent-encoded) that a server would resolve to somewhere else."""
    if any(segment in (".", "..") for segment in unquote(path).split("/")):
        return False
    return not base or path == base or path.startswith(base + "/")


def _show(origin: Origin | None) -> str:
    return "an unparsable address" if origin is None else f"{origin[0]}://{origin[1]}:{origin[2]}"


class TransientError(RedmineError):
    """A fault worth retrying; `retry_after` comes from the server when it said so."""

    def __init__(self, message: str, *, ambiguous: bool, retry_after: float | None = None,
                 refused: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.ambiguous, self.retry_after, self.refused = ambiguous, retry_after, refused


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps (requests → urllib3 → socket: args, reason, cause, context)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        pending += [e for e in (reason, current.__cause__, current.__context__, *current.args)
                    if isinstance(e, BaseException)]


def _connection_fault(exc: BaseException) -> str:
    """What a failed connection says about the address: "no-such-host" (DNS has no such name: final),
    "refused" (nothing listens on that port), or "other" (reset, unreachable: maybe transient)."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return "no-such-host" if cause.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)) else "other"
        if isinstance(cause, ConnectionRefusedError):
            return "refused"
    return "other"


@dataclass
class RequestStats:
    """What the gateway sent: per method, retries, and writes recovered instead of repeated."""

    by_method: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    recovered_writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, method: str) -> None:
        with self._lock:
            self.by_method[method] += 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    def recovered(self) -> None:
        with self._lock:
            self.recovered_writes += 1

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m != "GET")

    def as_dict(self) -> dict[str, int]:
        per_method = {m.lower(): n for m, n in self.by_method.items()}
        return {"requests": self.total, "writes": self.writes, "retries": self.retries,
                "recovered_writes": self.recovered_writes, **per_method}


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _error_messages(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str(e) for e in errors] if isinstance(errors, list) else []


class Gateway:
    """Redmine's REST API with retries, timeouts, impersonation and redaction.

    `writes_allowed=False` turns the gateway read-only: a dry run that reached a write by
    mistake fails loudly instead of changing the tracker.
    """

    def __init__(self, settings: ConnectionSettings, *, writes_allowed: bool = True,
                 sleep: Callable[[float], None] = time.sleep, pool_size: int = 16,
                 progress: Callable[[str, int, int | None], None] | None = None) -> None:
        self._settings = settings
        self._key = settings.api_key.get_secret_value()
        self._redact = Redactor(self._key)
        self._origin = origin_of(settings.url)
        self._base_path = urlsplit(settings.url).path.rstrip("/")
        self.writes_allowed = writes_allowed
        self._sleep = sleep
        self._pool_size = pool_size
        self._local = threading.local()
        self.stats = RequestStats()
        self.catalog = Catalog(self)  # Redmine's named objects, read once for the run
        # Told (path, items read, total_count) after each page of `iterate`: the CLI draws a bar.
        self._progress = progress

    def __repr__(self) -> str:
        return f"Gateway(url={self._settings.url!r}, writes_allowed={self.writes_allowed})"

    @property
    def url(self) -> str:
        return self._settings.url

    @property
    def where(self) -> str:
        """The configured address as errors name it (scheme, host, port and base path; never credentials)."""
        return f"{_show(self._origin)}{self._base_path}" if self._origin else "REDMINE_URL (unparsable)"

    # --- transport -------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.verify = self._settings.verify_tls
            session.headers.update({"X-Redmine-API-Key": self._key, "User-Agent": "helpdesk/0.1"})
            # The environment (proxies, no_proxy, CA bundle) is read once per session for the one origin
            # we talk to: requests re-reads it, and ~/.netrc, on every call (~2 ms of CPU per request).
            # Passing verify explicitly keeps REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from undoing --insecure.
            self._local.send_options = session.merge_environment_settings(
                self._settings.url, {}, None, self._settings.verify_tls, None)
            session.trust_env = False  # the key is our authentication: no netrc credentials either
            self._local.session = session
        return session

    def redact(self, text: str) -> str:
        """Remove the API key, however spelt, from any text that might reach a log or an exception."""
        return self._redact(text)

    def _check_origin(self, url: str, method: str, path: str) -> None:
        """The key is about to go to `url`: refuse unless it is the configured origin."""
        origin = origin_of(url)
        if origin == self._origin and self._origin is not None and not under_base(urlsplit(url).path,
                                                                                  self._base_path):
            raise RedirectRefused(f"refusing to send the API key to {self.redact(urlsplit(url).path)!r}: outside "
                                  f"the configured URL's path {self._base_path or '/'!r}", method=method,
                                  path=self.redact(path))
        if self._origin is None or origin != self._origin:
            raise RedirectRefused(f"refusing to send the API key to {_show(origin)}: only "
                                  f"{_show(self._origin)} (the configured URL) gets it",
                                  method=method, path=self.redact(path))

    def _send_once(self, method: str, path: str, *, params: Mapping[str, Any] | None,
                   body: bytes | None, content_type: str | None, as_user: str | None) -> requests.Response:
        headers: dict[str, str] = {}
        if content_type:
            headers["Content-Type"] = content_type
        if as_user:
            headers["X-Redmine-Switch-User"] = as_user
        self.stats.count(method)
        url = self._settings.url + path
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_to(method, url, path, params=params, body=body, headers=headers)
            if not response.is_redirect:
                break
            target = urljoin(response.url or url, response.headers["Location"])
            if origin_of(target) != self._origin:
                raise RedirectRefused(
                    f"Redmine redirected to {_show(origin_of(target))}, another origin than the configured "
                    f"{_show(self._origin)}: not followed, the API key is not sent there",
                    method=method, path=path, status=response.status_code)
            if not under_base(urlsplit(target).path, self._base_path):
                raise RedirectRefused(
                    f"Redmine redirected to {self.redact(urlsplit(target).path)!r}, outside the configured URL's "
                    f"path {self._base_path or '/'!r}: not followed, the API key is not sent there",
                    method=method, path=path, status=response.status_code)
            if method != "GET":  # a redirected write was not applied; re-sending it could change its meaning
                raise RedmineError(f"HTTP {response.status_code}: Redmine redirected a write (not followed)",
                                   method=method, path=path, status=response.status_code)
            url, params = target, None
        else:
            raise RedmineError(f"more than {MAX_REDIRECTS} redirects", method=method, path=path)
        if response.status_code in RETRYABLE_STATUSES:
            raise TransientError(f"HTTP {response.status_code}",
                                 ambiguous=response.status_code in AMBIGUOUS_STATUSES,
                                 retry_after=_retry_after_seconds(response),
                                 method=method, path=path, status=response.status_code)
        if response.status_code >= 400:
            raise self._final_error(method, path, response, as_user)
        return response

    def _send_to(self, method: str, url: str, path: str, *, params: Mapping[str, Any] | None,
                 body: bytes | None, headers: dict[str, str]) -> requests.Response:
        """One HTTP exchange, redirects not followed, to a URL checked after `requests` prepared it."""
        session = self._session()
        try:
            prepared = session.prepare_request(requests.Request(method, url, params=params, data=body,
                                                                headers=headers))
            self._check_origin(prepared.url or "", method, path)
            return session.send(prepared, allow_redirects=False,
                                timeout=(self._settings.timeout, self._settings.timeout),
                                **self._local.send_options)
        # Chains are dropped (`from None`): urllib3 errors can carry the request and its headers.
        except requests.exceptions.SSLError as exc:
            if "certificate" in str(exc).lower():  # not transient: retrying cannot make it trusted
                raise TLSVerificationError("TLS certificate verification failed", method=method,
                                           path=path) from None
            raise TransientError("TLS connection failed (SSLError)", ambiguous=True, method=method,
                                 path=path) from None
        except requests.Timeout:
            raise TransientError(f"{self.where} timed out after {self._settings.timeout:g}s", ambiguous=True,
                                 method=method, path=path) from None
        except requests.ConnectionError as exc:
            fault = _connection_fault(exc)
            where = self.where
            if fault == "no-such-host":  # retrying cannot make the name exist
                raise UnavailableError(f"the host of {where} does not exist (DNS lookup failed)",
                                       method=method, path=path) from None
            if fault == "refused":
                raise TransientError(f"{where} refused the connection", ambiguous=False, refused=True,
                                     method=method, path=path) from None
            raise TransientError(f"connection to {where} failed ({type(exc).__name__})", ambiguous=True,
                                 method=method, path=path) from None
        except (requests.RequestException, LocationParseError, ValueError) as exc:
            raise UnavailableError(self.redact(f"{type(exc).__name__}: {exc}"), method=method,
                                   path=path) from None

    def _final_error(self, method: str, path: str, response: requests.Response,
                     as_user: str | None) -> RedmineError:
        status = response.status_code
        # Servers and proxies may echo request headers into their messages: never keep the key.
        errors = [self.redact(e) for e in _error_messages(response)]
        kinds: dict[int, tuple[type[RedmineError], str]] = {
            401: (AuthError, "unauthorized (bad API key or REST API disabled)"),
            403: (ForbiddenError, "forbidden" + (f" for user {as_user}" if as_user else "")),
            404: (NotFoundError, "not found"),
            412: (ImpersonationError, f"cannot act as user '{as_user}' (locked, not activated or unknown)"),
            422: (ValidationFailed, "rejected by Redmine"),
        }
        if status == 404 and path.endswith(".json") and "html" in response.headers.get("Content-Type", ""):
            # Redmine's API answers 404 in JSON; an HTML page means the address is not Redmine's API.
            return BasePathError(f"{self.where} answered with a web page, not Redmine's API (HTTP 404)",
                                 method=method, path=path, status=status)
        cls, message = kinds.get(status, (RedmineError, f"HTTP {status}"))
        if status >= 500:
            cls = ServerError
        return cls(message, method=method, path=path, status=status, errors=errors)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry = self._settings.retry
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, retry.max_wait)
        if isinstance(exc, TransientError) and exc.refused:  # a restart in progress, at most: one quick retry
            return min(retry.initial_wait, REFUSED_WAIT)
        # Exponential backoff with full jitter, capped (written out: tenacity renamed its knobs).
        backoff = min(retry.max_wait, retry.initial_wait * 2 ** (state.attempt_number - 1))
        return min(retry.max_wait, backoff + random.uniform(0, retry.initial_wait))

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Json | None = None, body: bytes | None = None,
                content_type: str | None = None, as_user: str | None = None,
                recover: Callable[[], T | None] | None = None) -> requests.Response | T:
        """Send one request, retrying transient faults within the configured cap.

        `recover` is asked after an ambiguous failure of a write (the request may have been
        applied): when it finds the write in Redmine its result is returned instead of
        sending the write a second time.
        """
        if method != "GET" and not self.writes_allowed:
            raise WriteRefused(f"{method} {path} refused: this run does not write (dry run)")
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json"
        retry = self._settings.retry
        attempt_no = 0

        def attempt() -> requests.Response | T:
            nonlocal attempt_no
            attempt_no += 1
            if attempt_no > 1:
                self.stats.retried()
                if recover is not None and method != "GET" and self._last_ambiguous:
                    found = recover()
                    if found is not None:
                        self.stats.recovered()
                        return found
            try:
                response = self._send_once(method, path, params=params, body=body,
                                           content_type=content_type, as_user=as_user)
            except TransientError as exc:
                self._local.last_ambiguous = exc.ambiguous
                raise
            return response

        def refused_twice(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            return isinstance(exc, TransientError) and exc.refused and state.attempt_number >= REFUSED_ATTEMPTS

        def warn(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            most = REFUSED_ATTEMPTS if isinstance(exc, TransientError) and exc.refused else retry.attempts
            log.warning("%s; retry %d of %d in %.1f s", exc, state.attempt_number, most - 1, wait)

        retrying = Retrying(
            stop=stop_after_attempt(retry.attempts) | stop_after_delay(retry.max_total_wait) | refused_twice,
            wait=self._wait, sleep=self._sleep, reraise=True,
            retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
            before_sleep=warn,
        )
        try:
            return retrying(attempt)
        except TransientError as exc:
            raise UnavailableError(f"{exc.reason}; gave up after {attempt_no} attempts",
                                   method=method, path=self.redact(path), status=exc.status) from None
        except RedmineError as exc:  # belt and braces: whatever built it, it leaves without the key
            raise exc.redacted(self.redact) from None

    @property
    def _last_ambiguous(self) -> bool:
        return bool(getattr(self._local, "last_ambiguous", False))

    # --- JSON helpers ----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, as_user: str | None = None) -> Json:
        response = self.request("GET", path, params=params, as_user=as_user)
        assert isinstance(response, requests.Response)
        return response.json() if response.content else {}

    def _write(self, method: str, path: str, payload: Json, as_user: str | None,
               recover: Callable[[], Json | None] | None) -> Json:
        result = self.request(method, path, json_body=payload, as_user=as_user, recover=recover)
        if isinstance(result, requests.Response):
            return result.json() if result.content.strip() else {}
        return result  # what `recover` found

    def post(self, path: str, payload: Json, *, as_user: str | None = None,
             recover: Callable[[], Json | None] | None = None) -> Json:
        return self._write("POST", path, payload, as_user, recover)

    def put(self, path: str, payload: Json, *, as_user: str | None = None,
            recover: Callable[[], Json | None] | None = None) -> Json:
        return self._write("PUT", path, payload, as_user, recover)

    def delete(self, path: str, *, as_user: str | None = None) -> None:
        with contextlib.suppress(NotFoundError):  # already gone: deleting is idempotent
            self.request("DELETE", path, as_user=as_user)

    def upload(self, content: bytes | BinaryIO, filename: str, *, as_user: str | None = None) -> str:
        """Send a file to /uploads.json and return its token (attach it in a later write)."""
        data = content if isinstance(content, bytes) else content.read()
        response = self.request("POST", "/uploads.json", params={"filename": filename}, body=data,
                                content_type="application/octet-stream", as_user=as_user)
        assert isinstance(response, requests.Response)
        return str(response.json()["upload"]["token"])

    def download_sha256(self, url: str) -> str:
        """Stream an attachment from Redmine and return its sha256 (verify compares digests).

        `url` comes from Redmine (`content_url`): it must be the configured origin, parsed, and
        under the configured path (a string prefix would let `https://a.example.evil/` pass).
        """
        split = urlsplit(url)
        if origin_of(url) != self._origin or split.username is not None or split.password is not None:
            raise RedirectRefused(f"refusing to send the API key to {_show(origin_of(url))}: the attachment "
                                  f"is not on {_show(self._origin)} (the configured URL)", method="GET",
                                  path=self.redact(url))
        if not under_base(split.path, self._base_path) or split.path == self._base_path:
            raise RedirectRefused(f"refusing to download {self.redact(split.path)!r}: not under the configured "
                                  f"URL's path {self._base_path or '/'!r}", method="GET", path=self.redact(url))
        path = split.path[len(self._base_path):] + (f"?{split.query}" if split.query else "")
        response = self.request("GET", path)
        assert isinstance(response, requests.Response)
        return hashlib.sha256(response.content).hexdigest()

    def iterate(self, path: str, key: str, params: Mapping[str, Any] | None = None, *,
                as_user: str | None = None, page_size: int = PAGE_SIZE, workers: int = 1) -> Iterator[Json]:
        """Stream a collection page by page (one page in memory), sorted by id where supported.
        With `workers` > 1, up to that many of the pages the last total_count announces are read
        ahead on as many threads (and wait in memory); pages are still handed out in order."""
        query = {"sort": "id", **(params or {}), "limit": page_size}
        offset = 0
        ahead: deque[Future[Json]] = deque()  # the pages at offset, offset + page_size, ...
        with contextlib.ExitStack() as stack:
            pool: ThreadPoolExecutor | None = None
            while True:
                page = ahead.popleft().result() if ahead else self.get(path, {**query, "offset": offset},
                                                                       as_user=as_user)
                items = page.get(key, [])
                offset += len(items)
                total = page.get("total_count")
                last = not items or (total is not None and offset >= int(total)) or len(items) < page_size
                if not last and workers > 1 and total is not None:
                    if pool is None:
                        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page")
                        stack.callback(pool.shutdown, cancel_futures=True)
                    while len(ahead) < workers and (ask := offset + len(ahead) * page_size) < int(total):
                        ahead.append(pool.submit(self.get, path, {**query, "offset": ask}, as_user=as_user))
                yield from items
                if self._progress is not None:
                    self._progress(path, offset, int(total) if total is not None else None)
                if last:
                    return

    def count(self, path: str, params: Mapping[str, Any] | None = None) -> int:
        """How many items a filter matches, in one request of one item."""
        return int(self.get(path, {**(params or {}), "limit": 1}).get("total_count", 0))

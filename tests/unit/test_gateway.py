"""The gateway under injected faults: what it retries, what it never retries, timeouts that
really fire, ambiguous writes recovered instead of repeated, and an API key that never leaks.

HTTP is faked with `responses`; the one exception is the never-answering server, which must
be a real socket (a fake cannot prove that the timeout reaches the session).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import threading
import time
import traceback
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses
from pydantic import ValidationError

from helpdesk_core.config import ConnectionSettings, RetrySettings, load_connection
from helpdesk_core.errors import (
    AuthError,
    ConfigError,
    ForbiddenError,
    HelpdeskError,
    ImpersonationError,
    NotFoundError,
    RedirectRefused,
    RedmineError,
    TLSVerificationError,
    UnavailableError,
    ValidationFailed,
)
from helpdesk_core.gateway import Gateway, origin_of
from helpdesk_core.redaction import MASK, Redactor

URL = "http://redmine.test"
KEY = "k3y-5ecret-0f-the-admin-3a1c9f"


def settings(url: str = URL, **overrides: object) -> ConnectionSettings:
    values: dict[str, object] = {"url": url, "api_key": KEY, "timeout": 5.0,
                                 "retry": RetrySettings(attempts=5, initial_wait=0.1, max_wait=30,
                                                        max_total_wait=120)}
    values.update(overrides)
    return ConnectionSettings.model_validate(values)


class Sleeps(list[float]):
    """An injected sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def gateway(sleeps: Sleeps) -> Gateway:
    return Gateway(settings(), sleep=sleeps)


@pytest.fixture
def fake() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def calls(fake: responses.RequestsMock, method: str = "GET") -> int:
    return sum(1 for c in fake.calls if c.request.method == method)


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_retries_a_server_error_then_succeeds(fake: responses.RequestsMock, gateway: Gateway,
                                              sleeps: Sleeps, status: int) -> None:
    fake.get(f"{URL}/issues.json", status=status)
    fake.get(f"{URL}/issues.json", status=status)
    fake.get(f"{URL}/issues.json", json={"issues": []})
    assert gateway.get("/issues.json") == {"issues": []}
    assert calls(fake) == 3
    assert len(sleeps) == 2 and all(0 < s <= 30 for s in sleeps)
    assert gateway.stats.retries == 2


def test_retry_after_of_429_is_honoured(fake: responses.RequestsMock, gateway: Gateway, sleeps: Sleeps) -> None:
    fake.get(f"{URL}/issues.json", status=429, headers={"Retry-After": "7"})
    fake.get(f"{URL}/issues.json", json={"issues": [{"id": 1}]})
    assert gateway.get("/issues.json")["issues"] == [{"id": 1}]
    assert sleeps == [7.0]


def test_retry_after_is_capped_by_max_wait(fake: responses.RequestsMock, sleeps: Sleeps) -> None:
    gateway = Gateway(settings(retry=RetrySettings(attempts=3, initial_wait=0.1, max_wait=2)), sleep=sleeps)
    fake.get(f"{URL}/issues.json", status=429, headers={"Retry-After": "3600"})
    fake.get(f"{URL}/issues.json", json={})
    gateway.get("/issues.json")
    assert sleeps == [2.0]


def test_connection_reset_is_retried(fake: responses.RequestsMock, gateway: Gateway, sleeps: Sleeps) -> None:
    fake.get(f"{URL}/projects.json", body=requests.ConnectionError("Connection reset by peer"))
    fake.get(f"{URL}/projects.json", body=requests.ConnectionError("Connection reset by peer"))
    fake.get(f"{URL}/projects.json", json={"projects": []})
    assert gateway.get("/projects.json") == {"projects": []}
    assert calls(fake) == 3 and len(sleeps) == 2


def test_backoff_grows_and_gives_up_at_the_cap(fake: responses.RequestsMock, gateway: Gateway,
                                               sleeps: Sleeps) -> None:
    fake.get(f"{URL}/projects.json", status=503)
    with pytest.raises(UnavailableError) as caught:
        gateway.get("/projects.json")
    assert calls(fake) == 5  # attempts=5
    assert len(sleeps) == 4
    assert "gave up after 5 attempts" in str(caught.value)
    assert caught.value.status == 503
    # exponential with jitter: each wait is at least the exponential floor 0.1 * 2^n
    assert all(s >= 0.1 * 2**i for i, s in enumerate(sleeps))


@pytest.mark.parametrize(("status", "error"), [
    (401, AuthError), (403, ForbiddenError), (404, NotFoundError), (412, ImpersonationError),
    (422, ValidationFailed),
])
def test_final_4xx_is_never_retried(fake: responses.RequestsMock, gateway: Gateway, sleeps: Sleeps,
                                    status: int, error: type[RedmineError]) -> None:
    fake.post(f"{URL}/issues.json", status=status, json={"errors": ["Subject cannot be blank"]})
    recovered: list[bool] = []
    with pytest.raises(error) as caught:
        gateway.post("/issues.json", {"issue": {}}, as_user="client1",
                     recover=lambda: recovered.append(True))  # type: ignore[func-returns-value]
    assert calls(fake, "POST") == 1
    assert sleeps == [] and recovered == []
    assert caught.value.status == status
    if status == 422:
        assert caught.value.errors == ["Subject cannot be blank"]


def test_impersonation_header_is_sent_per_call(fake: responses.RequestsMock, gateway: Gateway) -> None:
    fake.get(f"{URL}/issues.json", json={})
    gateway.get("/issues.json", as_user="i.ivanov")
    gateway.get("/issues.json")
    first, second = fake.calls
    assert first.request.headers["X-Redmine-Switch-User"] == "i.ivanov"
    assert "X-Redmine-Switch-User" not in second.request.headers


# --- timeouts that really fire -----------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections, reads nothing, answers nothing, until the test ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def test_timeout_fires_against_a_server_that_never_answers(silent_server: str) -> None:
    attempts, timeout = 3, 0.5
    gateway = Gateway(settings(silent_server, timeout=timeout,
                               retry=RetrySettings(attempts=attempts, initial_wait=0.01, max_wait=0.05)))
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        gateway.get("/users/current.json")
    elapsed = time.monotonic() - started
    assert "timed out" in str(caught.value)
    assert gateway.stats.total == attempts
    assert timeout * attempts * 0.9 <= elapsed < timeout * attempts + 2.0


def test_total_wait_cap_stops_retrying_even_with_attempts_left(silent_server: str) -> None:
    gateway = Gateway(settings(silent_server, timeout=0.3,
                               retry=RetrySettings(attempts=50, initial_wait=0.01, max_wait=0.05,
                                                   max_total_wait=1.0)))
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        gateway.get("/users/current.json")
    assert time.monotonic() - started < 3.0
    assert gateway.stats.total < 10


# --- ambiguous writes --------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["reset", 502, 500, 504, "timeout"])
def test_recover_is_asked_after_an_ambiguous_write_and_prevents_a_second_post(
        fake: responses.RequestsMock, gateway: Gateway, fault: str | int) -> None:
    if fault == "reset":
        fake.post(f"{URL}/issues.json", body=requests.ConnectionError("Connection reset by peer"))
    elif fault == "timeout":
        fake.post(f"{URL}/issues.json", body=requests.ReadTimeout("read timed out"))
    else:
        fake.post(f"{URL}/issues.json", status=int(fault))
    fake.post(f"{URL}/issues.json", status=201, json={"issue": {"id": 999}})  # must never be reached
    asked: list[int] = []

    def recover() -> dict[str, object]:
        asked.append(1)
        return {"issue": {"id": 42}}

    assert gateway.post("/issues.json", {"issue": {"subject": "x"}}, recover=recover) == {"issue": {"id": 42}}
    assert asked == [1]
    assert calls(fake, "POST") == 1
    assert gateway.stats.recovered_writes == 1


def test_recover_that_finds_nothing_lets_the_write_be_sent_again(fake: responses.RequestsMock,
                                                                gateway: Gateway) -> None:
    fake.post(f"{URL}/issues.json", body=requests.ConnectionError("Connection reset by peer"))
    fake.post(f"{URL}/issues.json", status=201, json={"issue": {"id": 7}})
    asked: list[int] = []
    result = gateway.post("/issues.json", {"issue": {}}, recover=lambda: asked.append(1))  # type: ignore[func-returns-value]
    assert result == {"issue": {"id": 7}}
    assert asked == [1] and calls(fake, "POST") == 2
    assert gateway.stats.recovered_writes == 0


@pytest.mark.parametrize("status", [503, 429])
def test_recover_is_not_asked_when_the_write_surely_did_not_happen(fake: responses.RequestsMock,
                                                                  gateway: Gateway, status: int) -> None:
    fake.put(f"{URL}/issues/5.json", status=status, headers={"Retry-After": "0"})
    fake.put(f"{URL}/issues/5.json", status=204)
    asked: list[int] = []
    gateway.put("/issues/5.json", {"issue": {"notes": "x"}}, recover=lambda: asked.append(1))  # type: ignore[func-returns-value]
    assert asked == [] and calls(fake, "PUT") == 2


def test_read_only_gateway_refuses_writes_before_sending(fake: responses.RequestsMock, sleeps: Sleeps) -> None:
    gateway = Gateway(settings(), writes_allowed=False, sleep=sleeps)
    with pytest.raises(HelpdeskError, match="dry run"):
        gateway.post("/issues.json", {"issue": {}})
    assert len(fake.calls) == 0


# --- the API key never leaks -------------------------------------------------------------------


def _everything_about(exc: BaseException) -> str:
    """str, repr, args, attributes and the full formatted traceback, and the same for every
    exception chained in a way a traceback would print (cause, or unsuppressed context)."""
    parts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc)),
             "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None:
        parts.append(_everything_about(cause))
    return "\n".join(parts)


LEAK_CASES = {
    "401": lambda fake: fake.get(f"{URL}/x.json", status=401),
    "403": lambda fake: fake.get(f"{URL}/x.json", status=403),
    "404": lambda fake: fake.get(f"{URL}/x.json", status=404),
    "412": lambda fake: fake.get(f"{URL}/x.json", status=412),
    # a server (or a proxy in between) that echoes the request's headers into its error messages
    "422-echo": lambda fake: fake.get(f"{URL}/x.json", status=422,
                                      json={"errors": [f"X-Redmine-API-Key: {KEY} is not allowed"]}),
    "503": lambda fake: fake.get(f"{URL}/x.json", status=503),
    "reset": lambda fake: fake.get(f"{URL}/x.json", body=requests.ConnectionError(
        f"HTTPConnectionPool: headers {{'X-Redmine-API-Key': '{KEY}'}}")),
    "timeout": lambda fake: fake.get(f"{URL}/x.json", body=requests.ReadTimeout(f"read timed out key={KEY}")),
    "other": lambda fake: fake.get(f"{URL}/x.json", body=requests.exceptions.InvalidHeader(
        f"Invalid header value {KEY}")),
}


@pytest.mark.parametrize("case", sorted(LEAK_CASES))
def test_api_key_absent_from_exceptions_tracebacks_and_logs(fake: responses.RequestsMock, gateway: Gateway,
                                                            caplog: pytest.LogCaptureFixture, case: str) -> None:
    LEAK_CASES[case](fake)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RedmineError) as caught:
        gateway.get("/x.json", as_user="client1")
    seen = _everything_about(caught.value)
    assert KEY not in seen
    assert KEY not in caplog.text
    assert all(KEY not in repr(r.__dict__) for r in caplog.records)
    # the request did carry the key: it was only kept out of everything else
    assert fake.calls[0].request.headers["X-Redmine-API-Key"] == KEY


def test_api_key_absent_from_reprs(gateway: Gateway) -> None:
    config = settings()
    for text in (repr(gateway), str(gateway), repr(config), str(config), repr(config.model_dump()),
                 config.model_dump_json(), repr(gateway.stats), repr(gateway.stats.as_dict())):
        assert KEY not in text


def test_retry_warnings_are_logged_without_the_key(fake: responses.RequestsMock, gateway: Gateway,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    fake.get(f"{URL}/x.json", body=requests.ConnectionError(f"reset; sent X-Redmine-API-Key: {KEY}"))
    fake.get(f"{URL}/x.json", status=503)
    fake.get(f"{URL}/x.json", json={})
    caplog.set_level(logging.DEBUG, logger="helpdesk")
    gateway.get("/x.json")
    assert "retry 1 of" in caplog.text and "retry 2 of" in caplog.text
    assert KEY not in caplog.text


def test_untrusted_certificate_is_not_retried(fake: responses.RequestsMock, gateway: Gateway,
                                              sleeps: Sleeps) -> None:
    fake.get(f"{URL}/x.json", body=requests.exceptions.SSLError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"))
    with pytest.raises(TLSVerificationError) as caught:
        gateway.get("/x.json")
    assert calls(fake) == 1 and sleeps == []
    assert "--insecure" in (caught.value.hint or "")


def test_tls_verification_is_on_unless_turned_off() -> None:
    assert Gateway(settings())._session().verify is True
    assert Gateway(settings(verify_tls=False))._session().verify is False


def test_insecure_is_not_undone_by_a_ca_bundle_in_the_environment(fake: responses.RequestsMock,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    fake.get("https://redmine.test/x.json", json={})
    Gateway(settings("https://redmine.test", verify_tls=False)).get("/x.json")
    Gateway(settings("https://redmine.test")).get("/x.json")
    insecure, verified = fake.calls
    assert insecure.request.req_kwargs["verify"] is False
    assert verified.request.req_kwargs["verify"] not in (False, None)


def test_the_environment_is_read_once_per_session_and_still_applies(fake: responses.RequestsMock,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies (and no_proxy) from the environment reach every request, but are looked up once, not per
    request (requests re-reads the environment and ~/.netrc on every call otherwise)."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    lookups: list[str] = []
    real = requests.sessions.get_environ_proxies
    monkeypatch.setattr(requests.sessions, "get_environ_proxies",
                        lambda url, no_proxy=None: lookups.append(url) or real(url, no_proxy))
    fake.get("https://redmine.test/x.json", json={})
    gateway = Gateway(settings("https://redmine.test"))
    for _ in range(5):
        gateway.get("/x.json")
    assert len(fake.calls) == 5 and len(lookups) == 1
    assert all(call.request.req_kwargs["proxies"].get("https") == "http://proxy.test:3128" for call in fake.calls)


# --- the key goes to the configured origin only (issue 11, item 7) ------------------------------

HELPDESK = "https://helpdesk.example.tech"


@pytest.mark.parametrize("url", [
    "https://helpdesk.example.tech.evil.example/attachments/download/1/a.png",  # a string prefix of it
    "https://helpdesk.example.tech@evil.example/attachments/download/1/a.png",  # userinfo
    "https://helpdesk.example.tech:443@evil.example/attachments/download/1/a.png",
    "https://helpdesk.example.tech\\@evil.example/attachments/download/1/a.png",  # the parsers disagree
    "http://helpdesk.example.tech/attachments/download/1/a.png",  # another scheme
    "https://helpdesk.example.tech:8443/attachments/download/1/a.png",  # another port
    "https://user:pw@helpdesk.example.tech/attachments/download/1/a.png",  # credentials of its own
    "//evil.example/attachments/download/1/a.png",
    "attachments/download/1/a.png",
])
def test_attachment_download_refuses_any_other_origin(fake: responses.RequestsMock, sleeps: Sleeps,
                                                      url: str) -> None:
    fake.get(re.compile(".*"), body=b"data")
    gateway = Gateway(settings(HELPDESK), sleep=sleeps)
    with pytest.raises(RedirectRefused) as caught:
        gateway.download_sha256(url)
    assert len(fake.calls) == 0  # nothing was sent: the key stayed home
    assert "refusing to send the API key" in str(caught.value) and caught.value.exit_code == 2


@pytest.mark.parametrize(("base", "url", "sent"), [
    (HELPDESK, "https://helpdesk.example.tech/attachments/download/1/a.png", "/attachments/download/1/a.png"),
    (HELPDESK, "HTTPS://Helpdesk.Example.TECH:443/attachments/download/1/a.png", "/attachments/download/1/a.png"),
    (HELPDESK + "/redmine", "https://helpdesk.example.tech/redmine/attachments/download/1/a.png?x=1",
     "/redmine/attachments/download/1/a.png?x=1"),
])
def test_attachment_download_accepts_the_same_origin_however_spelt(fake: responses.RequestsMock, sleeps: Sleeps,
                                                                   base: str, url: str, sent: str) -> None:
    fake.get(re.compile(".*"), body=b"data")
    digest = Gateway(settings(base), sleep=sleeps).download_sha256(url)
    assert digest == hashlib.sha256(b"data").hexdigest()
    [call] = fake.calls
    assert call.request.url == HELPDESK + sent and call.request.headers["X-Redmine-API-Key"] == KEY


def test_attachment_outside_the_configured_path_is_refused(fake: responses.RequestsMock, sleeps: Sleeps) -> None:
    fake.get(re.compile(".*"), body=b"data")
    gateway = Gateway(settings(HELPDESK + "/redmine"), sleep=sleeps)
    with pytest.raises(RedirectRefused):
        gateway.download_sha256(HELPDESK + "/other-app/attachments/download/1/a.png")
    assert len(fake.calls) == 0


@pytest.mark.parametrize("path", ["@evil.example/x.json", ".evil.example/x.json", ":8443/x.json",
                                  ":443@evil.example/x.json"])
def test_a_path_that_would_change_the_host_is_refused_before_sending(fake: responses.RequestsMock,
                                                                    sleeps: Sleeps, path: str) -> None:
    fake.get(re.compile(".*"), json={})
    with pytest.raises(RedirectRefused):
        Gateway(settings(HELPDESK), sleep=sleeps).get(path)
    assert len(fake.calls) == 0


@pytest.mark.parametrize("location", ["https://evil.example/issues.json", "http://redmine.test:8080/issues.json",
                                      "https://redmine.test/issues.json", "//evil.example/issues.json"])
def test_redirect_to_another_origin_is_refused_not_followed(fake: responses.RequestsMock, gateway: Gateway,
                                                            sleeps: Sleeps, location: str) -> None:
    fake.get(f"{URL}/issues.json", status=302, headers={"Location": location})
    fake.get(re.compile("^(?!http://redmine.test/).*"), json={})
    with pytest.raises(RedirectRefused) as caught:
        gateway.get("/issues.json")
    assert [c.request.url for c in fake.calls] == [f"{URL}/issues.json"]  # the other origin never asked
    assert "another origin" in str(caught.value) and sleeps == []  # refused at once, not retried


def test_redirect_within_the_origin_is_followed_for_a_read_with_the_key(fake: responses.RequestsMock,
                                                                        gateway: Gateway) -> None:
    fake.get(f"{URL}/issues.json", status=301, headers={"Location": "/redmine/issues.json"})
    fake.get(f"{URL}/redmine/issues.json", json={"issues": [1]})
    assert gateway.get("/issues.json") == {"issues": [1]}
    assert fake.calls[1].request.headers["X-Redmine-API-Key"] == KEY


def test_a_redirected_write_is_not_followed(fake: responses.RequestsMock, gateway: Gateway) -> None:
    fake.post(f"{URL}/issues.json", status=302, headers={"Location": f"{URL}/login"})
    fake.get(f"{URL}/login", body="login page")
    with pytest.raises(RedmineError, match="redirected a write"):
        gateway.post("/issues.json", {"issue": {}})
    assert calls(fake, "GET") == 0 and calls(fake, "POST") == 1


# --- the key as loaded: trimmed, or refused without being quoted --------------------------------


@pytest.mark.parametrize("raw", [f"{KEY}\r\n", f"{KEY}\n", f"  {KEY}\t", f"\ufeff{KEY}".lstrip("\ufeff") + " "])
def test_whitespace_around_the_key_is_trimmed_at_load(fake: responses.RequestsMock, raw: str) -> None:
    loaded = load_connection(env={"REDMINE_URL": URL + "\r\n", "REDMINE_API_KEY": raw})
    assert loaded.api_key.get_secret_value() == KEY and loaded.url == URL
    fake.get(f"{URL}/x.json", json={})
    Gateway(loaded).get("/x.json")
    assert fake.calls[0].request.headers["X-Redmine-API-Key"] == KEY


@pytest.mark.parametrize(("raw", "kind"), [
    (f"{KEY[:10]} {KEY[10:]}", "whitespace at position 11"),
    (f"{KEY[:10]}\r\n{KEY[10:]}", "whitespace at position 11"),
    (f"{KEY}\x00", "a control character"),
    (f"{KEY}\x1b[2J", "a control character"),
    (f"{KEY}ключ", "a non-ASCII character"),
    ("   ", "empty"),
])
def test_an_unusable_key_is_refused_at_load_without_quoting_it(tmp_path: Path, raw: str, kind: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"redmine": {"url": URL, "api_key": raw}}), "utf-8")
    for source in ({"config_path": config, "env": {}}, {"env": {"REDMINE_URL": URL, "REDMINE_API_KEY": raw}}):
        with pytest.raises(ConfigError) as caught:
            load_connection(**source)  # type: ignore[arg-type]
        text = _everything_about(caught.value)
        assert kind in text and caught.value.exit_code == 2
        assert KEY not in text and KEY[:10] not in text and KEY[10:] not in text
    with pytest.raises(ValidationError) as direct:  # built directly, the error hides its input too
        ConnectionSettings(url=URL, api_key=raw)  # type: ignore[arg-type]
    assert KEY[10:] not in str(direct.value) and KEY[10:] not in repr(direct.value)


# --- redaction catches the key however it is spelt ----------------------------------------------


def _spellings(key: str) -> dict[str, str]:
    return {
        "exact": key, "upper": key.upper(), "mixed case": key.swapcase(),
        "json \\u": "".join(f"\\u{ord(c):04x}" for c in key),
        "json \\u upper": "".join(f"\\u{ord(c):04X}" for c in key),
        "json.dumps": json.dumps(key)[1:-1],
        "url-encoded": "".join(f"%{ord(c):02X}" for c in key),
        "url-encoded twice": "".join(f"%25{ord(c):02x}" for c in key),
        "quote": urllib.parse.quote(key, safe=""),
        "python repr \\x": "".join(f"\\x{ord(c):02x}" for c in key),
        "html entities": "".join(f"&#{ord(c)};" for c in key),
        "html hex entities": "".join(f"&#x{ord(c):x};" for c in key),
        "half escaped": key[:9] + "".join(f"%{ord(c):02x}" for c in key[9:18]) + key[18:].upper(),
        "backslash-escaped": "".join(f"\\{c}" for c in key),
        "repr of json \\u": repr("".join(f"\\u{ord(c):04x}" for c in key))[1:-1],
        "html escaped twice": "".join(f"&amp;#{ord(c)};" for c in key),
    }


@pytest.mark.parametrize("form", sorted(_spellings(KEY)))
def test_redaction_catches_escaped_encoded_and_case_changed_copies(form: str) -> None:
    redact = Redactor(KEY)
    text = f"before {_spellings(KEY)[form]} after"
    assert redact(text) == f"before {MASK} after"
    assert Redactor("")(text) == text  # no key, nothing to hide


@pytest.mark.parametrize("form", sorted(_spellings(KEY)))
def test_server_echoes_of_the_key_in_any_spelling_never_reach_an_exception(
        fake: responses.RequestsMock, gateway: Gateway, caplog: pytest.LogCaptureFixture, form: str) -> None:
    echo = _spellings(KEY)[form]
    fake.get(f"{URL}/x.json", body=requests.ConnectionError(f"reset; sent {echo}"))
    fake.get(f"{URL}/x.json", status=422, json={"errors": [f"header {echo} refused"]})
    fake.get(f"{URL}/y.json", body=requests.exceptions.InvalidHeader(f"Invalid header value {echo!r}"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationFailed) as first:
        gateway.get("/x.json")
    with pytest.raises(UnavailableError) as second:
        gateway.get("/y.json")
    for caught in (first, second):
        seen = _everything_about(caught.value)
        assert echo not in seen and not Redactor(KEY).found_in(seen) and MASK in seen
    assert not Redactor(KEY).found_in(caplog.text)


def test_an_error_carrying_the_key_in_its_path_leaves_the_gateway_redacted(fake: responses.RequestsMock,
                                                                          gateway: Gateway) -> None:
    fake.get(re.compile(".*"), status=404)
    with pytest.raises(NotFoundError) as caught:
        gateway.get(f"/users.json?key={KEY.upper()}")
    seen = _everything_about(caught.value)
    assert not Redactor(KEY).found_in(seen) and MASK in caught.value.path


@pytest.mark.parametrize(("url", "origin"), [
    ("https://helpdesk.example.tech", ("https", "helpdesk.example.tech", 443)),
    ("HTTPS://Helpdesk.Example.Tech:443/x", ("https", "helpdesk.example.tech", 443)),
    ("http://127.0.0.1:3360/redmine", ("http", "127.0.0.1", 3360)),
    ("http://[::1]:80/", ("http", "::1", 80)),
    ("https://helpdesk.example.tech.evil.example/", ("https", "helpdesk.example.tech.evil.example", 443)),
    ("https://helpdesk.example.tech@evil.example/", ("https", "evil.example", 443)),
    ("https://helpdesk.example.tech\\@evil.example/", None),  # urllib.parse and urllib3 disagree: refused
    ("ftp://helpdesk.example.tech/", None),
    ("https://helpdesk.example.tech:99999/", None),
    ("/attachments/1", None),
])
def test_origin_is_scheme_host_and_port_as_both_parsers_read_them(url: str,
                                                                  origin: tuple[str, str, int] | None) -> None:
    assert origin_of(url) == origin


def test_a_redmine_error_redacted_keeps_nothing_of_the_key() -> None:
    exc = ValidationFailed(f"rejected {KEY.upper()}", method="GET", path=f"/x?k={KEY}", status=422,
                           errors=[urllib.parse.quote(KEY, safe="")])
    assert exc.redacted(Redactor(KEY)) is exc
    assert not Redactor(KEY).found_in(_everything_about(exc))
    assert (exc.status, exc.method, type(exc)) == (422, "GET", ValidationFailed)


# --- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 3])
def test_pages_read_ahead_come_out_in_order_each_read_once(fake: responses.RequestsMock, workers: int) -> None:
    """13 items in pages of 2; a page's answer takes longer the earlier it is (they finish out of order)."""
    lock, state = threading.Lock(), {"in_flight": 0, "most": 0}
    offsets: list[int] = []

    def page(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        offset = int(urllib.parse.parse_qs(urllib.parse.urlsplit(request.url or "").query)["offset"][0])
        with lock:
            offsets.append(offset)
            state["in_flight"] += 1
            state["most"] = max(state["most"], state["in_flight"])
        time.sleep((14 - offset) / 1000)
        with lock:
            state["in_flight"] -= 1
        body = {"issues": [{"id": i + 1} for i in range(offset, min(offset + 2, 13))], "total_count": 13}
        return 200, {}, json.dumps(body)

    fake.add_callback(responses.GET, f"{URL}/issues.json", callback=page)
    seen: list[tuple[str, int, int | None]] = []
    gw = Gateway(settings(), progress=lambda path, done, total: seen.append((path, done, total)))
    assert [i["id"] for i in gw.iterate("/issues.json", "issues", page_size=2, workers=workers)] == list(range(1, 14))
    assert sorted(offsets) == list(range(0, 13, 2))  # each page once, none past the total
    assert [done for _, done, _ in seen] == [2, 4, 6, 8, 10, 12, 13]
    assert (state["most"] > 1) == (workers > 1)

"""Security against the real local Redmine and the real CLI.

- The API key never appears in any output, log, report (--report JSON, --html), exception or
  traceback: commands run with a wrong URL, a bad key, a down server, a broken config file
  and HELPDESK_TRACEBACK=1, and everything they print or write is grepped for the key.
- TLS certificates are verified by default; `--insecure` turns that off with a warning.
- A client impersonated after a migration sees no other company's issue and no private note.
- Hostile strings cannot inject code into the generated Ruby scripts (provision, fix-dates: run
  for real through `rails runner`, inside a transaction rolled back at the end) nor script
  into the HTML report of `migrate plan`.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk_core.config import ConnectionSettings
from helpdesk_core.gateway import Gateway
from helpdesk_core.mappings import bundled_mappings_text
from migrator.ledger import Ledger
from tests.conftest import LocalRedmine
from tests.integration.test_faults import (
    ATTACHMENT_LIMIT_KB,
    SMALL_TICKETS,
    build_sweep_world,
    helpdesk,
    helpdesk_env,
    migrate_args,
    parse_result,
    prefixed_export,
    sweep_args,
)

pytestmark = pytest.mark.redmine


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fast_config(path: Path, **redmine: Any) -> Path:
    path.write_text(json.dumps({"redmine": {"timeout": 3, "retry": {"attempts": 2, "initial_wait": 0.1,
                                                                      "max_wait": 0.2}, **redmine}}), "utf-8")
    return path


# --- the API key never leaks -------------------------------------------------------------------


def test_api_key_never_appears_in_outputs_reports_logs_or_tracebacks(redmine_pg: LocalRedmine, tmp_path: Path,
                                                                     unique: str) -> None:
    key = redmine_pg.api_key
    bad_key = "f00dbad" + key[7:][::-1]  # a wrong key of the same shape: must not leak either
    export = prefixed_export(tmp_path / "export", f"s{unique}", keep=("T1", "T9", "T13"))
    config = _fast_config(tmp_path / "config.yaml")
    key_in_config = tmp_path / "with-key.yaml"
    key_in_config.write_text(json.dumps({"redmine": {"url": "ftp://not-http", "api_key": key}}), "utf-8")
    key_bad_timeout = tmp_path / "with-key-2.yaml"
    key_bad_timeout.write_text(json.dumps({"redmine": {"url": redmine_pg.url, "api_key": key, "timeout": -1,
                                                       "colour": key}}), "utf-8")
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers: the timeout path
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"

    scenarios: list[tuple[str, str | None, str, list[str]]] = [
        # (name, URL, key, args)
        ("ok run", redmine_pg.url, key, [*migrate_args(export, tmp_path / "s.sqlite"),
                                         "--report", str(tmp_path / "run.json"), "--html", str(tmp_path / "run.html")]),
        ("ok verify", redmine_pg.url, key, [*migrate_args(export, tmp_path / "s.sqlite", "verify"),
                                            "--html", str(tmp_path / "verify.html")]),
        ("ok plan text", redmine_pg.url, key, ["migrate", "plan", str(export), "--state", str(tmp_path / "s.sqlite"),
                                               "--html", str(tmp_path / "plan.html")]),
        ("doctor", redmine_pg.url, key, ["doctor", "--format", "json"]),
        ("wrong URL path", redmine_pg.url + "/no/such/prefix", key, ["doctor"]),
        ("wrong URL host", "http://redmine.invalid", key, ["--config", str(config), "doctor"]),
        ("down server", f"http://127.0.0.1:{_closed_port()}", key,
         ["--config", str(config), "migrate", "plan", str(export), "--format", "json"]),
        ("never answers", silent_url, key, ["--config", str(config), "doctor"]),
        ("bad key", redmine_pg.url, bad_key, ["migrate", "plan", str(export), "--format", "json"]),
        ("bad key doctor", redmine_pg.url, bad_key, ["doctor"]),
        ("key in a bad config", None, "", ["--config", str(key_in_config), "doctor"]),
        ("key in a config with bad values", None, "", ["--config", str(key_bad_timeout), "doctor"]),
    ]
    outputs: dict[str, str] = {}
    try:
        for name, url, api_key, args in scenarios:
            for traceback_on in ("", "1"):
                env = helpdesk_env(redmine_pg)
                env.pop("REDMINE_URL", None)
                env.pop("REDMINE_API_KEY", None)
                if url is not None:
                    env["REDMINE_URL"] = url
                if api_key:
                    env["REDMINE_API_KEY"] = api_key
                if traceback_on:
                    env["HELPDESK_TRACEBACK"] = "1"
                done = helpdesk(args, env, timeout=300)
                outputs[f"{name} (traceback={traceback_on or 0}) exit {done.returncode}"] = done.stdout + done.stderr
                if name.startswith("ok") and not traceback_on:
                    assert done.returncode in (0, 3), (name, done.stderr[-2000:])
                if traceback_on and done.returncode == 1 and name in ("down server", "never answers"):
                    assert "Traceback" in done.stderr  # the traceback really was printed, and grepped
    finally:
        silent.close()
    written = [p for p in tmp_path.iterdir() if p.is_file() and p.suffix in (".json", ".html")
               or p.name.startswith("s.sqlite")]  # what the commands wrote: reports, pages, the ledger
    assert len(written) >= 4, written
    for path in written:
        outputs[f"file {path.name}"] = path.read_bytes().decode("utf-8", "replace")
    assert any("error:" in text for text in outputs.values())
    assert (tmp_path / "run.json").exists() and (tmp_path / "run.html").exists()
    for where, text in outputs.items():
        assert key not in text, f"API key leaked in {where}"
        assert bad_key not in text, f"bad API key leaked in {where}"
    print(f"\nAPI key absent from {len(outputs)} outputs, reports and tracebacks")


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    """HTTPS with a self-signed certificate; answers every request with 401."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b'{"errors": ["unauthorized"]}'
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_tls_is_verified_by_default_and_insecure_warns(tls_server: str, tmp_path: Path) -> None:
    assert ConnectionSettings(url=tls_server, api_key="x").verify_tls is True
    assert Gateway(ConnectionSettings(url=tls_server, api_key="x"))._session().verify is True
    config = _fast_config(tmp_path / "config.yaml")
    env = {**os.environ, "REDMINE_URL": tls_server, "REDMINE_API_KEY": "0123456789abcdef"}
    env.pop("HELPDESK_TRACEBACK", None)

    verified = helpdesk(["--config", str(config), "doctor"], env, timeout=120)
    assert verified.returncode == 1, verified.stderr
    errors = [line for line in verified.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "TLS" in errors[0], verified.stderr
    assert "retrying" not in verified.stderr  # an untrusted certificate is not a transient fault
    assert "verification is OFF" not in verified.stderr and "Traceback" not in verified.stderr

    insecure = helpdesk(["--config", str(config), "--insecure", "doctor"], env, timeout=120)
    # the self-signed server was reached: it said 401
    assert "TLS certificate verification is OFF" in insecure.stderr
    assert "401" in insecure.stdout + insecure.stderr or "unauthorized" in (insecure.stdout + insecure.stderr)
    assert "SSL" not in insecure.stderr


# --- impersonated clients see their company's issues only, and no private note ----------------


def test_impersonated_client_sees_no_other_company_and_no_private_note(redmine_pg: LocalRedmine, tmp_path: Path,
                                                                      unique: str) -> None:
    export = prefixed_export(tmp_path / "export", f"v{unique}", keep=SMALL_TICKETS)
    state = tmp_path / "state.sqlite"
    parse_result(helpdesk(migrate_args(export, state), helpdesk_env(redmine_pg)))
    admin = redmine_pg.gateway()
    ledger = Ledger(state)
    projects = dict(ledger.items("project"))
    accounts = dict(ledger.items("user"))  # by portal id: another test's export may reuse the sample's ids
    ledger.close()
    tickets = [json.loads(line) for line in (export / "tickets.jsonl").read_text("utf-8").splitlines() if line]
    users = {u["id"]: u for u in (json.loads(line) for line in (export / "users.jsonl").read_text("utf-8")
                                                              .splitlines() if line)}
    internal_texts = {c["body"] for t in tickets for c in t["comments"] if c["internal"]}
    assert internal_texts, "the export must carry internal comments"
    fields = {f["name"]: f["id"] for f in admin.get("/custom_fields.json")["custom_fields"]}
    portal_field = fields["ID в портале"]

    checked_clients = 0
    seen_own = 0
    for client in sorted({t["author_id"] for t in tickets if t["author_id"] in users}):
        person = users[client]
        if person["kind"] != "client" or not person["active"]:
            continue
        login = admin.get(f"/users/{accounts[client]}.json")["user"]["login"]
        own_project = projects[person["company_id"]]
        visible = list(admin.iterate("/issues.json", "issues", {"status_id": "*"}, as_user=login))
        assert visible, f"{login} sees nothing at all"
        for issue in visible:
            assert issue["project"]["id"] == own_project, f"{login} sees issue {issue['id']} of another company"
        mine = [t for t in tickets if t["author_id"] == client]
        for ticket in mine:
            hits = [i for i in visible for cf in i.get("custom_fields", [])
                    if cf["id"] == portal_field and cf.get("value") == ticket["id"]]
            assert hits, f"{login} cannot see their own ticket {ticket['id']}"
            seen_own += 1
            detail = admin.get(f"/issues/{hits[0]['id']}.json", {"include": "journals"}, as_user=login)["issue"]
            for journal in detail.get("journals", []):
                assert not journal.get("private_notes"), f"{login} sees a private note on {ticket['id']}"
                assert journal.get("notes", "") not in internal_texts
                for text in internal_texts:
                    assert text not in (journal.get("notes") or "")
        checked_clients += 1
    # the admin does see the private notes: the check above was not vacuous
    t9 = next(t for t in tickets if t["id"].endswith("T9"))
    issue = admin.get("/issues.json", {f"cf_{portal_field}": t9["id"], "status_id": "*"})["issues"][0]
    journals = admin.get(f"/issues/{issue['id']}.json", {"include": "journals"})["issue"]["journals"]
    assert sum(1 for j in journals if j.get("private_notes")) == sum(1 for c in t9["comments"] if c["internal"])
    assert checked_clients >= 2 and seen_own >= 2
    print(f"\n{checked_clients} impersonated clients saw {seen_own} own tickets, no other company, no private note")


# --- hostile strings stay data -----------------------------------------------------------------


def _replace_everywhere(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {_replace_everywhere(k, old, new): _replace_everywhere(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_everywhere(v, old, new) for v in node]
    return new if node == old else node


def _run_rolled_back(redmine: LocalRedmine, script: Path) -> subprocess.CompletedProcess[str]:
    """Run a script through `rails runner` inside a transaction that is always rolled back."""
    wrapper = (f"ActiveRecord::Base.transaction do\n  load {json.dumps(str(script))}\n"
               f"  raise ActiveRecord::Rollback\nend\n")
    return subprocess.run([str(Path(__file__).resolve().parents[2] / "scripts" / "redmine-local"), "runner", "-",
                           "--variant", redmine.variant], input=wrapper, text=True, capture_output=True, timeout=600)


def test_hostile_mappings_cannot_inject_into_the_provision_script(redmine_pg: LocalRedmine, tmp_path: Path,
                                                                  unique: str) -> None:
    marker = Path(f"/tmp/hd{unique[:6]}")  # short: names have a 30-character limit
    hostile = {  # each fits its field's length limit
        "Баг": f"#{{`touch {marker}a`}}",
        "В работе": f"\"; `touch {marker}b`; \"",
        "Клиент": f"'); system(\"touch {marker}c\"); ('",
        "Версия браузера": f"#{{`touch {marker}d`}}",
    }
    data = yaml.safe_load(bundled_mappings_text())
    for old, new in hostile.items():
        data = _replace_everywhere(data, old, new)
    data["support_group"] = f"Поддержка'; system('touch {marker}e'); #"
    data["trackers"][1]["description"] = f"<script>alert(1)</script> \"; `touch {marker}f` #{{`touch {marker}g`}}"
    mappings = tmp_path / "hostile.yaml"
    mappings.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")

    done = helpdesk(["--mappings", str(mappings), "provision", "--ruby"], helpdesk_env(redmine_pg))
    assert done.returncode == 0, done.stderr
    script = tmp_path / "provision.rb"
    script.write_text(done.stdout, "utf-8")
    for text in (*hostile.values(), "touch", str(marker)):
        assert text not in done.stdout  # no data in the code at all: it travels base64-encoded
    ran = _run_rolled_back(redmine_pg, script)
    assert ran.returncode == 0, ran.stderr[-3000:]
    summary = json.loads(ran.stdout.strip().splitlines()[-1])
    assert f"tracker {hostile['Баг']}" in summary["changed"]  # the hostile name arrived as data
    assert f"status {hostile['В работе']}" in summary["changed"]
    leftovers = sorted(str(p) for p in Path("/tmp").glob(f"{marker.name}*"))
    assert leftovers == [], f"code ran: {leftovers}"
    # rolled back: the shared Redmine did not keep the hostile tracker
    trackers = [t["name"] for t in redmine_pg.gateway().get("/trackers.json")["trackers"]]
    assert hostile["Баг"] not in trackers


def test_hostile_ledger_values_cannot_inject_into_the_fix_dates_script(redmine_pg: LocalRedmine, tmp_path: Path,
                                                                      unique: str) -> None:
    marker = Path(f"/tmp/hd-pwned-dates-{unique}")
    ledger = Ledger(tmp_path / "hostile.sqlite")
    missing = 2_000_000_000  # no such journal: its value is never even parsed
    ledger.record_dates("journal", missing, f"2024-01-01T00:00:00+03:00'); system('touch {marker}a'); ('")
    ledger.record_dates("journal", missing + 1, f"#{{`touch {marker}b`}}")
    ledger.close()
    done = helpdesk(["migrate", "fix-dates", "--ruby", "--state", str(tmp_path / "hostile.sqlite")],
                    helpdesk_env(redmine_pg))
    assert done.returncode == 0, done.stderr
    assert "touch" not in done.stdout
    script = tmp_path / "dates.rb"
    script.write_text(done.stdout, "utf-8")
    ran = _run_rolled_back(redmine_pg, script)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout.strip().splitlines()[-1]) == {"changed": 0}

    # a hostile date on an issue that exists is refused as a date, never run as code
    ledger = Ledger(tmp_path / "hostile2.sqlite")
    some_issue = redmine_pg.gateway().get("/issues.json", {"status_id": "*", "limit": 1})["issues"][0]["id"]
    ledger.record_dates("issue", int(some_issue), f"\"; `touch {marker}c`; \"", f"#{{`touch {marker}d`}}")
    ledger.close()
    done = helpdesk(["migrate", "fix-dates", "--ruby", "--state", str(tmp_path / "hostile2.sqlite")],
                    helpdesk_env(redmine_pg))
    script.write_text(done.stdout, "utf-8")
    ran = _run_rolled_back(redmine_pg, script)
    assert ran.returncode != 0 and "ArgumentError" in ran.stderr  # not an ISO 8601 time
    leftovers = sorted(str(p) for p in Path("/tmp").glob(f"{marker.name}*"))
    assert leftovers == [], f"code ran: {leftovers}"


HOSTILE_TEXT = "<script>alert('pwned')</script>"
HOSTILE_ATTR = "<img src=x onerror=alert(1)>"


def test_hostile_ticket_strings_stay_inert_in_the_plan_html(redmine_pg: LocalRedmine, tmp_path: Path,
                                                            unique: str) -> None:
    export = prefixed_export(tmp_path / "export", f"h{unique}", keep=("T1", "T2"))
    lines = (export / "tickets.jsonl").read_text("utf-8").splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first.update(subject=f"{HOSTILE_TEXT} \"); system(\"touch /tmp/pwned\") #{{1}}", priority=HOSTILE_TEXT,
                 status=HOSTILE_ATTR, reason=f"' OR 1=1 -- {HOSTILE_ATTR}")
    second["created_at"] = HOSTILE_ATTR  # a bad record whose reason quotes the hostile value
    hostile_line = '{"id": "' + HOSTILE_ATTR.replace('"', "") + '", "subject": "' + HOSTILE_TEXT
    (export / "tickets.jsonl").write_text("\n".join([json.dumps(first, ensure_ascii=False),
                                                     json.dumps(second, ensure_ascii=False), hostile_line]) + "\n",
                                          "utf-8")
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["counts"]["tickets"] = 3
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    page = tmp_path / "plan.html"
    done = helpdesk(["migrate", "plan", str(export), "--state", str(tmp_path / "s.sqlite"), "--html", str(page),
                     "--attachment-limit-kb", str(ATTACHMENT_LIMIT_KB)], helpdesk_env(redmine_pg))
    assert done.returncode == 3, done.stderr
    html = page.read_text("utf-8")
    for hostile in (HOSTILE_TEXT, HOSTILE_ATTR, "<img src=x", "onerror=alert(1)>", "<script>alert("):
        assert hostile not in html, f"{hostile!r} is live in the HTML report"
    assert "&lt;script&gt;alert(" in html or "\\u003cscript\\u003ealert(" in html  # shown, as text


def test_impersonated_client_sees_no_private_note_after_sweeps(redmine_pg: LocalRedmine, tmp_path: Path,
                                                               unique: str) -> None:
    world = build_sweep_world(redmine_pg, tmp_path, unique, issues=2)
    done = helpdesk(sweep_args(world, "run", tmp_path / "sweep-state"), helpdesk_env(redmine_pg))
    assert done.returncode in (0, 3), done.stderr[-2000:]
    admin = redmine_pg.gateway()
    private_texts = []
    for issue in world.in_scope:
        for journal in admin.get(f"/issues/{issue}.json", {"include": "journals"})["issue"]["journals"]:
            if journal.get("private_notes") and journal.get("notes"):
                private_texts.append(journal["notes"])
    assert private_texts, "the sweep wrote no private note: nothing to check"
    visible = list(admin.iterate("/issues.json", "issues", {"status_id": "*"}, as_user=world.client))
    assert set(world.in_scope) <= {i["id"] for i in visible}
    for issue in visible:
        for journal in admin.get(f"/issues/{issue['id']}.json", {"include": "journals"},
                                 as_user=world.client)["issue"]["journals"]:
            assert not journal.get("private_notes"), f"{world.client} sees a private note on {issue['id']}"
            assert journal.get("notes") not in private_texts
    print(f"\nafter sweeps: {len(private_texts)} private notes, none visible to the client")

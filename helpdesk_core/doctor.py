"""`helpdesk doctor`: does a live Redmine match mappings.yaml? Read-only.

Each check says what it looked at, whether it is fine, and how to fix it. Everything the
REST API exposes is checked; the workflow and text formatting are not exposed over REST, so
the doctor says so instead of pretending (provisioning is what sets them).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from helpdesk_core.catalog import Catalog
from helpdesk_core.errors import AuthError, ForbiddenError, RedmineError
from helpdesk_core.gateway import Gateway
from helpdesk_core.mail_preferences import REDMINE_LANGUAGE
from helpdesk_core.mappings import Mappings
from helpdesk_core.provision import NOTIFICATIONS_MARKER_FIELD
from helpdesk_core.ruby import ruby_script

PROVISION_FIX = "run `helpdesk provision --ruby > p.rb` and `rails runner p.rb` on the Redmine host"
Status = Literal["ok", "problem", "warning", "info"]


class Check(BaseModel):
    area: str
    subject: str
    status: Status
    detail: str = ""
    fix: str = ""


Mode = Literal["migration", "live", "unknown"]
MODES: dict[str, Mode] = {"off": "migration", "on": "live", "unknown": "unknown"}


Notifications = Literal["on", "off", "unknown"]
# Redmine's own email settings, read inside Redmine (the REST API does not expose them).
EMAIL_SETTINGS_RUBY = """require 'json'
events = Setting.notified_events.reject(&:blank?)
puts({"notified_events" => events, "delivery_method" => ActionMailer::Base.delivery_method.to_s,
      "default_language" => Setting.default_language.to_s,
      "account_languages" => User.where(type: 'User', admin: false).where.not(status: User::STATUS_LOCKED)
                                 .group(:language).count}.to_json)
"""
# Where the client role may write the migration's fields (a field permission is not exposed over REST):
# [field, tracker, status] for every pair without a read-only rule, and each tracker's first status.
CLIENT_LOCKS_RUBY = r"""
role = Role.find_by(name: PAYLOAD['client_role'])
open = []
firsts = {}
checked = []
Tracker.where(name: PAYLOAD['trackers']).each do |tracker|
  firsts[tracker.name] = tracker.default_status&.name
  IssueStatus.where(name: PAYLOAD['statuses']).each do |status|
    readonly = role.nil? ? [] : WorkflowPermission.where(role_id: role.id, tracker_id: tracker.id,
                                                         old_status_id: status.id, rule: 'readonly').pluck(:field_name)
    PAYLOAD['fields'].each do |name|
      key = name == 'tracker_id' ? name : IssueCustomField.find_by(name: name)&.id&.to_s
      next if key.nil?
      checked << name
      open << [name, tracker.name, status.name] unless readonly.include?(key)
    end
  end
end
puts({"client_writable" => open, "first_statuses" => firsts, "checked_fields" => checked.uniq}.to_json)
"""
RAILS_TIMEOUT_S = 300


class EmailSettings(BaseModel):
    """What Redmine itself says about email: `Setting.notified_events` and the delivery method."""

    notified_events: list[str]
    delivery_method: str = ""
    # Redmine's default language (accounts without their own speak it): provisioning sets Russian
    default_language: str = ""
    # language -> how many unlocked non-administrator accounts have it of their own ("": the default's)
    account_languages: dict[str, int] = {}
    # [field, tracker, status] where the client role may write a field of the migration (None: not read)
    client_writable: list[tuple[str, str, str]] | None = None
    first_statuses: dict[str, str | None] = {}
    checked_fields: list[str] = []

    @property
    def state(self) -> Notifications:
        return "on" if self.notified_events else "off"


def client_locks_payload(mappings: Mappings) -> dict[str, Any]:
    """What CLIENT_LOCKS_RUBY looks at: the client role, the `client: migration` fields and the tracker."""
    fields = [spec.name for spec in mappings.custom_fields.by_key().values() if spec.client == "migration"]
    return {"client_role": mappings.roles.client.name, "trackers": [t.name for t in mappings.trackers],
            "statuses": [s.name for s in mappings.statuses], "fields": [*fields, "tracker_id"]}


def read_email_settings(runner: list[str], mappings: Mappings | None = None) -> EmailSettings | str:
    """Redmine's email settings through `rails runner` (the command the administrator already uses),
    with `mappings` also where clients may write the migration's fields, or why they could not be
    read (one sentence, for the report)."""
    code = EMAIL_SETTINGS_RUBY
    if mappings is not None:
        code = ruby_script(EMAIL_SETTINGS_RUBY + CLIENT_LOCKS_RUBY, client_locks_payload(mappings))
    with tempfile.TemporaryDirectory(prefix="helpdesk-doctor-") as tmp:
        script = Path(tmp) / "email_settings.rb"
        script.write_text(code, encoding="utf-8")
        script.chmod(0o644)
        Path(tmp).chmod(0o755)  # the runner may switch user (sudo -u www-data)
        try:
            done = subprocess.run([*runner, str(script)], capture_output=True, text=True, timeout=RAILS_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the rails runner could not run ({type(exc).__name__})"
    if done.returncode != 0:
        return f"the rails runner failed (exit code {done.returncode})"
    found: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.update(value)
    try:
        return EmailSettings.model_validate(found)
    except ValueError:
        return "the rails runner printed no settings"


class DoctorResult(BaseModel):
    url: str
    checks: list[Check]
    notifications: Notifications = "unknown"
    # rails: read from Redmine's settings; marker: what the last provisioning run recorded
    notifications_source: Literal["rails", "marker"] = "marker"
    # migration: notifications off, nobody is emailed (migrate run allowed); live: clients are emailed
    mode: Mode = "unknown"

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == "problem"]


def _verdict(area: str, subject: str, problems: list[str], fix: str = PROVISION_FIX) -> Check:
    """ok when `problems` is empty, else one problem check listing them with the fix."""
    if not problems:
        return Check(area=area, subject=subject, status="ok")
    return Check(area=area, subject=subject, status="problem", detail="; ".join(problems), fix=fix)


def _enumeration_checks(area: str, wanted: list[str], live: dict[str, dict]) -> list[Check]:
    return [_verdict(area, name, [] if name in live else ["missing"]) for name in wanted]


def _check_connection(gateway: Gateway) -> Check:
    try:
        me = gateway.get("/users/current.json")["user"]
    except AuthError:
        return Check(area="connection", subject="API key", status="problem",
                     detail="401: the key is wrong or the REST API is disabled",
                     fix="enable Administration → Settings → API → REST, check REDMINE_API_KEY")
    except ForbiddenError:
        return Check(area="connection", subject="REST API", status="problem", detail="403 forbidden",
                     fix="enable the REST API (Setting.rest_api_enabled = '1')")
    if not me.get("admin"):
        return Check(area="connection", subject="API key", status="problem",
                     detail=f"the key belongs to '{me.get('login')}', who is not an administrator",
                     fix="use an administrator's API key (impersonation and provisioning need it)")
    return Check(area="connection", subject="API key", status="ok", detail=f"administrator {me.get('login')}")


def run_doctor(gateway: Gateway, mappings: Mappings, *, rails_runner: list[str] | None = None,
               expect: Mode | None = None) -> DoctorResult:
    """Every check, in the order an administrator would fix them. With `rails_runner`, Redmine's real
    email setting is read; with `expect`, a mode other than the one asked for is a problem."""
    checks = [_check_connection(gateway)]
    if checks[0].status == "problem":
        return DoctorResult(url=gateway.url, checks=checks)
    fields = Catalog.of(gateway).by_name("custom_fields")
    checks += _status_checks(gateway, mappings)
    checks += _tracker_checks(gateway, mappings)
    checks += _enumeration_checks_all(gateway, mappings)
    checks += _custom_field_checks(fields, mappings)
    checks += _recognition_field_checks(fields, mappings)
    checks += _role_checks(gateway, mappings)
    groups = set(Catalog.of(gateway).by_name("groups"))
    checks.append(_verdict("group", mappings.support_group, [] if mappings.support_group in groups else ["missing"]))
    checks.append(Check(area="workflow", subject="status transitions", status="info",
                        detail="not exposed by the REST API; provisioning sets them from mappings.yaml"))
    marker = _notifications_state_of(fields)
    state, source = marker, "marker"
    real = read_email_settings(rails_runner, mappings) if rails_runner else None
    if isinstance(real, EmailSettings):
        state, source = real.state, "rails"
        checks.append(_email_settings_check(real, marker))
        checks.append(_client_locks_check(real, MODES[state]))
        checks.append(_language_check(real))
        checks.append(_account_languages_check(real))
    else:
        checks.append(_notifications_check(fields))
        checks.append(Check(area="notifications", subject="Redmine's email settings", status="warning",
                            detail=real or "not read: the REST API does not expose them; the mode is the last "
                            "provisioning run's record",
                            fix="pass --rails-runner CMD (or HELPDESK_RAILS_RUNNER) to read Redmine's own settings"))
        checks.append(Check(area="language", subject="Redmine's default language", status="info",
                            detail="not read: the REST API does not expose it; provisioning sets Russian"))
    mode = MODES[state]
    checks.append(_mode_check(mode))
    if expect is not None and mode != expect:
        checks.append(Check(area="mode", subject="migration or live", status="problem",
                            detail=f"the mode is {mode}, not {expect} (--for)",
                            fix=MODE_FIX[expect]))
    return DoctorResult(url=gateway.url, checks=checks, notifications=state, notifications_source=source,
                        mode=mode)


MODE_FIX: dict[str, str] = {
    "migration": "switch email off: `helpdesk provision --ruby --notifications off > off.rb` and rails runner off.rb",
    "live": "switch email on: `helpdesk provision --ruby --notifications on > live.rb` and rails runner live.rb",
}


def _email_settings_check(real: EmailSettings, marker: Notifications) -> Check:
    """Redmine's real setting; a marker that says otherwise means someone changed it by hand."""
    detail = (f"ON in Redmine's settings ({len(real.notified_events)} events, delivery {real.delivery_method})"
              if real.state == "on" else "off in Redmine's settings (no notified events)")
    if marker in ("on", "off") and marker != real.state:
        return Check(area="notifications", subject="email notifications", status="problem",
                     detail=f"{detail}; changed by hand since the last provisioning run (it set {marker})",
                     fix="provision again with the --notifications you mean")
    return Check(area="notifications", subject="email notifications", status="ok", detail=detail)


def _client_locks_check(real: EmailSettings, mode: Mode) -> Check:
    """Live: no client may change the migration's fields (nor the tracker) in any status. Migration
    mode: the REST migration writes them as the client in the first status (provision.client_locked_when_live)."""
    subject = "fields of the migration for clients"
    writable = real.client_writable or []
    if mode == "live" and writable:
        names = sorted({_field_label(name) for name, _, _ in writable})
        return Check(area="workflow", subject=subject, status="problem",
                     detail=f"clients can change {', '.join(names)} in a live tracker", fix=MODE_FIX["live"])
    if mode == "migration":
        open_pairs = {tuple(w) for w in writable}
        shut = sorted({_field_label(name) for name in real.checked_fields if name != "tracker_id"
                       for tracker, first in real.first_statuses.items() if (name, tracker, first) not in open_pairs})
        if shut:
            return Check(area="workflow", subject=subject, status="problem",
                         detail=f"the migration cannot write {', '.join(shut)} as the client: locked",
                         fix=MODE_FIX["migration"])
        return Check(area="workflow", subject=subject, status="ok",
                     detail="writable by clients in the first status until go-live")
    return Check(area="workflow", subject=subject, status="ok", detail="locked for clients in every status")


def _language_check(real: EmailSettings) -> Check:
    """Redmine's default language: what clients read in it (pages, emails, CSV) when their account
    has no language of its own; anything but Russian is a problem (regulation: clients read Russian)."""
    subject = "Redmine's default language"
    if real.default_language == REDMINE_LANGUAGE:
        return Check(area="language", subject=subject, status="ok", detail="Russian")
    return Check(area="language", subject=subject, status="problem",
                 detail=f"{real.default_language or 'none'}, not Russian: clients read pages and emails in it",
                 fix=PROVISION_FIX)


def _account_languages_check(real: EmailSettings) -> Check:
    """Accounts with another language of their own: Redmine stores its default of the moment in every
    account it makes, so one made before provisioning set Russian keeps English whatever the default."""
    subject = "accounts' own language"
    others = sum(n for language, n in real.account_languages.items() if language not in ("", REDMINE_LANGUAGE))
    if not others:
        return Check(area="language", subject=subject, status="ok", detail="Russian or the default")
    detail = f"{others} accounts (not administrators) read pages and emails in another language of their own"
    fix = "set Russian where it was not the person's choice: Administration → Users → the account → Language"
    return Check(area="language", subject=subject, status="warning", detail=detail, fix=fix)


def _field_label(name: str) -> str:
    return "«Трекер»" if name == "tracker_id" else f"«{name}»"


def _status_checks(gateway: Gateway, mappings: Mappings) -> list[Check]:
    statuses = Catalog.of(gateway).by_name("statuses")
    checks = []
    for spec in mappings.statuses:
        live = statuses.get(spec.name)
        if live is None:
            problems = ["missing"]
        else:
            closed = bool(live.get("is_closed"))
            problems = [] if closed == spec.closed else [f"is_closed is {closed}, want {spec.closed}"]
        checks.append(_verdict("status", spec.name, problems))
    return checks


def _tracker_checks(gateway: Gateway, mappings: Mappings) -> list[Check]:
    trackers = Catalog.of(gateway).by_name("trackers")
    checks = []
    for spec in mappings.trackers:
        live = trackers.get(spec.name)
        default = (live or {}).get("default_status", {}).get("name")
        if live is None:
            problems = ["missing"]
        else:
            problems = [] if default == spec.default_status else [
                f"default status is {default}, want {spec.default_status}"]
        checks.append(_verdict("tracker", spec.name, problems))
    return checks


def _enumeration_checks_all(gateway: Gateway, mappings: Mappings) -> list[Check]:
    """Priorities (and which one is the default) and time-entry activities."""
    priorities = Catalog.of(gateway).by_name("priorities")
    checks = _enumeration_checks("priority", [p.name for p in mappings.priorities], priorities)
    default = next((n for n, p in priorities.items() if p.get("is_default")), None)
    if default != mappings.default_priority:
        checks.append(_verdict("priority", "default", [f"default is {default}, want {mappings.default_priority}"]))
    activities = Catalog.of(gateway).by_name("activities")
    return checks + _enumeration_checks("activity", [a.name for a in mappings.time_entry_activities], activities)


def _recognition_field_checks(fields: dict[str, dict[str, Any]], mappings: Mappings) -> list[Check]:
    """The project, user and time entry fields by which the migration recognises companies, its own
    accounts and the hours it logged (the time entry field must stay out of clients' sight)."""
    wanted = [("project", spec) for spec in mappings.project_custom_fields.by_key().values()]
    wanted += [("user", spec) for spec in mappings.user_custom_fields.by_key().values()]
    wanted += [("time_entry", spec) for spec in mappings.time_entry_custom_fields.by_key().values()]
    checks = []
    for customized, spec in wanted:
        live = fields.get(spec.name)
        if live is None:
            problems = ["missing"]
        elif live.get("customized_type") != customized:
            problems = [f"a {live.get('customized_type')} field (want a {customized} field)"]
        elif customized == "time_entry" and live.get("visible", True):
            problems = ["visible to every role (clients would read the portal ids)"]
        else:
            problems = []
        checks.append(_verdict("custom field", spec.name, problems))
    return checks


def _custom_field_checks(fields: dict[str, dict[str, Any]], mappings: Mappings) -> list[Check]:
    checks = []
    for spec in mappings.custom_fields.by_key().values():
        live = fields.get(spec.name)
        if live is None:
            checks.append(_verdict("custom field", spec.name, ["missing"]))
            continue
        wrong = []
        if live.get("field_format") != spec.format:
            wrong.append(f"format {live.get('field_format')} (want {spec.format})")
        if spec.filter and not live.get("is_filter"):
            wrong.append("not usable as a filter")
        if spec.searchable and not live.get("searchable"):
            wrong.append("not searchable")
        live_trackers = {t.get("name") for t in live.get("trackers", [])}
        if missing := [t.name for t in mappings.trackers if t.name not in live_trackers]:
            wrong.append(f"not enabled for {', '.join(missing)}")
        checks.append(_verdict("custom field", spec.name, wrong))
    return checks


def _role_checks(gateway: Gateway, mappings: Mappings) -> list[Check]:
    """The client and support roles: permissions exactly as mapped, clients never see private notes."""
    roles = Catalog.of(gateway).by_name("roles")
    checks = []
    for key in ("client", "support"):
        spec = getattr(mappings.roles, key)
        if spec.name not in roles:
            checks.append(_verdict("role", spec.name, ["missing"]))
            continue
        live = gateway.get(f"/roles/{roles[spec.name]['id']}.json")["role"]
        have = set(live.get("permissions", []))
        wrong = []
        if missing := sorted(set(spec.permissions) - have):
            wrong.append(f"lacks {', '.join(missing)}")
        if extra := sorted(have - set(spec.permissions)):
            wrong.append(f"also has {', '.join(extra)}")
        if live.get("issues_visibility") != spec.issues_visibility:
            wrong.append(f"issues visibility {live.get('issues_visibility')} (want {spec.issues_visibility})")
        if key == "client" and "view_private_notes" in have:
            wrong.append("clients can read private notes")
        checks.append(_verdict("role", spec.name, wrong))
    return checks


def _notifications_state_of(fields: dict[str, dict[str, Any]]) -> Literal["on", "off", "unknown"]:
    """What the last provisioning run recorded (a marker custom field's default value)."""
    value = (fields.get(NOTIFICATIONS_MARKER_FIELD) or {}).get("default_value")
    return value if value in ("on", "off") else "unknown"


def _notifications_check(fields: dict[str, dict[str, Any]]) -> Check:
    state = _notifications_state_of(fields)
    return Check(
        area="notifications", subject="email notifications", status="warning" if state != "off" else "ok",
        detail={"on": "ON: a migration would email every client",
                "off": "off (as recorded by the last provisioning run)",
                "unknown": "unknown: never provisioned by helpdesk"}[state],
        fix="" if state == "off" else "provision with --notifications off before migrating")


def _mode_check(mode: Mode) -> Check:
    """Migration mode or live: the regulation's emails to clients only flow when live."""
    detail = {
        "migration": "migration mode: nobody is emailed; after migrate, fix-dates and verify, go live with "
                     "`helpdesk provision --ruby --notifications on` (README: runbook)",
        "live": "live: clients are emailed when support answers and when a ticket is created; "
                "switch to migration mode (--notifications off) before another migrate run",
        "unknown": "unknown: never provisioned by helpdesk",
    }[mode]
    return Check(area="mode", subject="migration or live", status="warning" if mode == "unknown" else "info",
                 detail=detail, fix=PROVISION_FIX if mode == "unknown" else "")


def notifications_state(gateway: Gateway) -> Literal["on", "off", "unknown"]:
    """What the last provisioning run recorded about Setting.notified_events."""
    try:
        fields = Catalog.of(gateway).by_name("custom_fields")
    except RedmineError:
        return "unknown"
    return _notifications_state_of(fields)

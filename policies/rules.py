"""The regulation's rules, one registered class each.

Each rule names its candidates as server-side filters (`queries`), may drop candidates on
list data alone (`wants`, so no journal GET), and decides on one issue with its journals
(`evaluate`). Exactly-once lives in Redmine: every note carries `marker(rule, fingerprint)`,
and a rule that finds its marker for the same fingerprint plans nothing (or only a report).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from helpdesk_core.catalog import Catalog
from helpdesk_core.clock import MOSCOW
from helpdesk_core.errors import ConfigError
from policies.actions import Action, ActionKind
from policies.calendar import SlaResult, SlaState, pause_intervals
from policies.context import RuleContext
from policies.issues import IssueView, Journal, Summary, marker
from policies.registry import Params, Query, Rule, register
from policies.text_audits import (
    Attachment,
    Finding,
    TicketText,
    audit_completeness,
    audit_delay_complaint,
    audit_priority,
    audit_tone,
)


def _fmt(moment: datetime) -> str:
    """Times in reasons and client-facing texts: Moscow time, the regulation's clock."""
    return moment.astimezone(MOSCOW).isoformat(timespec="minutes")


def _date(moment: datetime) -> str:
    """A date for client-facing texts: 01.10.2026 (Moscow)."""
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y")


def _age(ctx: RuleContext, moment: datetime) -> timedelta:
    return ctx.now - moment


def _days(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 86400:.1f} d"


def whole_days(delta: timedelta) -> int:
    """Full days in `delta` (a text that says "7 дней" never rounds 6.9 days up)."""
    return max(0, int(delta.total_seconds() // 86400))


def days_ru(count: int) -> str:
    """«1 день», «2 дня», «5 дней», «11 дней», «21 день»: the number with its Russian noun."""
    tens, units = count % 100, count % 10
    word = "дней" if 11 <= tens <= 14 else "день" if units == 1 else "дня" if 2 <= units <= 4 else "дней"
    return f"{count} {word}"


def _day_values(ctx: RuleContext, moment: datetime) -> dict[str, object]:
    """Template values for "how long": `{days}` (a number) and `{days_text}` («7 дней»), the
    real time since `moment`, not the configured threshold."""
    days = whole_days(_age(ctx, moment))
    return {"days": days, "days_text": days_ru(days)}


def _act(ctx: RuleContext, issue: IssueView | Summary, kind: ActionKind, reason: str,
         **values: object) -> Action:
    summary = issue.summary if isinstance(issue, IssueView) else issue
    return Action(rule=ctx.rule.id, issue=summary.id, action=kind, reason=reason,
                  expect_updated_on=summary.raw_updated_on, expect_status=summary.status.name,
                  **values)  # type: ignore[arg-type]


def _with_marker(text: str, tag: str) -> str:
    return f"{text.rstrip()}\n\n{tag}"


def _client_comments_after(ctx: RuleContext, issue: IssueView, moment: datetime) -> list[Journal]:
    return [j for j in issue.journals
            if j.created_on > moment and ctx.directory.is_client_comment(j, issue)]


def _status_queries(ctx: RuleContext, *names: str) -> list[Query]:
    """One list per status, no date filter: the reply/reminder/close rules ask the same
    questions, so the engine makes each list request once and one detail GET per issue.
    No `updated_on` filter on purpose: a private note or a field edit moves `updated_on`
    but not the regulation's clock (support's question, the reminder, the status change)."""
    return [Query(statuses=(name,)) for name in names]


class AgeParams(Params):
    after_days: float = Field(5, gt=0, description="days without an answer before the rule fires")


class LookbackParams(Params):
    lookback_days: float = Field(30, gt=0, description="only issues updated this recently are candidates")


# --- feedback ------------------------------------------------------------------------------

@register("feedback-reminder")
class FeedbackReminder(Rule):
    """«Требует обратной связи», newest public comment is support's and ≥ after_days old, no
    reminder since: post the reminder. Fingerprint: the journal the reminder answers.
    The clock starts at support's question (or the status change); private notes and field
    edits do not move it. `{days}`/`{days_text}`: the real days waited; `{close_in}`: when
    feedback-autoclose will close («5 дней»).

    YAML:
        feedback-reminder:
          scope: {projects: "*", trackers: "*"}
          params: {after_days: 5}
          actions: [comment]
          templates: {comment: "Напоминаем: ... уже {days_text} ... в течение {close_in} ..."}
    """

    Params = AgeParams
    actions = ("comment",)
    templates = ("comment",)
    client_facing = True
    reminds = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        return _status_queries(ctx, ctx.settings.statuses.feedback)

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        feedback = ctx.settings.statuses.feedback
        entered = issue.entered({feedback})
        if issue.status != feedback or entered is None:
            return []
        anchor_time, anchor_id = entered[0], entered[1] or 0
        # the API user's unattributed notes (migration fallbacks) are neither side: skipped
        public = [j for j in issue.journals if j.created_on >= anchor_time and (
            ctx.directory.is_support_comment(j, issue) or ctx.directory.is_client_comment(j, issue))]
        if public:
            last = public[-1]
            if not ctx.directory.is_support_comment(last, issue):
                return []  # the client answered: client-reply-resume's business
            if any(rule == self.id for rule, _ in last.markers()):
                return []  # the newest comment is our reminder
            anchor_time, anchor_id = last.created_on, last.id
        if issue.markers_of(self.id) and any(j.created_on >= anchor_time for j, _ in issue.markers_of(self.id)):
            return []
        age = _age(ctx, anchor_time)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, anchor_id)
        close = ctx.peer_params("feedback-autoclose")
        close_days = max(close.after_days if close is not None else 0, ctx.settings.close_after_reminder_days)
        text = ctx.render("comment", issue=issue.id, since=_fmt(anchor_time), asked=_date(anchor_time),
                          close_in=days_ru(int(close_days)), **_day_values(ctx, anchor_time))
        return [_act(ctx, issue, "comment", f"waiting for the client since {_fmt(anchor_time)} "
                     f"({_days(age)} ≥ {ctx.params.after_days:g} d), no reminder yet",
                     marker=tag, notes=_with_marker(text, tag), times={"since": _fmt(anchor_time)})]


@register("feedback-autoclose")
class FeedbackAutoclose(Rule):
    """A reminder ≥ after_days old, no client comment since, status unchanged: close.
    `{days}`/`{days_text}`: the real days since the reminder; `{reminded}`: its date.

    YAML:
        feedback-autoclose:
          params: {after_days: 5}
          actions: [close]
          templates: {comment: "Закрываем обращение ..."}
    """

    Params = AgeParams
    actions = ("close",)
    templates = ("comment",)
    client_facing = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        return _status_queries(ctx, ctx.settings.statuses.feedback)

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        if issue.status != ctx.settings.statuses.feedback:
            return []
        reminders = issue.markers_of(FeedbackReminder.id)
        if not reminders:
            return []
        reminder = reminders[-1][0]
        if any(c.at > reminder.created_on for c in issue.status_changes()):
            return []
        if _client_comments_after(ctx, issue, reminder.created_on):
            return []
        age = _age(ctx, reminder.created_on)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, reminder.id)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, reminded=_date(reminder.created_on),
                          **_day_values(ctx, reminder.created_on))
        return [_act(ctx, issue, "close", f"reminder #{reminder.id} of {_fmt(reminder.created_on)} unanswered "
                     f"for {_days(age)}", marker=tag, notes=_with_marker(text, tag),
                     status=ctx.settings.statuses.closed, times={"reminded": _fmt(reminder.created_on)})]


@register("verification-autoclose")
class VerificationAutoclose(Rule):
    """«Решено, требует проверки» for ≥ after_days and no client comment since the status was
    entered: close. A client comment (a remark, "not fixed", even "thanks") is never followed
    by this close: client-reply-resume puts the issue back to «В работе» and support decides.
    `{days}`/`{days_text}`: the real days since the status was set.

    YAML:
        verification-autoclose:
          params: {after_days: 5}
          actions: [close]
          templates: {comment: "Обращение закрыто ..."}
    """

    Params = AgeParams
    actions = ("close",)
    templates = ("comment",)
    client_facing = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        return _status_queries(ctx, ctx.settings.statuses.verification)

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        status = ctx.settings.statuses.verification
        entered = issue.entered({status})
        if issue.status != status or entered is None:
            return []
        anchor = entered[0]
        if _client_comments_after(ctx, issue, anchor):
            return []  # the client said something: not "no remarks"
        age = _age(ctx, anchor)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, entered[1] or 0)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, since=_date(anchor), **_day_values(ctx, anchor))
        return [_act(ctx, issue, "close", f"awaiting verification since {_fmt(anchor)} ({_days(age)}), "
                     "no client comment since", marker=tag, notes=_with_marker(text, tag),
                     status=ctx.settings.statuses.closed, times={"since": _fmt(anchor)})]


class StaleParams(Params):
    after_days: float = Field(365, gt=0, description="age of the issue (days since creation)")
    wait_days: float = Field(5, ge=0, description="days the request for an update stayed unanswered")


@register("stale-year-close")
class StaleYearClose(Rule):
    """Open, created ≥ after_days ago, support asked for an update (the issue went to
    «Требует обратной связи»), the request stayed in that status ≥ wait_days and the client
    has not commented since it was made: close. `{created}`, `{age_text}` («412 дней»),
    `{asked}`: what happened, nothing more.

    YAML:
        stale-year-close:
          params: {after_days: 365, wait_days: 5}
          actions: [close]
          templates: {comment: "Обращение создано {created} ... {asked} ... без ответа ..."}
    """

    Params = StaleParams
    actions = ("close",)
    templates = ("comment",)
    client_facing = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        return [Query(status_id="open", created_before_days=ctx.params.after_days)]

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        feedback = ctx.settings.statuses.feedback
        entered = issue.entered({feedback})
        if entered is None or issue.status in (ctx.closed_statuses or {ctx.settings.statuses.closed}):
            return []
        created = issue.summary.created_on
        if _age(ctx, created) < timedelta(days=ctx.params.after_days):
            return []
        left = next((c.at for c in issue.status_changes() if c.at > entered[0] and c.old == feedback), None)
        stayed = (left or ctx.now) - entered[0]
        if stayed < timedelta(days=ctx.params.wait_days):
            return []  # support took the request back before the client had its time
        if _client_comments_after(ctx, issue, entered[0]):
            return []
        tag = marker(self.id, issue.id)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, created=_date(created),
                          age_text=days_ru(whole_days(_age(ctx, created))), asked=_date(entered[0]))
        return [_act(ctx, issue, "close", f"created {_fmt(created)}, asked for an update {_fmt(entered[0])}, "
                     f"unanswered in «{feedback}» for {_days(stayed)}, no client comment since", marker=tag,
                     notes=_with_marker(text, tag), status=ctx.settings.statuses.closed,
                     times={"created": _fmt(created), "asked": _fmt(entered[0])})]


# --- client replies ------------------------------------------------------------------------

class ResumeParams(Params):
    lookback_days: float | None = Field(
        None, gt=0, description="only issues updated this recently (null: every issue waiting for the client)")


@register("client-reply-resume")
class ClientReplyResume(Rule):
    """A client comment after the issue went to «Требует обратной связи» or to «Решено,
    требует проверки» (the client says it is not fixed): set «В работе» with a private note.
    The comment itself cancels pending reminders and closes (they look for it).

    YAML:
        client-reply-resume:
          params: {lookback_days: null}
          actions: [set-status]
          templates: {note: "Клиент ответил ..."}   # private note for staff
    """

    Params = ResumeParams
    actions = ("set-status",)
    templates = ("note",)

    def queries(self, ctx: RuleContext) -> list[Query]:
        statuses = (ctx.settings.statuses.feedback, ctx.settings.statuses.verification)
        if ctx.params.lookback_days is None:
            return _status_queries(ctx, *statuses)
        return [Query(statuses=(s,), updated_after_days=ctx.params.lookback_days) for s in statuses]

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        waiting = {ctx.settings.statuses.feedback, ctx.settings.statuses.verification}
        if issue.status not in waiting:
            return []
        entered = issue.entered({issue.status})
        if entered is None:
            return []
        replies = _client_comments_after(ctx, issue, entered[0])
        if not replies:
            return []
        tag = marker(self.id, replies[0].id)
        if issue.has_marker(tag):
            return []
        target = ctx.settings.statuses.in_progress
        text = ctx.render("note", issue=issue.id, status=target, journal=replies[0].id, previous=issue.status)
        return [_act(ctx, issue, "set-status", f"client comment #{replies[0].id} of "
                     f"{_fmt(replies[0].created_on)} after «{issue.status}» of {_fmt(entered[0])}",
                     marker=tag, notes=_with_marker(text, tag), private=True, status=target)]


@register("closed-reply-redirect")
class ClosedReplyRedirect(Rule):
    """A client comment on a closed issue: one polite comment that a new request is needed;
    the issue stays closed. Once per closing.

    YAML:
        closed-reply-redirect:
          params: {lookback_days: 30}
          actions: [comment]
          templates: {comment: "Это обращение закрыто ... создайте новое"}
    """

    Params = LookbackParams
    actions = ("comment",)
    templates = ("comment",)
    client_facing = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        return [Query(status_id="closed", updated_after_days=ctx.params.lookback_days)]

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        closed_names = ctx.closed_statuses or {ctx.settings.statuses.closed}
        if issue.status not in closed_names:
            return []
        entered = issue.entered(set(closed_names))
        if entered is None:
            return []
        replies = _client_comments_after(ctx, issue, entered[0])
        if not replies:
            return []
        tag = marker(self.id, entered[1] or 0)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id)
        return [_act(ctx, issue, "comment", f"client comment #{replies[0].id} on an issue closed "
                     f"{_fmt(entered[0])}", marker=tag, notes=_with_marker(text, tag))]


# --- SLA -----------------------------------------------------------------------------------

class SlaParams(Params):
    lookback_days: float = Field(30, gt=0, description="only issues created this recently")
    watchers: list[int] = Field(default_factory=list, description="user ids added by the `watch` action")
    report_at_risk: bool = True


class AnalysisParams(SlaParams):
    stop_statuses: list[str] = Field(
        default_factory=lambda: ["Решено, требует проверки", "Закрыто", "Отклонено"],
        description="reaching one of these ends the first analysis")


class _SlaRule(Rule):
    Params = SlaParams
    actions = ("note", "watch", "flag")
    templates = ("note",)
    clock: Literal["reaction", "analysis"] = "reaction"

    def _result(self, ctx: RuleContext, summary: Summary, pauses: tuple = ()) -> SlaResult | None:
        """The clock of one issue; a priority without a budget (an inactive one that
        engine.check_sla_budgets could not see) is a configuration error, never "no SLA"."""
        try:
            ctx.settings.sla.target(self.clock, summary.priority.name)
        except ValueError as exc:
            raise ConfigError(f"issue #{summary.id}: {exc}; add settings.sla.{self.clock}."
                              f"{summary.priority.name} or settings.sla.{self.clock}_fallback",
                              key=f"settings.sla.{self.clock}") from None
        return ctx.settings.sla.evaluate(self.clock, summary.priority.name,
                                         calendar=ctx.settings.calendar.calendar(),
                                         start=summary.created_on, now=ctx.now, pauses=pauses)

    def _flagged(self, ctx: RuleContext, result: SlaResult | None) -> bool:
        if result is None:
            return False
        return result.state is SlaState.BREACHED or (
            result.state is SlaState.AT_RISK and ctx.params.report_at_risk)

    def _actions(self, ctx: RuleContext, issue: IssueView, result: SlaResult,
                 watchers: set[int]) -> list[Action]:
        state = result.state.value
        reason = (f"{self.clock} SLA {state}: {issue.summary.priority.name}, started "
                  f"{_fmt(result.start)}, deadline {_fmt(result.deadline)}, used {result.used_share:.0%}")
        common = {"sla": state, "deadline": result.deadline.isoformat(),
                  "times": {"start": result.start.isoformat(), "deadline": result.deadline.isoformat(),
                            "used_share": str(result.used_share)}}
        tag = marker(self.id, state)
        out: list[Action] = []
        done = issue.has_marker(tag)
        new_watchers = tuple(u for u in ctx.params.watchers if u not in watchers)
        if "watch" in ctx.rule.actions and new_watchers and not done:
            out.append(_act(ctx, issue, "watch", reason, users=new_watchers, **common))
        if "note" in ctx.rule.actions and not done:
            text = ctx.render("note", issue=issue.id, state=state, deadline=_fmt(result.deadline),
                              priority=issue.summary.priority.name, clock=self.clock)
            out.append(_act(ctx, issue, "note", reason, marker=tag, notes=_with_marker(text, tag),
                            private=True, **common))
        if not out:
            out.append(_act(ctx, issue, "flag", reason + (" (already noted)" if done else ""), **common))
        return out


@register("sla-reaction")
class SlaReaction(_SlaRule):
    """«На рассмотрении» must be left within the reaction budget (settings.sla.reaction:
    Блокер/Критический 15 min 24/7, others 1 working hour). Reports at-risk and breached.

    YAML:
        sla-reaction:
          params: {lookback_days: 30, watchers: [], report_at_risk: true}
          actions: [note]          # note | watch | flag (report only)
          templates: {note: "SLA реакции: {state}, срок {deadline}"}
    """

    clock = "reaction"

    def queries(self, ctx: RuleContext) -> list[Query]:
        return [Query(statuses=(ctx.settings.sla.reaction_status,), created_after_days=ctx.params.lookback_days)]

    def wants(self, ctx: RuleContext, summary: Summary) -> bool:
        return summary.status.name == ctx.settings.sla.reaction_status and self._flagged(
            ctx, self._result(ctx, summary))

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        result = self._result(ctx, issue.summary)
        if not self.wants(ctx, issue.summary) or result is None:
            return []
        return self._actions(ctx, issue, result, ctx.watchers_of(issue))


@register("sla-analysis")
class SlaAnalysis(_SlaRule):
    """First analysis within the budget (settings.sla.analysis: Высокий 1, Средний 3, Низкий 5
    working days, Блокер/Критический 4 h 24/7); time in «Требует обратной связи» pauses it;
    reaching a stop status ends it.

    YAML:
        sla-analysis:
          params: {lookback_days: 30, stop_statuses: ["Решено, требует проверки", Закрыто, Отклонено]}
          actions: [note]
          templates: {note: "SLA анализа: {state}, срок {deadline}"}
    """

    Params = AnalysisParams
    clock = "analysis"

    def queries(self, ctx: RuleContext) -> list[Query]:
        return [Query(status_id="open", created_after_days=ctx.params.lookback_days)]

    def wants(self, ctx: RuleContext, summary: Summary) -> bool:
        # Pauses only move the deadline later: not flagged without them means not flagged at all.
        return summary.status.name not in ctx.params.stop_statuses and self._flagged(
            ctx, self._result(ctx, summary))

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        history = issue.status_history()
        if any(status in ctx.params.stop_statuses for _, status in history):
            return []
        pauses = tuple(pause_intervals(history, ctx.settings.sla.analysis_pause_statuses, ctx.now))
        result = self._result(ctx, issue.summary, pauses)
        if not self._flagged(ctx, result) or result is None:
            return []
        return self._actions(ctx, issue, result, ctx.watchers_of(issue))


# --- text audits ---------------------------------------------------------------------------

class AuditParams(Params):
    lookback_days: float = Field(14, gt=0, description="only issues created this recently")
    statuses: list[str] = Field(default_factory=lambda: ["На рассмотрении", "В работе"],
                                description="statuses whose issues are audited")


def _ticket(ctx: RuleContext, issue: IssueView) -> TicketText:
    summary = issue.summary
    fields = {str(f.get("name")): f.get("value") for f in summary.custom_fields if f.get("name")}
    return TicketText(subject=summary.subject, description=summary.description, tracker=summary.tracker.name,
                      priority=summary.priority.name,
                      attachments=[Attachment(filename=a.filename, content_type=a.content_type)
                                   for a in issue.attachments],
                      custom_fields={k: v if isinstance(v, str | list) or v is None else str(v)
                                     for k, v in fields.items()},
                      client_comments=[j.text for j in issue.journals if ctx.directory.is_client_comment(j, issue)])


class _AuditRule(Rule):
    Params = AuditParams
    actions = ("flag", "note")
    templates = ("note",)

    def queries(self, ctx: RuleContext) -> list[Query]:
        return [Query(statuses=tuple(ctx.params.statuses), created_after_days=ctx.params.lookback_days)]

    def _client_author(self, ctx: RuleContext, issue: IssueView) -> bool:
        """Audit only clients' tickets: not support's, not the API user's (migration fallbacks)."""
        return ctx.directory.is_client(issue.summary.author.id, issue.summary.project.id)

    def _report(self, ctx: RuleContext, issue: IssueView, finding: Finding, fingerprint: object,
                extra: dict[str, object] | None = None) -> list[Action]:
        tag = marker(self.id, fingerprint)
        reason = finding.summary
        out: list[Action] = []
        if "note" in ctx.rule.actions and not issue.has_marker(tag):
            text = ctx.render("note", issue=issue.id, summary=finding.summary,
                              evidence="\n".join(f"- {e}" for e in finding.evidence), **(extra or {}))
            out.append(_act(ctx, issue, "note", reason, marker=tag, notes=_with_marker(text, tag),
                            private=True, evidence=tuple(finding.evidence)))
        if not out:
            out.append(_act(ctx, issue, "flag", reason, evidence=tuple(finding.evidence)))
        return out


@register("priority-audit")
class PriorityAudit(_AuditRule):
    """A priority that does not fit the regulation's definitions (phrase sets in
    audit_rules.yaml): flag with evidence and a suggested priority; optionally a private note.

    YAML:
        priority-audit:
          params: {lookback_days: 14}
          actions: [flag]            # flag | note
          templates: {note: "Проверьте приоритет: {summary}\\n{evidence}"}
    """

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        if ctx.audit is None or not self._client_author(ctx, issue):
            return []
        finding = audit_priority(_ticket(ctx, issue), ctx.audit)
        if finding is None:
            return []
        actions = self._report(ctx, issue, finding, f"{issue.id}-{finding.suggested}",
                               {"suggested": finding.suggested})
        return [replace(a, times={"suggested": finding.suggested}) for a in actions]


class CompletenessParams(AuditParams):
    ask_status: str = Field("Требует обратной связи", description="status set by the `ask` action")


@register("completeness-audit")
class CompletenessAudit(_AuditRule):
    """Data the regulation requires is missing (order numbers, account, link, browser for a
    display bug, GDS screenshots): flag; optionally (`ask`, off by default) ask the client
    once and set «Требует обратной связи».

    YAML:
        completeness-audit:
          params: {lookback_days: 14}
          actions: [flag]            # flag | note | ask
          templates: {note: "...", ask: "Пожалуйста, дополните обращение:\\n{missing}"}
    """

    Params = CompletenessParams
    actions = ("flag", "note", "ask")
    templates = ("note", "ask")

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        if ctx.audit is None or not self._client_author(ctx, issue):
            return []
        finding = audit_completeness(_ticket(ctx, issue), ctx.audit)
        if finding is None:
            return []
        missing = "\n".join(f"- {m.label}" for m in finding.missing)
        if "ask" in ctx.rule.actions:
            tag = marker(self.id, f"ask-{issue.id}")
            if issue.has_marker(tag):
                return [_act(ctx, issue, "flag", finding.summary + " (already asked)",
                             evidence=tuple(finding.evidence))]
            text = ctx.render("ask", issue=issue.id, missing=missing)
            return [_act(ctx, issue, "set-status", finding.summary, marker=tag, notes=_with_marker(text, tag),
                         status=ctx.params.ask_status, evidence=tuple(finding.evidence))]
        return self._report(ctx, issue, finding, issue.id, {"missing": missing})


@register("tone-audit")
class ToneAudit(_AuditRule):
    """Shouting (mostly capitals, runs of «!!!») in the ticket or a client comment: flagged
    for staff, never answered automatically.

    YAML:
        tone-audit:
          params: {lookback_days: 14}
          actions: [flag]            # flag | note (private)
          templates: {note: "Повышенный тон: {summary}"}
    """

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        if ctx.audit is None:
            return []
        out: list[Action] = []
        if self._client_author(ctx, issue):
            finding = audit_tone(issue.summary.subject + "\n" + issue.summary.description, ctx.audit)
            if finding is not None:
                out += self._report(ctx, issue, finding, f"{issue.id}-d")
        for journal in issue.journals:
            if ctx.directory.is_client_comment(journal, issue):
                finding = audit_tone(journal.text, ctx.audit)
                if finding is not None:
                    out += self._report(ctx, issue, finding, journal.id)
        return out


class DelayParams(Params):
    lookback_days: float = Field(2, gt=0, description="complaints written this recently")
    lead: int | None = Field(None, description="user or group id made a watcher (`watch`) when the issue has "
                             "no assignee; none: the support group (settings.support.group)")
    watchers: list[int] = Field(default_factory=list, description="further user ids added by `watch` on "
                                "every escalation")
    assignee: int | None = Field(None, description="user id set by `assign` when the issue has no assignee")


def _field(issue: IssueView, name: str) -> dict[str, object] | None:
    return next((f for f in issue.summary.custom_fields if f.get("name") == name), None)


@register("delay-complaint")
class DelayComplaint(Rule):
    """The client (the author or a colleague of the company) pressed «Пожаловаться на задержку»
    (ticked the boolean field `settings.complaints.button`) or complained about a delay in a
    comment: escalate to a person. Every press is counted: one write adds one to
    `settings.complaints.counter` («Жалобы на задержку», where migrated complaints are already
    counted) and clears the button, so one press is one complaint, whatever the number of runs.

    An escalation is a private note that Redmine emails to a person: the issue's assignee
    (Redmine mails the assignee of every journal), else — the issue has nobody — the note's
    journal goes to a watcher added first (`watch`): `params.lead`, or the support group. At
    most one escalation per issue per working day (the day of the support calendar a moment
    falls in, or the next one outside working hours): a later press that day is only counted,
    a later complaint in words only reported.

    YAML:
        delay-complaint:
          params: {lookback_days: 2, lead: null, watchers: [], assignee: null}
          actions: [note, watch]     # note | watch | assign | flag
          templates: {note: "Жалоба клиента на задержку: {summary}\\n{evidence}\\nПолучатель: {recipient}."}
    """

    Params = DelayParams
    actions = ("note", "watch", "assign", "flag")
    templates = ("note",)

    def queries(self, ctx: RuleContext) -> list[Query]:
        button = ctx.settings.complaints.button
        return [Query(status_id="open", fields=((button, "1", "settings.complaints.button"),)),
                Query(status_id="open", updated_after_days=ctx.params.lookback_days)]

    @staticmethod
    def _working_day(ctx: RuleContext, moment: datetime) -> date:
        """The support day `moment` belongs to: its own date in working hours, else the next working day's."""
        calendar = ctx.settings.calendar.calendar()
        return calendar.add_working_time(moment, timedelta(microseconds=1)).astimezone(calendar.zone).date()

    def _escalated_today(self, ctx: RuleContext, issue: IssueView) -> datetime | None:
        """When this issue was last escalated, if that was in the current working day."""
        today = self._working_day(ctx, ctx.now)
        times = [j.created_on for j, _ in issue.markers_of(self.id) if self._working_day(ctx, j.created_on) == today]
        return max(times, default=None)

    @staticmethod
    def _support_group(ctx: RuleContext) -> tuple[int, str]:
        name = ctx.settings.support.group
        found = [g for g in Catalog.of(ctx.directory.reader).items("groups") if g.get("name") == name] if name else []
        if not found:
            raise ConfigError("a complaint on an unassigned issue would reach nobody: set "
                              "rules.delay-complaint.params.lead, or settings.support.group to a Redmine group",
                              key="rules.delay-complaint.params.lead")
        return int(found[0]["id"]), f"группа «{name}»"

    def _reach(self, ctx: RuleContext, issue: IssueView) -> tuple[list[Action], str, str]:
        """The assign/watch writes that make the note reach a person, and who that is (reason, note)."""
        out: list[Action] = []
        assignee = issue.summary.assigned_to
        assign = ctx.params.assignee if assignee is None and "assign" in ctx.rule.actions else None
        wanted = list(ctx.params.watchers)
        if assignee is not None:
            who = f"assignee #{assignee.id}"
            text = f"исполнитель {assignee.name}" if assignee.name else f"исполнитель (пользователь #{assignee.id})"
        elif assign is not None:
            who, text = f"assignee #{assign} (assigned now)", f"исполнитель (пользователь #{assign}), назначен сейчас"
        elif ctx.params.lead is not None:
            wanted.insert(0, ctx.params.lead)
            who = f"lead #{ctx.params.lead} (watcher)"
            text = f"ответственный (пользователь #{ctx.params.lead}), добавлен в наблюдатели"
        else:
            group, name = self._support_group(ctx)
            wanted.insert(0, group)
            who, text = f"support group #{group} (watcher)", f"{name}, добавлена в наблюдатели"
        if assign is not None:
            out.append(_act(ctx, issue, "assign", f"complaint: assign #{assign}", users=(assign,)))
        watchers = ctx.watchers_of(issue)
        new_watchers = tuple(dict.fromkeys(u for u in wanted if u not in watchers))
        if "watch" in ctx.rule.actions and new_watchers:
            out.append(_act(ctx, issue, "watch", f"complaint: told through watchers {list(new_watchers)}",
                            users=new_watchers))
        elif assignee is None and assign is None and wanted and wanted[0] not in watchers:
            who, text = "nobody (`watch` is off and the issue has no assignee)", "нет (у задачи нет исполнителя)"
        return out, who, text

    def _escalate(self, ctx: RuleContext, issue: IssueView, reason: str, evidence: tuple[str, ...],
                  tag: str, note: dict[str, object], earlier: datetime | None,
                  fields: dict[str, str] | None = None) -> list[Action]:
        if not any(a in ctx.rule.actions for a in ("note", "watch", "assign")):
            return [_act(ctx, issue, "flag", reason, evidence=evidence)]
        if earlier is not None:
            why = f"{reason}; already escalated this working day ({_fmt(earlier)})"
            if fields:  # counted and cleared, nobody told twice in a day
                return [_act(ctx, issue, "count", why, evidence=evidence, fields=fields)]
            return [_act(ctx, issue, "flag", why, evidence=evidence)]
        out, who, recipient = self._reach(ctx, issue)
        text = ctx.render("note", issue=issue.id, recipient=recipient, **note)
        out.append(_act(ctx, issue, "note", f"{reason}; reaches {who}", marker=tag, notes=_with_marker(text, tag),
                        private=True, evidence=evidence, fields=fields or {}))
        return out

    def _button(self, ctx: RuleContext, issue: IssueView, earlier: datetime | None) -> list[Action]:
        names = ctx.settings.complaints
        button = _field(issue, names.button)
        if button is None or str(button.get("value")) != "1":
            return []
        counter = _field(issue, names.counter)
        if counter is None:
            raise ConfigError(f"issue #{issue.id} has no custom field '{names.counter}' (enable it for "
                              f"tracker «{issue.summary.tracker.name}» or run `helpdesk provision`)",
                              key="settings.complaints.counter")
        presses = [j for j in issue.journals for d in j.details
                   if d.get("property") == "cf" and str(d.get("name")) == str(button["id"])
                   and str(d.get("new_value")) == "1"]
        press = presses[-1] if presses else None
        who = press.user.name if press is not None else issue.summary.author.name
        when = press.created_on if press is not None else issue.summary.created_on
        try:
            count = int(str(counter.get("value") or 0))
        except ValueError:
            count = 0
        tag = marker(self.id, f"button-{press.id if press is not None else 'new'}")
        reason = f"«{names.button}» pressed by {who} at {_fmt(when)}; complaint no. {count + 1}"
        evidence = (f"{who}, {_fmt(when)}",)
        if issue.has_marker(tag):
            return [_act(ctx, issue, "flag", reason + " (already escalated)", evidence=evidence)]
        summary = f"нажата кнопка «{names.button}», всего жалоб: {count + 1}"
        note = {"summary": summary, "journal": press.id if press is not None else "—",
                "evidence": f"- кто и когда: {who}, {when.astimezone(MOSCOW).strftime('%d.%m.%Y %H:%M')} МСК"}
        return self._escalate(ctx, issue, reason, evidence, tag, note, earlier,
                              {str(counter["id"]): str(count + 1), str(button["id"]): "0"})

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        earlier = self._escalated_today(ctx, issue)
        out = self._button(ctx, issue, earlier)
        if ctx.audit is None:
            return out
        since = ctx.now - timedelta(days=ctx.params.lookback_days)
        for journal in issue.journals:
            if journal.created_on < since or not ctx.directory.is_client_comment(journal, issue):
                continue
            finding = audit_delay_complaint(journal.text, ctx.audit)
            if finding is None:
                continue
            tag = marker(self.id, journal.id)
            reason = f"comment #{journal.id}: {finding.summary}"
            evidence = tuple(finding.evidence)
            if issue.has_marker(tag):
                out.append(_act(ctx, issue, "flag", reason + " (already escalated)", evidence=evidence))
                continue
            if earlier is None and any(a.action == "note" for a in out):
                earlier = ctx.now  # escalated by this very run
            out += self._escalate(ctx, issue, reason, evidence, tag, {
                "summary": f"комментарий #{journal.id}", "journal": journal.id,
                "evidence": "\n".join(f"- {e}" for e in finding.evidence)}, earlier)
        return out

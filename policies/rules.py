"""The regulation's rules, one registered class each.

Each rule names its candidates as server-side filters (`queries`), may drop candidates on
list data alone (`wants`, so no journal GET), and decides on one issue (`evaluate`), mostly
as a small predicate over its conversation (policies/conversation.py). Exactly-once lives in
Redmine: every act the sweep writes carries `marker(rule, fingerprint)` in its journal (the
support-only marker field, never the note), and a rule that finds its marker for the same
fingerprint plans nothing (or only a report).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field, field_validator

from helpdesk_core.catalog import Catalog
from helpdesk_core.clock import MOSCOW
from helpdesk_core.errors import ConfigError
from policies.actions import Action, ActionKind
from policies.calendar import SlaResult, SlaState, pause_intervals
from policies.context import RuleContext
from policies.conversation import Act, Conversation
from policies.issues import IssueView, Summary, marker
from policies.registry import RULES, Params, Query, Registry, Rule, register
from policies.settings import Settings
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


def days_genitive_ru(count: int) -> str:
    """After «в течение» (genitive): «1 дня», «3 дней», «5 дней», «11 дней», «21 дня»."""
    singular = count % 10 == 1 and count % 100 != 11
    return f"{count} {'дня' if singular else 'дней'}"


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
    """The note a client (or support) reads: the text alone. The marker `tag` travels in the
    same journal as the value of the support-only marker field (engine._write), never in it."""
    return text.rstrip()


def _status_queries(ctx: RuleContext, *names: str) -> list[Query]:
    """One list per status, no date filter: the reply/reminder/close rules ask the same
    questions, so the engine makes each list request once and one detail GET per issue.
    No `updated_on` filter on purpose: a private note or a field edit moves `updated_on`
    but not the regulation's clock (support's question, the reminder, the status change)."""
    return [Query(statuses=(name,)) for name in names]


def _awaits_cutover(ctx: RuleContext, conv: Conversation, request: Act) -> bool:
    """The issue waits for the client since before the move to this helpdesk and has not had
    the go-live message yet: no regulation clock runs until it has (go-live-cutover)."""
    params = ctx.peer_params(GoLiveCutover.id)
    return (params is not None and params.moved_at is not None and request.at < params.moved_at
            and not conv.tool_acts(GoLiveCutover.id))


def _render_promise(ctx: RuleContext, template: str, promise: bool, **values: object) -> str:
    """A template whose lines naming `{close_in}` promise a close: left out when no rule
    will close (feedback-autoclose disabled), so the text never promises what will not happen."""
    if not promise:
        kept = "\n".join(line for line in ctx.rule.templates.get(template, "").splitlines()
                         if "{close_in}" not in line)
        ctx = replace(ctx, rule=ctx.rule.model_copy(update={"templates": {**ctx.rule.templates, template: kept}}))
    return ctx.render(template, **values)


class AgeParams(Params):
    after_days: float = Field(5, gt=0, description="days without an answer before the rule fires")


class LookbackParams(Params):
    lookback_days: float = Field(30, gt=0, description="only issues updated this recently are candidates")


# --- feedback ------------------------------------------------------------------------------

@register("feedback-reminder")
class FeedbackReminder(Rule):
    """«Требует обратной связи», the client has not answered support's request (its last
    public word, or the status change placed at it) for ≥ after_days and has had no reminder
    since it: post the reminder. Fingerprint: the journal of the request. A comment or a file
    from the client is an answer; private notes and field edits do not move the clock; a new
    question from support after a reminder is a new request (a new reminder 5 days after it).
    `{days}`/`{days_text}`: the real days waited; `{asked}`: the request's date; `{close_in}`
    («5 дней» in the genitive: «в течение 5 дней»): lines naming it are left out when
    feedback-autoclose is disabled.

    YAML:
        feedback-reminder:
          scope: {projects: "*", trackers: "*"}
          params: {after_days: 5}
          actions: [comment]
          templates: {comment: "Напоминаем: ... уже {days_text} ...\\nЕсли ответа не будет в течение {close_in} ..."}
    """

    Params = AgeParams
    actions = ("comment",)
    templates = ("comment",)
    client_facing = True
    reminds = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        return _status_queries(ctx, ctx.settings.statuses.feedback)

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        conv = ctx.conversation(issue)
        request = conv.request()
        if (issue.status != ctx.settings.statuses.feedback or request is None or conv.reminders_after(request)
                or _awaits_cutover(ctx, conv, request)):
            return []
        age = _age(ctx, request.at)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, request.journal)
        if issue.has_marker(tag):
            return []
        close = ctx.peer_params(FeedbackAutoclose.id)
        close_days = max(close.after_days if close is not None else 0, ctx.settings.close_after_reminder_days)
        text = _render_promise(ctx, "comment", close is not None, issue=issue.id, since=_fmt(request.at),
                               asked=_date(request.at), close_in=days_genitive_ru(int(close_days)),
                               **_day_values(ctx, request.at))
        return [_act(ctx, issue, "comment", f"waiting for the client since {_fmt(request.at)} "
                     f"({_days(age)} ≥ {ctx.params.after_days:g} d), no reminder yet",
                     marker=tag, notes=_with_marker(text, tag), times={"since": _fmt(request.at)})]


@register("feedback-autoclose")
class FeedbackAutoclose(Rule):
    """«Требует обратной связи», a reminder ≥ after_days old sent after support's latest
    request, and no word (comment or file) from the client since: close.
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
        conv = ctx.conversation(issue)
        request = conv.request()
        if issue.status != ctx.settings.statuses.feedback or request is None or _awaits_cutover(ctx, conv, request):
            return []
        reminders = conv.reminders_after(request)
        if not reminders:
            return []
        reminder = reminders[0]
        age = _age(ctx, reminder.at)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, reminder.journal)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, reminded=_date(reminder.at), **_day_values(ctx, reminder.at))
        return [_act(ctx, issue, "close", f"reminder #{reminder.journal} of {_fmt(reminder.at)} unanswered "
                     f"for {_days(age)}", marker=tag, notes=_with_marker(text, tag),
                     status=ctx.settings.statuses.closed, times={"reminded": _fmt(reminder.at)})]


@register("verification-autoclose")
class VerificationAutoclose(Rule):
    """«Решено, требует проверки» for ≥ after_days since support's latest word on it (the
    status change, or a later public comment) and no word from the client since: close. A
    client's word (a remark, "not fixed", even "thanks", a screenshot) is never followed by
    this close: client-reply-resume puts the issue back to «В работе» and support decides.
    `{days}`/`{days_text}`: the real days since then.

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
        conv = ctx.conversation(issue)
        request = conv.request()
        if (issue.status != ctx.settings.statuses.verification or request is None
                or _awaits_cutover(ctx, conv, request)):
            return []
        age = _age(ctx, request.at)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, request.journal)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, since=_date(request.at), **_day_values(ctx, request.at))
        return [_act(ctx, issue, "close", f"awaiting verification since {_fmt(request.at)} ({_days(age)}), "
                     "no word from the client since", marker=tag, notes=_with_marker(text, tag),
                     status=ctx.settings.statuses.closed, times={"since": _fmt(request.at)})]


def one_year_after(moment: datetime) -> datetime:
    """«через 1 год»: the same date and time next year, in Moscow (29 February → 1 March)."""
    local = moment.astimezone(MOSCOW)
    try:
        return local.replace(year=local.year + 1)
    except ValueError:
        return local.replace(year=local.year + 1, month=3, day=1)


class StaleParams(Params):
    after_days: float | None = Field(
        None, gt=0, description="LOCAL choice: a fixed age in days; null = the regulation's «1 год» "
                                "(the same date next year)")
    wait_days: float | None = Field(
        None, ge=0, description="LOCAL choice: days the request must have stayed unanswered; null = none "
                                "(the regulation gives none)")


@register("stale-year-close")
class StaleYearClose(Rule):
    """«вправе закрыть обращение через 1 год после его создания»: open, created at least a
    calendar year ago (same date next year), waiting in «Требует обратной связи» for the
    client's answer to support's request, and the client has not spoken since: close.
    `after_days` (a fixed number of days) and `wait_days` (a minimum age of the request)
    are local choices, off by default. `{created}`, `{age_text}` («412 дней»), `{asked}`.

    YAML:
        stale-year-close:
          params: {after_days: null, wait_days: null}
          actions: [close]
          templates: {comment: "Обращение создано {created} ... {asked} ... без ответа ..."}
    """

    Params = StaleParams
    actions = ("close",)
    templates = ("comment",)
    client_facing = True

    def queries(self, ctx: RuleContext) -> list[Query]:
        # a calendar year is never shorter than 365 days: the list is a superset, evaluate decides
        return [Query(statuses=(ctx.settings.statuses.feedback,), created_before_days=ctx.params.after_days or 365)]

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        conv = ctx.conversation(issue)
        request = conv.request()
        if (issue.status != ctx.settings.statuses.feedback or request is None
                or _awaits_cutover(ctx, conv, request)):
            return []
        created = issue.summary.created_on
        due = created + timedelta(days=ctx.params.after_days) if ctx.params.after_days else one_year_after(created)
        if ctx.now < due:
            return []
        waited = _age(ctx, request.at)
        if ctx.params.wait_days is not None and waited < timedelta(days=ctx.params.wait_days):
            return []
        tag = marker(self.id, issue.id)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, created=_date(created),
                          age_text=days_ru(whole_days(_age(ctx, created))), asked=_date(request.at))
        return [_act(ctx, issue, "close", f"created {_fmt(created)}, asked for an update {_fmt(request.at)}, "
                     f"unanswered for {_days(waited)}", marker=tag,
                     notes=_with_marker(text, tag), status=ctx.settings.statuses.closed,
                     times={"created": _fmt(created), "asked": _fmt(request.at)})]


# --- client replies ------------------------------------------------------------------------

class ResumeParams(Params):
    lookback_days: float | None = Field(
        None, gt=0, description="only issues updated this recently (null: every issue waiting for the client)")


@register("client-reply-resume")
class ClientReplyResume(Rule):
    """«Требует обратной связи» or «Решено, требует проверки» and the client's public word (a
    comment or a file) is the last one after support's: set «В работе» with a private note.
    Whatever the timeline says (a migrated status placed late), the client who spoke last
    waits on support: no rule reminds or closes it.

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
        conv = ctx.conversation(issue)
        if issue.status not in waiting or not conv.client_spoke_last():
            return []
        replies = conv.client_words_after(conv.last_support_act())
        tag = marker(self.id, replies[0].journal)
        if issue.has_marker(tag):
            return []
        target = ctx.settings.statuses.in_progress
        text = ctx.render("note", issue=issue.id, status=target, journal=replies[0].journal, previous=issue.status)
        return [_act(ctx, issue, "set-status", f"client word #{replies[0].journal} of "
                     f"{_fmt(replies[0].at)} is the last public word, in «{issue.status}»",
                     marker=tag, notes=_with_marker(text, tag), private=True, status=target)]


@register("closed-reply-redirect")
class ClosedReplyRedirect(Rule):
    """A client's word (comment or file) on a closed issue: one polite comment that a new
    request is needed; the issue stays closed. Once per closing.

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
        conv = ctx.conversation(issue)
        entered = conv.entered(closed_names)
        if entered is None:
            return []
        replies = conv.client_words_after(entered)
        if not replies:
            return []
        tag = marker(self.id, entered.journal)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id)
        return [_act(ctx, issue, "comment", f"client word #{replies[0].journal} on an issue closed "
                     f"{_fmt(entered.at)}", marker=tag, notes=_with_marker(text, tag))]


# --- the move to this helpdesk -------------------------------------------------------------

class CutoverParams(Params):
    moved_at: datetime | None = Field(
        None, description="when the tickets moved to this helpdesk (ISO 8601 with offset); null: no cut-over")
    after_days: float = Field(5, gt=0, description="days a request from before the move has waited "
                                                   "before the go-live message (the regulation's 5 days)")

    @field_validator("moved_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give moved_at with its offset, e.g. 2026-12-01T10:00:00+03:00")
        return value


@register("go-live-cutover")
class GoLiveCutover(Rule):
    """The go-live: an issue waits for the client's answer to a request made before
    `moved_at` (on the old portal) for ≥ after_days. The first message it gets here says the
    ticket now lives in the new helpdesk and asks whether it is still relevant; the
    regulation's clocks run from that message (a reminder 5 days after it, a close 5 days
    after the reminder); until it is written no rule reminds or closes such an issue. Once per
    issue. Applied per the runbook in policies/README.md (plan → review → run).

    YAML:
        go-live-cutover:
          params: {moved_at: "2026-12-01T10:00:00+03:00", after_days: 5}
          actions: [comment]
          templates: {comment: "Обращение перенесено в новый трекер ... актуален ли вопрос?"}
    """

    Params = CutoverParams
    actions = ("comment",)
    templates = ("comment",)
    client_facing = True
    reminds = True  # a close never follows it within settings.close_after_reminder_days

    def queries(self, ctx: RuleContext) -> list[Query]:
        if ctx.params.moved_at is None:
            return []
        return _status_queries(ctx, ctx.settings.statuses.feedback, ctx.settings.statuses.verification)

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        conv = ctx.conversation(issue)
        request = conv.request()
        if request is None or not _awaits_cutover(ctx, conv, request):
            return []
        age = _age(ctx, request.at)
        if age < timedelta(days=ctx.params.after_days):
            return []
        tag = marker(self.id, issue.id)
        if issue.has_marker(tag):
            return []
        text = ctx.render("comment", issue=issue.id, asked=_date(request.at))
        return [_act(ctx, issue, "comment", f"waiting for the client since {_fmt(request.at)}, before the move "
                     f"({_fmt(ctx.params.moved_at)}): the go-live message first", marker=tag,
                     notes=_with_marker(text, tag), times={"since": _fmt(request.at)})]


# --- SLA -----------------------------------------------------------------------------------

class SlaParams(Params):
    lookback_days: float = Field(30, gt=0, description="only issues created this recently")
    watchers: list[int] = Field(default_factory=list, description="user ids added by the `watch` action")
    report_at_risk: bool = True


class AnalysisParams(SlaParams):
    stop_statuses: list[str] = Field(
        default_factory=list,
        description="LOCAL choice: reaching one of these also ends the first analysis (the regulation "
                    "ends it with support's message about the next steps)")


def analysis_started_at(conv: Conversation, settings: Settings) -> datetime | None:
    """О1/О2: «принято в работу и передано на последующий анализ», then «на первичном анализе в
    течение …»: the analysis clock starts when the issue is taken into work (leaves «На
    рассмотрении»); a slow acceptance is the reaction clock's breach, not also this one's."""
    taken = conv.taken_into_work(settings.sla.reaction_status)
    return taken.at if taken is not None else None


def analysis_stopped_at(conv: Conversation, settings: Settings, stop_statuses: Iterable[str]) -> datetime | None:
    """When the first analysis ended: О2 «сотрудник поддержки сообщит вам о дальнейших этапах
    работы», support's first public comment once the issue is taken into work; or, as a
    local choice, reaching one of `stop_statuses`. The rule and `sla report` both ask this."""
    ends = [conv.analysis_end(settings.sla.reaction_status)]
    stops = set(stop_statuses)
    ends.append(next((a.at for a in conv.acts if a.status is not None and a.status[1] in stops), None))
    if conv.initial_status in stops:
        ends.append(conv.issue.summary.created_on)
    found = [e for e in ends if e is not None]
    return min(found) if found else None


class _SlaRule(Rule):
    Params = SlaParams
    actions = ("note", "watch", "flag")
    templates = ("note",)
    clock: Literal["reaction", "analysis"] = "reaction"

    def _result(self, ctx: RuleContext, summary: Summary, pauses: tuple = (),
                start: datetime | None = None) -> SlaResult | None:
        """The clock of one issue; a priority without a budget (an inactive one that
        engine.check_sla_budgets could not see) is a configuration error, never "no SLA"."""
        try:
            ctx.settings.sla.target(self.clock, summary.priority.name)
        except ValueError as exc:
            raise ConfigError(f"issue #{summary.id}: {exc}; add settings.sla.{self.clock}."
                              f"{summary.priority.name} or settings.sla.{self.clock}_fallback",
                              key=f"settings.sla.{self.clock}") from None
        return ctx.settings.sla.evaluate(self.clock, summary.priority.name,  # None: unmeasured
                                         calendar=ctx.settings.calendar.calendar(),
                                         start=start or summary.created_on, now=ctx.now, pauses=pauses)

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
    сутки round the clock, from the moment the issue is taken into work; working days are a
    local choice; Блокер/Критический unmeasured unless a local budget is set); it ends when
    support tells the client the next steps (its first public comment once the issue is
    taken into work), not at «Решено…»/«Закрыто»; time in «Требует обратной связи» pauses it.
    `stop_statuses` (local, empty by default): statuses that also end it.

    YAML:
        sla-analysis:
          params: {lookback_days: 30, stop_statuses: []}
          actions: [note]
          templates: {note: "SLA анализа: {state}, срок {deadline}"}
    """

    Params = AnalysisParams
    clock = "analysis"

    def queries(self, ctx: RuleContext) -> list[Query]:
        return [Query(status_id="open", created_after_days=ctx.params.lookback_days)]

    def wants(self, ctx: RuleContext, summary: Summary) -> bool:
        # Not taken into work yet: no analysis clock (the reaction clock's business). Pauses and
        # a start at acceptance only move the deadline later: not flagged from creation without
        # pauses means not flagged at all.
        result = self._result(ctx, summary)  # first: an unbudgeted priority is an error, whatever the status
        return summary.status.name not in (*ctx.params.stop_statuses, ctx.settings.sla.reaction_status) and (
            self._flagged(ctx, result))

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        conv = ctx.conversation(issue)
        start = analysis_started_at(conv, ctx.settings)
        if start is None or analysis_stopped_at(conv, ctx.settings, ctx.params.stop_statuses) is not None:
            return []
        pauses = tuple(pause_intervals(issue.status_history(), ctx.settings.sla.analysis_pause_statuses, ctx.now))
        result = self._result(ctx, issue.summary, pauses, start)
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


def registered_rules() -> Registry:
    """The registry with every built-in rule (this module filled it at import)."""
    return RULES

"""The oracle: a plain reading of the regulation, written apart from policies/.

Given everything that happened to one ticket (who did what, when) and a moment, it says
which of the sweeps' actions are *required* then (the tool must take them at this cron
run), which are *allowed* (the tool may take them), and when each SLA clock ends. It imports
nothing from policies/ or helpdesk_core: the only specification is
/work/shared/regulation.ru.txt, quoted above each decision. Where the regulation is silent
the oracle says so and stays lenient: what the regulation allows either way is allowed.

«Allowed but not required» (the regulation says «вправе»/«может») becomes *required* only
for a rule the bundled configuration enables: the tool is configured to use the right
the regulation gives, so it must use it as soon as it exists, not later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")

NEW = "На рассмотрении"
IN_WORK = "В работе"
FEEDBACK = "Требует обратной связи"
VERIFY = "Решено, требует проверки"
CLOSED = "Закрыто"
REJECTED = "Отклонено"
CLOSED_STATUSES = frozenset({CLOSED, REJECTED})

Who = Literal["client", "support", "tool"]

# Rules the oracle judges (the bundled policies' ids). Rules not listed (the text audits,
# anything new) are counted as "not judged" by the checker.
REMIND = "feedback-reminder"
FEEDBACK_CLOSE = "feedback-autoclose"
VERIFY_CLOSE = "verification-autoclose"
YEAR_CLOSE = "stale-year-close"
RESUME = "client-reply-resume"
REDIRECT = "closed-reply-redirect"
REACTION = "sla-reaction"
ANALYSIS = "sla-analysis"
COMPLAINT = "delay-complaint"
CLOSE_RULES = (FEEDBACK_CLOSE, VERIFY_CLOSE, YEAR_CLOSE)
JUDGED = (REMIND, FEEDBACK_CLOSE, VERIFY_CLOSE, YEAR_CLOSE, RESUME, REDIRECT, REACTION, ANALYSIS, COMPLAINT)

DAYS5 = timedelta(days=5)


@dataclass(frozen=True)
class Act:
    """One thing that happened to a ticket, as the people involved would tell it.

    `public`: words or a file the client sees (a comment, an attachment); `status`: the
    status this act set (support sets a status together with its comment: one act);
    `rule`/`sla`: for the tool's acts, which rule and which SLA state it reported."""

    at: datetime
    who: Who
    public: bool = False
    status: str | None = None
    private: bool = False
    press: bool = False          # «Пожаловаться на задержку» pressed
    rule: str | None = None
    sla: str | None = None
    file: bool = False           # the public word is a file with no text (the oracle counts it the same)


@dataclass(frozen=True)
class Ticket:
    created: datetime
    priority: str
    acts: tuple[Act, ...]        # in time order, not including the creation
    initial_status: str = NEW


@dataclass(frozen=True)
class Due:
    """One rule's verdict at a moment. `key` names the episode (one reminder per question,
    one close per entry into a status...) so a missed action is counted once."""

    rule: str
    required: bool
    allowed: bool
    key: object = None
    deadline: datetime | None = None   # SLA rules: the oracle's clock
    local: bool = False                # allowed only as a local choice (the regulation gives no number)
    breach_allowed: bool = False       # SLA rules: a «breached» report is allowed (past the deadline)


@dataclass
class Verdicts:
    dues: dict[str, Due] = field(default_factory=dict)
    next_change: datetime | None = None   # the earliest moment the verdicts change with no new act

    def wait_for(self, moment: datetime | None, now: datetime) -> None:
        if moment is not None and moment > now and (self.next_change is None or moment < self.next_change):
            self.next_change = moment


# --- working time ------------------------------------------------------------------------
# «Техническая поддержка предоставляется ежедневно с 10:00 до 19:00 по московскому времени»:
# every day, no holidays (the regulation names none).
DAY_START, DAY_END = time(10, 0), time(19, 0)


def add_working(start: datetime, budget: timedelta) -> datetime:
    """`start` plus `budget` of support's working time (10:00–19:00 Moscow, every day)."""
    moment = start.astimezone(MOSCOW)
    left = budget
    while True:
        day = moment.date()
        opens = datetime.combine(day, DAY_START, MOSCOW)
        closes = datetime.combine(day, DAY_END, MOSCOW)
        if moment < opens:
            moment = opens
        if moment >= closes:
            moment = datetime.combine(day + timedelta(days=1), DAY_START, MOSCOW)
            continue
        if moment + left <= closes:
            return moment + left
        left -= closes - moment
        moment = datetime.combine(day + timedelta(days=1), DAY_START, MOSCOW)


def one_year_after(created: datetime) -> datetime:
    """«через 1 год после его создания»: the same date and time a calendar year later
    (Moscow). 29 February has no such date: the regulation is silent, the oracle takes
    1 March (the later reading; the checker is lenient between the two)."""
    local = created.astimezone(MOSCOW)
    try:
        return local.replace(year=local.year + 1)
    except ValueError:
        return local.replace(year=local.year + 1, month=3, day=1)


# --- the reading -------------------------------------------------------------------------

def _status_at(ticket: Ticket, acts: list[Act]) -> tuple[str, datetime]:
    """The current status and when it was entered."""
    status, since = ticket.initial_status, ticket.created
    for act in acts:
        if act.status is not None and act.status != status:
            status, since = act.status, act.at
    return status, since


def verdicts(ticket: Ticket, now: datetime) -> Verdicts:
    """What the regulation requires and allows at `now`, from the acts before `now`."""
    acts = [a for a in ticket.acts if a.at < now]
    out = Verdicts()
    status, entered = _status_at(ticket, acts)
    public = [a for a in acts if a.public and not a.private]
    since_entry = [a for a in public if a.at >= entered]
    client_last = bool(since_entry) and since_entry[-1].who == "client"

    _feedback(ticket, acts, status, entered, now, out)
    _verification(acts, status, entered, since_entry, now, out)
    _year(ticket, acts, status, entered, now, out)
    _resume(status, entered, client_last, out)
    _redirect(acts, status, entered, out)
    _reaction(ticket, acts, now, out)
    _analysis(ticket, acts, now, out)
    _complaint(acts, out)
    return out


def _question(acts: list[Act], entered: datetime) -> datetime:
    """The question the client owes an answer to.
    «Если сотруднику поддержки потребуется получение дополнительной информации, то он обозначит
    свой вопрос в комментарии и статус заявки изменится на Требует обратной связи.»
    The question is support's (a person's) latest public word since the status was entered;
    support asking again (a new public comment) is a new question and restarts the sequence."""
    asked = [a.at for a in acts if a.who == "support" and a.public and a.at >= entered]
    return asked[-1] if asked else entered


def _client_after(acts: list[Act], moment: datetime) -> bool:
    """The client answered after `moment`. A file with no text is an answer: the regulation
    asks clients for screenshots «в виде файлов» and counts «комментарий» as their reaction;
    an attachment is what the client said."""
    return any(a.who == "client" and a.public and a.at > moment for a in acts)


def _feedback(ticket: Ticket, acts: list[Act], status: str, entered: datetime, now: datetime,
              out: Verdicts) -> None:
    """«Сотрудник напомнит вам о необходимости комментария, если мы не получим его в течение
    5 дней, если комментарий не будет оставлен в течение еще 5 дней после напоминания, то
    обращение может быть закрыто.» and «В случае, если в обращении, требующем ответа от клиента,
    не будет оставлено новых комментариев в течение 5 дней, сотрудниками технической поддержки
    будет написан уточняющий комментарий-напоминание о скором закрытии. При отсутствии после
    данного комментария реакции со стороны клиента сотрудник технической поддержки вправе
    закрыть обращение через 5 дней после указанного ранее сообщения.»
    Reminder: required 5 days after the question (once per question). Close: allowed (and, the
    rule being enabled, required) 5 days after the reminder, unless the client answered."""
    if status != FEEDBACK:
        out.dues[REMIND] = Due(REMIND, False, False)
        out.dues[FEEDBACK_CLOSE] = Due(FEEDBACK_CLOSE, False, False)
        return
    question = _question(acts, entered)
    answered = _client_after(acts, question)
    reminders = [a.at for a in acts if a.who == "tool" and a.rule == REMIND and a.at >= question]
    remind_at = question + DAYS5
    can_remind = not answered and not reminders and now >= remind_at
    out.dues[REMIND] = Due(REMIND, can_remind, can_remind, key=("remind", question))
    if not answered and not reminders:
        out.wait_for(remind_at, now)
    if reminders and not answered:
        close_at = reminders[0] + DAYS5
        can_close = now >= close_at
        out.dues[FEEDBACK_CLOSE] = Due(FEEDBACK_CLOSE, can_close, can_close, key=("close", reminders[0]))
        out.wait_for(close_at, now)
    else:
        out.dues[FEEDBACK_CLOSE] = Due(FEEDBACK_CLOSE, False, False)


def _verification(acts: list[Act], status: str, entered: datetime, since_entry: list[Act],
                  now: datetime, out: Verdicts) -> None:
    """«Когда задача решена, но потребуется провести проверку со стороны клиента, то статус
    будет изменен сотрудником поддержки на Решено, требует проверки. В случае, если в течение
    5 дней мы не получим от вас ответа, то обращение будет закрыто.»
    Allowed 5 days after the status was set with no client word since; a later public word of
    support (silent in the regulation) may restart the wait: required only 5 days after
    support's last public word, allowed from 5 days after the status."""
    if status != VERIFY or _client_after(acts, entered):
        out.dues[VERIFY_CLOSE] = Due(VERIFY_CLOSE, False, False)
        return
    support_words = [a.at for a in since_entry if a.who == "support"]
    allowed_at = entered + DAYS5
    required_at = max([entered, *support_words]) + DAYS5
    out.dues[VERIFY_CLOSE] = Due(VERIFY_CLOSE, now >= required_at, now >= allowed_at, key=("verify", entered))
    out.wait_for(allowed_at, now)
    out.wait_for(required_at, now)


def _year(ticket: Ticket, acts: list[Act], status: str, entered: datetime, now: datetime,
          out: Verdicts) -> None:
    """«В случае, если обращение не было решено в течение длительного времени и клиентом не был
    актуализирован его статус по запросу сотрудника технической поддержки, то сотрудник вправе
    закрыть обращение через 1 год после его создания.»
    Allowed from the same moment a calendar year after creation, when support's request (the
    issue is «Требует обратной связи», the question unanswered) stands and the issue is not
    resolved. The regulation gives no extra wait after the request: none here.
    A promise made to the client outranks a right support may use (F4): a reminder says «если
    ответа не будет в течение 5 дней, обращение будет закрыто», so while those 5 days run
    nothing closes the issue, the year close neither; the promised close follows (the feedback
    close). When the reminder is due in the same run as the anniversary, the tool may keep the
    regulation's «Сотрудник напомнит вам» first: the year close is then allowed, not required.
    The promise is the client's, not the question's: support asking again does not take it back."""
    year = one_year_after(ticket.created)
    if status != FEEDBACK:
        out.dues[YEAR_CLOSE] = Due(YEAR_CLOSE, False, False)
        return
    question = _question(acts, entered)
    if _client_after(acts, question):
        out.dues[YEAR_CLOSE] = Due(YEAR_CLOSE, False, False)
        return
    # 29 February: lenient between 28 February and 1 March
    earliest = year - timedelta(days=1) if (ticket.created.astimezone(MOSCOW).month, ticket.created.astimezone(
        MOSCOW).day) == (2, 29) else year
    promised = promise_runs_until(acts)
    held = promised is not None and now < promised
    remind_due = out.dues[REMIND].required
    out.dues[YEAR_CLOSE] = Due(YEAR_CLOSE, now >= year and not held and not remind_due,
                               now >= earliest and not held, key=("year", question))
    out.wait_for(earliest, now)
    out.wait_for(year, now)
    out.wait_for(promised, now)


def promise_runs_until(acts: list[Act]) -> datetime | None:
    """Until when the last reminder promises the client the issue stays open: 5 days after it
    («если ответа не будет в течение 5 дней, обращение будет закрыто»). Only the client's
    answer voids it; a new question of support after it does not (the client was told 5 days,
    and has not been told otherwise). None when there is no such reminder."""
    reminders = [a.at for a in acts if a.who == "tool" and a.rule == REMIND]
    if not reminders or _client_after(acts, reminders[-1]):
        return None
    return reminders[-1] + DAYS5


def _resume(status: str, entered: datetime, client_last: bool, out: Verdicts) -> None:
    """«После отправки комментария клиентом статус будет изменен автоматически на В работе.»
    The sentence follows the request for information; the issue (point 2) extends it to
    «Решено, требует проверки»: a client's answer there is not "no answer", support must read
    it. Required when the client's public word (a file counts) is the last one since the
    status was set. Not allowed from «На рассмотрении»: «обращение будет принято в работу»
    by support, and an automatic «В работе» would fake the reaction. From «В работе» it is a
    no-op, allowed."""
    if status in (FEEDBACK, VERIFY):
        out.dues[RESUME] = Due(RESUME, client_last, client_last, key=("resume", entered))
    else:
        out.dues[RESUME] = Due(RESUME, False, status == IN_WORK)


def _redirect(acts: list[Act], status: str, entered: datetime, out: Verdicts) -> None:
    """«Если у клиента остаются нерешенные в рамках ранее закрытого обращения вопросы, то
    необходимо создать новый запрос.» Telling a client who wrote in a closed issue to create a
    new one is allowed (once per closing); the regulation does not require the tool to say it."""
    wrote = status in CLOSED_STATUSES and _client_after(acts, entered)
    said = any(a.who == "tool" and a.rule == REDIRECT and a.at >= entered for a in acts)
    out.dues[REDIRECT] = Due(REDIRECT, False, wrote and not said, key=("redirect", entered))


def _complaint(acts: list[Act], out: Verdicts) -> None:
    """«Если у Вас появятся вопросы или замечания по срокам обработки вашего обращения, то вы
    можете выбрав необходимое обращение нажать кнопку "Пожаловаться на задержку"». What follows a
    press the regulation does not say: an escalation is allowed once per press, not required."""
    presses = [a.at for a in acts if a.press]
    escalations = [a.at for a in acts if a.who == "tool" and a.rule == COMPLAINT]
    pending = bool(presses) and (not escalations or presses[-1] > escalations[-1])
    out.dues[COMPLAINT] = Due(COMPLAINT, False, pending, key=("press", presses[-1] if presses else None))


def reaction_deadline(ticket: Ticket) -> datetime:
    """«В рабочее время поддержки обращение будет принято в работу и передано на последующий
    анализ в течение 15 минут для Блокирующего и Критического приоритета и в течение 1 часа для
    остальных приоритетов. Обращения с Критическим и Блокирующим приоритетом обрабатываются в
    режиме 24/7.»"""
    if ticket.priority in ("Блокер", "Критический"):
        return ticket.created + timedelta(minutes=15)
    return add_working(ticket.created, timedelta(hours=1))


def accepted_at(ticket: Ticket, acts: list[Act]) -> datetime | None:
    """When the issue left «На рассмотрении» («принято в работу»)."""
    status = ticket.initial_status
    if status != NEW:
        return ticket.created
    for act in acts:
        if act.status is not None and act.status != NEW:
            return act.at
    return None


def _sla(rule: str, acts: list[Act], deadline: datetime, ended: datetime | None, now: datetime,
         out: Verdicts, local: bool = False) -> None:
    """A clock: a breach is reported once when `now` is past the deadline and the clock has not
    ended; an early warning («at-risk», a local choice: the regulation has none) is allowed while
    the clock runs. A report after the clock ended, or «breached» before the deadline, is wrong."""
    running = ended is None or ended >= now
    reported = any(a.who == "tool" and a.rule == rule and a.sla == "breached" for a in acts)
    breached = running and now > deadline
    out.dues[rule] = Due(rule, breached and not reported and not local, running, key=(rule, deadline),
                         deadline=deadline, local=local, breach_allowed=running and now >= deadline)
    if running:
        out.wait_for(deadline + timedelta(seconds=1), now)


def _reaction(ticket: Ticket, acts: list[Act], now: datetime, out: Verdicts) -> None:
    """The regulation defines the reaction twice: «принято в работу» (the issue leaves «На
    рассмотрении») and «Реакция заключается в предоставлении подтверждения получения обращения»
    (support's public word). Lenient between the two: a breach report is required only when
    neither happened, allowed while the issue is still «На рассмотрении»."""
    deadline = reaction_deadline(ticket)
    accepted = accepted_at(ticket, acts)
    _sla(REACTION, acts, deadline, accepted if accepted is not None and accepted < now else None, now, out)
    confirmed = next((a.at for a in acts if a.who == "support" and a.public), None)
    due = out.dues[REACTION]
    if confirmed is not None and confirmed < now and due.required:
        out.dues[REACTION] = Due(REACTION, False, due.allowed, due.key, due.deadline,
                                 breach_allowed=due.breach_allowed)


ANALYSIS_DAYS = {"Высокий": 1, "Средний": 3, "Низкий": 5}


def analysis_clock(ticket: Ticket, acts: list[Act]) -> tuple[datetime, datetime | None, datetime | None] | None:
    """(start, deadline, end) of the first analysis.
    «Анализ обращения может занять от 30 минут до 5 суток. Для Блокирующего и Критического
    обращения анализ проводится с максимально возможным приоритетом. Обращение с Высоким
    приоритетом на первичном анализе в течение 1 дня, Средний в течение 3 дней, первичный анализ
    Низкого приоритета может занять до 5 дней. По истечению этого срока сотрудник поддержки
    сообщит вам о дальнейших этапах работы с обращением.»
    - starts when the issue is «принято в работу и передано на последующий анализ» (it left
      «На рассмотрении»);
    - days are «сутки» (the same sentence says «до 5 суток»): 24 h each, not working hours;
    - ends when support tells the client the next steps: support's first public word once the
      issue is in work (a question asked, a resolution, «we are fixing it»);
    - Блокер/Критический: «с максимально возможным приоритетом», no number: no deadline
      (None); a report is a local choice."""
    start = accepted_at(ticket, acts)
    if start is None:
        return None
    days = ANALYSIS_DAYS.get(ticket.priority)
    deadline = start + timedelta(days=days) if days is not None else None
    told = [a.at for a in acts if a.who == "support" and a.public and a.at >= start]
    return start, deadline, told[0] if told else None


def _analysis(ticket: Ticket, acts: list[Act], now: datetime, out: Verdicts) -> None:
    clock = analysis_clock(ticket, acts)
    if clock is None:
        # not in analysis yet: a report is not wrong only if it is a local one (no number)
        local = ticket.priority not in ANALYSIS_DAYS
        out.dues[ANALYSIS] = Due(ANALYSIS, False, local, local=local)
        return
    start, deadline, told = clock
    if deadline is None:
        out.dues[ANALYSIS] = Due(ANALYSIS, False, True, local=True)
        return
    status, entered = _status_at(ticket, acts)
    ended = told if told is not None and told < now else None
    if ended is None and status in CLOSED_STATUSES:
        ended = entered  # closed without a word: no clock left to report
    _sla(ANALYSIS, acts, deadline, ended, now, out)

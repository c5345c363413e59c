"""What people read, in their language: one catalogue, Russian by default, English on request.

Report builders (migration, sweep, SLA, billing, approvals) write their labels in English,
which doubles as the message id and as the stable text of `--format json`; the renderers
(terminal, HTML, CSV) and the error output translate at the edge with a `Messages` passed
to them. A dict, not gettext: the catalogue is small, lives in one reviewed file, needs no
compile step (.po → .mo) and no process-wide `setlocale`/`install`, and a template entry
("Consultation billing {month}") also translates text a builder formatted already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from helpdesk_core.report import Chart, Metric, Report, Section, Table

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")
DEFAULT_LANG: Lang = "ru"

# English message id -> Russian. "{name}" is a placeholder; "{t_name}" is translated in turn.
RUSSIAN: Mapping[str, str] = {
    # renderers and the command line
    "error: ": "ошибка: ",
    "hint: ": "подсказка: ",
    "aborted": "прервано",
    "interrupted": "прервано (Ctrl+C)",
    "HTML report: {path}": "HTML-отчёт: {path}",
    "{title}: {rows} (all of them: --format json or --html FILE)":
        "{title}: {rows} (все: --format json или --html FILE)",
    "  … {hidden} more rows: use --format json or --html FILE":
        "  … ещё строк: {hidden}; все строки: --format json или --html FILE",
    "No rows.": "Нет строк.",
    "Nothing to report.": "Сообщить нечего.",
    "No data for this chart.": "Для этого графика нет данных.",
    "This report has no sections.": "В этом отчёте нет разделов.",
    "Generated": "Сформирован",
    "Summary": "Итоги",
    "Contents": "Содержание",
    "Legend": "Легенда",
    "Filter rows…": "Фильтр строк…",
    "Filter rows of {caption}": "Фильтр строк таблицы «{caption}»",
    "No rows match the filter.": "Ни одна строка не подходит под фильтр.",
    "of": "из",
    "helpdesk report · self-contained page, works offline":
        "отчёт helpdesk · самодостаточная страница, работает без сети",
    "warning: ": "внимание: ",
    # "key '…'" stays as written: it is the pointer into the file that scripts and people grep for.
    "key '{key}': {t_message}": "key '{key}': {t_message}",
    "{where}, key '{key}': {t_message}": "{where}, key '{key}': {t_message}",
    "'{value}' is not an ISO 8601 timestamp": "'{value}' — не момент времени ISO 8601",
    "unknown language {value} (one of: ru, en)": "неизвестный язык {value} (ru или en)",
    "must be keep, on or off": "допустимо keep, on или off",
    "{what} prints no table for CSV: use text or json": "{what} не выводит таблицу для CSV: используйте text или json",
    "this report has no table to write as CSV": "в этом отчёте нет таблицы для CSV",
    "check REDMINE_API_KEY and that the REST API is enabled (helpdesk doctor)":
        "проверьте REDMINE_API_KEY и что REST API включён (helpdesk doctor)",
    "is Redmine running? (scripts/redmine-local status)": "Redmine запущен? (scripts/redmine-local status)",
    "trust the server's certificate (REQUESTS_CA_BUNDLE), or pass --insecure for a test server":
        "добавьте сертификат сервера в доверенные (REQUESTS_CA_BUNDLE) или для тестового сервера --insecure",
    "another `helpdesk sweep` is running; it is safe to try again later":
        "уже идёт другой `helpdesk sweep`; можно безопасно повторить позже",
    "TLS certificate verification is OFF (--insecure)": "проверка TLS-сертификатов ОТКЛЮЧЕНА (--insecure)",
    "set REDMINE_URL to the address Redmine really answers on (scheme, host and port)":
        "укажите в REDMINE_URL адрес, на котором Redmine действительно отвечает (схема, хост и порт)",
    # doctor
    "ok": "ок",
    "problem": "проблема",
    "warning": "внимание",
    "info": "инфо",
    "fix: {fix}": "исправить: {fix}",
    "all good": "всё в порядке",
    "connection": "подключение",
    "API key": "API-ключ",
    "REST API": "REST API",
    "status": "статус",
    "tracker": "трекер",
    "priority": "приоритет",
    "activity": "деятельность",
    "custom field": "настраиваемое поле",
    "role": "роль",
    "group": "группа",
    "workflow": "последовательность действий",
    "status transitions": "переходы статусов",
    "email notifications": "уведомления по почте",
    "missing": "отсутствует",
    "mode": "режим",
    "migration or live": "миграция или рабочий",
    "administrator {login}": "администратор {login}",
    "run `helpdesk provision --ruby > p.rb` and `rails runner p.rb` on the Redmine host":
        "выполните `helpdesk provision --ruby > p.rb` и `rails runner p.rb` на сервере Redmine",
    "401: the key is wrong or the REST API is disabled": "401: ключ неверен или REST API выключен",
    "enable Administration → Settings → API → REST, check REDMINE_API_KEY":
        "включите Администрирование → Настройки → API → REST, проверьте REDMINE_API_KEY",
    "enable the REST API (Setting.rest_api_enabled = '1')": "включите REST API (Setting.rest_api_enabled = '1')",
    "the key belongs to '{login}', who is not an administrator": "ключ принадлежит '{login}', а он не администратор",
    "use an administrator's API key (impersonation and provisioning need it)":
        "нужен API-ключ администратора (для работы от имени пользователей и настройки)",
    "not exposed by the REST API; provisioning sets them from mappings.yaml":
        "REST API их не показывает; настройка (provision) задаёт их по mappings.yaml",
    "ON: a migration would email every client": "ВКЛЮЧЕНЫ: миграция разошлёт письма всем клиентам",
    "off (as recorded by the last provisioning run)": "выключены (по записи последней настройки)",
    "unknown: never provisioned by helpdesk": "неизвестно: helpdesk ещё не настраивал этот Redmine",
    "provision with --notifications off before migrating": "перед миграцией: provision с --notifications off",
    "default": "по умолчанию",
    "default is {default}, want {want}": "по умолчанию {default}, нужно {want}",
    "is_closed is {closed}, want {want}": "is_closed = {closed}, нужно {want}",
    "default status is {default}, want {want}": "статус по умолчанию {default}, нужно {want}",
    "not usable as a filter": "нельзя использовать как фильтр",
    "not searchable": "не участвует в поиске",
    "clients can read private notes": "клиенты видят приватные комментарии",
    "{n} problem(s)": "проблем: {n}",
    # migration
    "Migration plan (nothing written)": "План миграции (ничего не записано)",
    "Migration run": "Миграция",
    "export {export} · ledger {ledger}": "выгрузка {export} · журнал {ledger}",
    "export {export} · ledger {ledger} · bad lines kept whole in {rejects}":
        "выгрузка {export} · журнал {ledger} · плохие строки целиком в {rejects}",
    "tickets read": "прочитано обращений",
    "issues to create": "задач будет создано",
    "issues created": "задач создано",
    "issues already there": "задач уже есть",
    "notes to write": "комментариев будет записано",
    "notes written": "комментариев записано",
    "attachments to upload": "вложений будет загружено",
    "attachments uploaded": "вложений загружено",
    "time entries to log": "трудозатрат будет внесено",
    "time entries logged": "трудозатрат внесено",
    "bad records": "плохих записей",
    "findings": "замечаний",
    "notifications": "уведомления",
    "emails if notifications stay on (up to)": "писем, если уведомления не выключить (до)",
    "API requests": "запросов к API",
    "seconds": "секунд",
    "object": "объект",
    "would create": "будет создано",
    "create": "создано",
    "match": "найдено",
    "update": "обновлено",
    "skip": "пропущено",
    "fail": "ошибок",
    "category": "категория",
    "file": "файл",
    "line": "строка",
    "id": "id",
    "field": "поле",
    "reason": "причина",
    "portal field": "поле портала",
    "value": "значение",
    "tickets": "обращений",
    "Objects by outcome": "Объекты по результату",
    "What it does": "Действия по объектам",
    "Findings (bad records, unmapped values, attachments, authorship)":
        "Замечания (плохие записи, значения без соответствия, вложения, авторство)",
    "Unmapped portal values": "Значения портала без соответствия",
    "Every portal value has a mapping.": "У каждого значения портала есть соответствие.",
    "{category}: first {shown} of {total} shown": "{category}: показаны первые {shown} из {total}",
    "Migration verify": "Проверка миграции",
    "ticket": "обращение",
    "issue": "задача",
    "expected": "ожидалось",
    "actual": "фактически",
    "No difference.": "Расхождений нет.",
    "tickets checked": "обращений проверено",
    "differences": "расхождений",
    "Differences": "Расхождения",
    # sweeps
    "Sweep plan": "План обхода",
    "Sweep plan (dry run)": "План обхода (пробный прогон)",
    "evaluated at {now}": "на момент {now}",
    "actions": "действий",
    "writes": "записей",
    "SLA breaches": "нарушений SLA",
    "candidates": "кандидатов",
    "Actions": "Действия",
    "Rule": "Правило",
    "Issue": "Задача",
    "Action": "Действие",
    "SLA": "SLA",
    "Deadline": "Срок",
    "Reason": "Причина",
    "Nothing to do.": "Делать нечего.",
    "Outcomes": "Результаты",
    "rule": "правило",
    "action": "действие",
    "outcome": "результат",
    # SLA report
    "SLA report": "Отчёт по SLA",
    "issues created {period}": "задачи, созданные {period}",
    "clocks": "отсчётов",
    "met": "соблюдено",
    "breached": "нарушено",
    "compliance %": "соблюдение, %",
    "Priority": "Приоритет",
    "Company": "Компания",
    "Issues": "Задачи",
    "Met": "Соблюдено",
    "Breached": "Нарушено",
    "Running": "Идёт",
    "At risk": "Под угрозой",
    "Compliance %": "Соблюдение, %",
    "State": "Состояние",
    "Start": "Начало",
    "Stopped": "Остановлено",
    "Used": "Израсходовано",
    "Compliance per rule, priority and company": "Соблюдение по правилам, приоритетам и компаниям",
    "No issues in the period.": "За период задач нет.",
    "Compliance per priority": "Соблюдение по приоритетам",
    "Met / (met + breached), %": "Соблюдено / (соблюдено + нарушено), %",
    "Breached and at-risk clocks": "Нарушенные и находящиеся под угрозой сроки",
    "No breaches.": "Нарушений нет.",
    # billing
    "Consultation billing {month}": "Консультации к оплате за {month}",
    "Consultations": "Консультации",
    "Logged h": "Списано, ч",
    "Billable h": "К оплате, ч",
    "Subject": "Тема",
    "Tracker": "Трекер",
    "Time entries": "Трудозатраты",
    "No consultation time this month.": "В этом месяце консультаций нет.",
    "Billable hours per company": "Часы к оплате по компаниям",
    "Billable hours": "Часы к оплате",
    "Logged hours": "Списано часов",
    "Companies": "Компании",
    "Time entries billed": "Трудозатрат к оплате",
    "{billed} of {seen}": "{billed} из {seen}",
    "Issues not readable": "Задачи, которые не удалось прочитать",
    "Per company": "По компаниям",
    "Each consultation is rounded up before adding.": "Каждая консультация округляется вверх до сложения.",
    "Per issue": "По задачам",
    "What was rounded: one row per billed unit.": "Что округлялось: одна строка на оплачиваемую единицу.",
    "(no issue)": "(без задачи)",
    "h": "ч",
    "time on {t_what}; each time entry rounded up to a whole hour":
        "время по {t_what}; каждая запись трудозатрат округляется вверх до целого часа",
    "time on {t_what}; each issue's time in the month rounded up to a whole hour":
        "время по {t_what}; время задачи за месяц округляется вверх до целого часа",
    "time on {t_what}; each issue's time on one day rounded up to a whole hour":
        "время по {t_what}; время задачи за один день округляется вверх до целого часа",
    "Free consultations": "Бесплатные консультации",
    "Issues marked «{field}»: listed, not billed.": "Задачи с отметкой «{field}»: показаны, к оплате не идут.",
    "No free consultations this month.": "В этом месяце бесплатных консультаций нет.",
    "{t_first} and {t_second}": "{t_first} и {t_second}",
    "{t_first} or {t_second}": "{t_first} или {t_second}",
    "tracker {names}": "трекеру {names}",
    "activity {names}": "деятельности {names}",
    "nothing": "ничему",
    # registrations
    "Accounts awaiting activation": "Учётные записи, ожидающие активации",
    "Pending": "Ожидают",
    "Approvable by domain": "Можно одобрить по домену",
    "Need a person": "Нужно решение человека",
    "Pending accounts": "Ожидающие учётные записи",
    "Nobody is waiting.": "Никто не ждёт.",
    "Login": "Логин",
    "Mail": "Почта",
    "Project": "Проект",
    "Registration approvals": "Одобрение регистраций",
    "Registration approvals (dry run: nothing written)": "Одобрение регистраций (пробный прогон: ничего не записано)",
    "Accounts": "Учётные записи",
    "Status": "Статус",
    "Line": "Строка",
    "approved": "одобрено",
    "would-approve": "будет одобрено",
    "skipped": "пропущено",
    "unmatched": "без совпадения",
    "error": "ошибка",
}

_KINDS = {"project": "проект", "user": "пользователь", "membership": "участие в проекте", "issue": "задача",
          "journal": "комментарий", "attachment": "вложение", "time_entry": "трудозатраты", "complaint": "жалоба",
          "category": "категория", "lock": "блокировка"}
_SLA_STATES = {"ok": "в срок", "at-risk": "под угрозой", "breached": "нарушен", "met": "соблюдён"}
# Codes in the cells of known columns (by column key), shown in Russian; JSON keeps the codes.
RUSSIAN_CODES: Mapping[str, Mapping[str, str]] = {
    "kind": _KINDS,
    "category": {"bad-record": "плохая запись", "unmapped-value": "значение без соответствия",
                 "login-collision": "совпадение логинов", "attachment": "вложение", "authorship": "авторство",
                 "workflow": "переход статуса", "write-failed": "запись не удалась",
                 "count-mismatch": "расхождение счёта",
                 "text-cleaned": "текст очищен", "time-entry": "запись времени"},
    "action": {"comment": "комментарий", "note": "заметка", "close": "закрыть", "set-status": "сменить статус",
               "watch": "наблюдатель", "assign": "назначить", "flag": "отметить"},
    "sla": _SLA_STATES,
    "state": _SLA_STATES,
    "status": {"approved": "одобрено", "would-approve": "будет одобрено", "skipped": "пропущено",
               "unmatched": "без совпадения", "error": "ошибка"},
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Placeholders that only ever hold a count: "{billed} of {seen}" must not match "Ticket 7 of 9 and more".
_COUNTS = frozenset({"n", "hidden", "shown", "total", "billed", "seen"})
_NUMBER = r"\d+"


def _pattern(template: str) -> re.Pattern[str]:
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:match.start()]))
        name = match.group(1)
        parts.append(f"(?P<{name}>{_NUMBER if name in _COUNTS else '.+?'})")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True)
class Messages:
    """One language's catalogue; immutable, handed to whatever renders for a person."""

    lang: Lang
    catalogue: Mapping[str, str] = field(default_factory=dict, repr=False)
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    _templates: tuple[tuple[re.Pattern[str], str, bool], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Connectors first (they split a part), then the most literal text: a looser template loses.
        templates = sorted((k for k in self.catalogue if _PLACEHOLDER.search(k)),
                           key=lambda k: (not k.startswith("{t_"), -len(_PLACEHOLDER.sub("", k))))
        object.__setattr__(self, "_templates", tuple(
            (_pattern(k), self.catalogue[k], k.startswith("{t_")) for k in templates))

    def __call__(self, message_id: str, **values: object) -> str:
        """Our own message by its English id, with values filled in (values are not translated)."""
        return self.catalogue.get(message_id, message_id).format(**values)

    def text(self, text: str, *, nested: bool = False) -> str:
        """Translate text a builder has already formatted; unknown text (data) comes back as it is.

        Templates that start with a translated part ("{t_first} and {t_second}") only apply
        inside another template's part, so a company called "Smith and Sons" stays as it is.
        """
        if text in self.catalogue:
            return self.catalogue[text]
        for pattern, target, nested_only in self._templates:
            if nested_only and not nested:
                continue
            match = pattern.fullmatch(text)
            if match is not None:
                values = {k: self.text(v, nested=True) if k.startswith("t_") else v
                          for k, v in match.groupdict().items()}
                return target.format(**values)
        return text

    def rows(self, n: int) -> str:
        """"3 rows" with the plural form the language needs."""
        return f"{n} {self.rows_word(plural_category(self.lang, n))}"

    def rows_word(self, form: str) -> str:
        """The word "rows" in a CLDR plural form (one, few, many, other), as a page script picks it."""
        if self.lang == "en":
            return "row" if form == "one" else "rows"
        return {"one": "строка", "few": "строки"}.get(form, "строк")

    def localize(self, report: Report) -> Report:
        """The same report with its labels in this language; cell values (data) are untouched."""
        if not self.catalogue:
            return report
        t = self.text
        return report.model_copy(update={
            "title": t(report.title),
            "subtitle": t(report.subtitle) if report.subtitle else report.subtitle,
            "summary": [self._metric(m) for m in report.summary],
            "sections": [self._section(s) for s in report.sections],
        })

    def _metric(self, metric: Metric) -> Metric:
        value = self.text(metric.value) if isinstance(metric.value, str) else metric.value
        return metric.model_copy(update={"label": self.text(metric.label), "value": value})

    def _section(self, section: Section) -> Section:
        t = self.text
        return section.model_copy(update={
            "title": t(section.title),
            "description": t(section.description) if section.description else section.description,
            "table": self.table(section.table) if section.table is not None else None,
            "chart": self._chart(section.chart) if section.chart is not None else None,
        })

    def table(self, table: Table, *, codes: bool = True) -> Table:
        """Labels in this language; with `codes`, also the known codes in cells (kind, category, action…)."""
        columns = [c.model_copy(update={"label": self.text(c.label)}) for c in table.columns]
        coded = {c.key: self.codes[c.key] for c in table.columns if c.key in self.codes} if codes else {}
        rows = [{k: coded[k].get(v, v) if k in coded and isinstance(v, str) else v for k, v in row.items()}
                for row in table.rows] if coded else table.rows
        return table.model_copy(update={"columns": columns, "rows": rows, "empty_text": self.text(table.empty_text)})

    def _chart(self, chart: Chart) -> Chart:
        kinds = self.codes.get("kind", {})
        # Categories are data (companies, priorities) unless every one is an object kind of ours.
        categories = [kinds[c] for c in chart.categories] if chart.categories and all(
            c in kinds for c in chart.categories) else chart.categories
        return chart.model_copy(update={
            "categories": categories,
            "title": self.text(chart.title),
            "unit": self.text(chart.unit) if chart.unit else chart.unit,
            "series": [s.model_copy(update={"name": self.text(s.name)}) for s in chart.series]})


def plural_category(lang: Lang, n: int) -> str:
    """CLDR plural category of a whole number: ru 1 строка, 2 строки, 5 строк, 11 строк, 21 строка."""
    if lang == "en":
        return "one" if n == 1 else "other"
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


ENGLISH = Messages("en")
RUSSIAN_MESSAGES = Messages("ru", RUSSIAN, RUSSIAN_CODES)


def messages_for(lang: str) -> Messages:
    """The catalogue of `lang` ("ru" or "en")."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (one of: {', '.join(LANGS)})")
    return ENGLISH if lang == "en" else RUSSIAN_MESSAGES


def language_from(option: str | None, environ: Mapping[str, str]) -> Lang:
    """`--lang` wins; else the locale (LC_ALL, LC_MESSAGES, LANG: first set); English only if it says en."""
    if option:
        if option not in LANGS:
            raise ValueError(f"unknown language {option!r} (one of: {', '.join(LANGS)})")
        return option  # type: ignore[return-value]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT_LANG
    return DEFAULT_LANG

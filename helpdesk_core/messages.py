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
    "LOCAL (not the regulation): {choice}": "МЕСТНЫЙ ВЫБОР (не регламент): {choice}",
    "{title}: {rows} (all of them: --format json or --html FILE)":
        "{title}: {rows} (все: --format json или --html FILE)",
    "  … {hidden} more rows: use --format json or --html FILE":
        "  … ещё строк: {hidden}; все строки: --format json или --html FILE",
    "No rows.": "Нет строк.",
    "Nothing to report.": "Сообщить нечего.",
    "No data for this chart.": "Для этого графика нет данных.",
    "This report has no sections.": "В этом отчёте нет разделов.",
    "Generated": "Сформирован",
    "MSK": "МСК",
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
    "key '{key}': {t_message}": "ключ «{key}»: {t_message}",
    "{where}, key '{key}': {t_message}": "{where}, ключ «{key}»: {t_message}",
    "'{value}' is not an ISO 8601 timestamp": "'{value}' — не момент времени ISO 8601",
    "unknown language {value} (one of: ru, en)": "неизвестный язык {value} (ru или en)",
    ("the ledger {path} records {count} migrated tickets, but none of the issues it names ({ids}) is in this "
     "Redmine: the ledger belongs to another Redmine, or this one was reset or restored from a copy. Give this "
     "Redmine's ledger with --state, or move the ledger away to migrate afresh"):
        ("журнал миграции {path}: число перенесённых в нём обращений — {count}, но ни одной из названных в нём задач "
         "({ids}) в этом Redmine нет: журнал от другого Redmine, или этот Redmine очищен или восстановлен из "
         "копии. Укажите журнал этого Redmine (--state) или уберите журнал, чтобы перенести заново"),
    ("Redmine's email notifications are on: every client would be emailed. Run `helpdesk provision --ruby "
     "--notifications off` on the Redmine host, or pass --allow-notifications"):
        ("в Redmine включены почтовые уведомления: письмо получил бы каждый клиент. Выполните `helpdesk provision "
         "--ruby --notifications off` на сервере Redmine или укажите --allow-notifications"),
    "REDMINE_URL not set: export it or pass --config FILE":
        "не задан REDMINE_URL: задайте переменную окружения или укажите --config ФАЙЛ",
    "REDMINE_API_KEY not set: export it or pass --config FILE":
        "не задан REDMINE_API_KEY: задайте переменную окружения или укажите --config ФАЙЛ",
    "REDMINE_URL and REDMINE_API_KEY not set: export it or pass --config FILE":
        "не заданы REDMINE_URL и REDMINE_API_KEY: задайте переменные окружения или укажите --config ФАЙЛ",
    "must be keep, on or off": "допустимо keep, on или off",
    # migrator/live.py (`need_error`): what provisioning must create before a migration, one sentence per kind
    **{f"Redmine has no {what} {{names}}: run `helpdesk provision` first (see `helpdesk doctor`)":
       f"в Redmine не хватает {ru}: {{names}} — сначала выполните `helpdesk provision` (см. `helpdesk doctor`)"
       for what, ru in {"tracker": "трекеров", "status": "статусов", "priority": "приоритетов",
                        "activity": "видов деятельности для трудозатрат", "custom field": "настраиваемых полей задач",
                        "project custom field": "настраиваемых полей проектов",
                        "user custom field": "настраиваемых полей пользователей",
                        "time entry custom field": "настраиваемых полей трудозатрат", "role": "ролей",
                        "group": "групп"}.items()},
    "Redmine has no role '{role_name}' (run helpdesk provision)":
        "в Redmine нет роли «{role_name}» (выполните helpdesk provision)",
    ("no companies: Redmine has no project carrying a portal company id (run the migration) and neither "
     "--companies FILE nor --export DIR is given"):
        ("нет компаний: в Redmine нет проекта с ID компании портала (выполните миграцию), и не указаны ни "
         "--companies ФАЙЛ, ни --export КАТАЛОГ"),
    "{what} prints no table for CSV: use text or json": "{what} не выводит таблицу для CSV: используйте text или json",
    "this report has no table to write as CSV": "в этом отчёте нет таблицы для CSV",
    "check REDMINE_API_KEY and that the REST API is enabled (helpdesk doctor)":
        "проверьте REDMINE_API_KEY и что REST API включён (helpdesk doctor)",
    "check REDMINE_URL: scheme, host and port of the Redmine server, and that it is running":
        "проверьте REDMINE_URL: схему, хост и порт сервера Redmine, и что он запущен",
    "check REDMINE_URL: the path after the host must be where Redmine is installed (often none)":
        "проверьте REDMINE_URL: путь после хоста — это место, куда установлен Redmine (обычно его нет)",
    "{what}: {t_reason}; gave up after {n} attempts": "{what}: {t_reason}; попыток: {n}, все неудачны",
    "{what}: {t_reason}; retry {n} of {total} in {s} s": "{what}: {t_reason}; повтор {n} из {total} через {s} с",
    "{where} refused the connection": "{where} отказывает в соединении (там ничего не слушает этот порт)",
    "the host of {where} does not exist (DNS lookup failed)": "хоста из {where} не существует (DNS его не знает)",
    "connection to {where} failed ({name})": "соединение с {where} не удалось ({name})",
    "{where} answered with a web page, not Redmine's API (HTTP 404)":
        "{where} отвечает веб-страницей, а не API Redmine (HTTP 404)",
    "{where} timed out after {s}s": "{where} не ответил за {s} с",
    "TLS connection failed (SSLError)": "TLS-соединение не удалось (SSLError)",
    "{what}: {t_reason}": "{what}: {t_reason}",
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
    "not exposed by the REST API": "REST API их не показывает",
    "provisioning sets them from mappings.yaml": "настройка (provision) задаёт их по mappings.yaml",
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
    "visible to every role (clients would read the portal ids)":
        "видно всем ролям (клиенты прочитали бы ID из портала)",
    "clients can read private notes": "клиенты видят приватные комментарии",
    "{n} problem(s)": "проблем: {n}",
    "{n} checks fine (--verbose lists them)": "в порядке проверок: {n} (перечислит --verbose)",
    "no problems; mode: {mode}": "проблем нет; режим: {mode}",
    "{n} problem(s); mode: {mode}": "проблем: {n}; режим: {mode}",
    "migration (nobody is emailed)": "миграция (писем никто не получает)",
    "live (clients are emailed)": "рабочий (клиенты получают письма)",
    "unknown": "неизвестен",
    "the mode is {t_mode}, not {t_expect} (--for)": "режим — {t_mode}, а не {t_expect} (--for)",
    "migration": "миграция",
    "live": "рабочий",
    "Redmine's email settings": "настройки почты Redmine",
    "not read: the REST API does not expose them; the mode is the last provisioning run's record":
        "не прочитаны: REST API их не показывает; режим — по отметке последней настройки (provision)",
    "pass --rails-runner CMD (or HELPDESK_RAILS_RUNNER) to read Redmine's own settings":
        "укажите --rails-runner CMD (или HELPDESK_RAILS_RUNNER), чтобы прочитать настройки самого Redmine",
    "the rails runner could not run ({name})": "rails runner не запустился ({name})",
    "the rails runner failed (exit code {n})": "rails runner завершился с ошибкой (код {n})",
    "the rails runner printed no settings": "rails runner не вывел настроек",
    "ON in Redmine's settings ({n} events, delivery {method})":
        "ВКЛЮЧЕНЫ в настройках Redmine (событий: {n}, доставка {method})",
    "off in Redmine's settings (no notified events)": "выключены в настройках Redmine (ни одного события)",
    "changed by hand since the last provisioning run (it set {t_marker})":
        "изменены вручную после последней настройки (она ставила {t_marker})",
    "on": "вкл.",
    "off": "выкл.",
    "provision again with the --notifications you mean": "повторите provision с нужным --notifications",
    "switch email off: `helpdesk provision --ruby --notifications off > off.rb` and rails runner off.rb":
        "выключите почту: `helpdesk provision --ruby --notifications off > off.rb` и rails runner off.rb",
    "switch email on: `helpdesk provision --ruby --notifications on > live.rb` and rails runner live.rb":
        "включите почту: `helpdesk provision --ruby --notifications on > live.rb` и rails runner live.rb",
    ("migration mode: nobody is emailed; after migrate, fix-dates and verify, go live with "
     "`helpdesk provision --ruby --notifications on` (README: runbook)"):
        ("режим миграции: писем никто не получает; после migrate, fix-dates и verify переход в рабочий режим — "
         "`helpdesk provision --ruby --notifications on` (README: порядок работ)"),
    ("live: clients are emailed when support answers and when a ticket is created; "
     "switch to migration mode (--notifications off) before another migrate run"):
        ("рабочий режим: клиенты получают письма, когда отвечает поддержка и когда создано обращение; "
         "перед новым migrate run переключитесь в режим миграции (--notifications off)"),
    "fields of the migration for clients": "поля миграции для клиентов",
    "clients can change {fields} in a live tracker": "клиенты могут менять {fields} в рабочем режиме",
    "the migration cannot write {fields} as the client: locked":
        "миграция не сможет записать {fields} от имени клиента: поля закрыты",
    "writable by clients in the first status until go-live":
        "открыты клиентам в первом статусе до перехода в рабочий режим",
    "locked for clients in every status": "закрыты для клиентов во всех статусах",
    "lacks {names}": "не хватает {names}",
    "also has {names}": "лишние права {names}",
    "issues visibility {have} (want {want})": "видимость задач {have} (нужно {want})",
    "403 forbidden": "403: доступ запрещён",
    "language": "язык",
    "Redmine's default language": "язык Redmine по умолчанию",
    "Russian": "русский",
    "{language}, not Russian: clients read pages and emails in it":
        "{language}, а не русский: на нём клиенты читают страницы и письма",
    "not read: the REST API does not expose it; provisioning sets Russian":
        "не прочитан: REST API его не показывает; настройка (provision) ставит русский",
    "accounts' own language": "язык учётных записей",
    "Russian or the default": "русский или язык по умолчанию",
    "{n} accounts (not administrators) read pages and emails in another language of their own":
        "свой язык, не русский, у учётных записей (не администраторов): {n}; на нём они читают страницы и письма",
    "set Russian where it was not the person's choice: Administration → Users → the account → Language":
        "поставьте русский там, где его не выбирал сам человек: Администрирование → Пользователи → "
        "учётная запись → Язык",
    # migration
    "Migration plan (nothing written)": "План миграции (ничего не записано)",
    "Migration run": "Миграция",
    "export {export} · ledger {ledger}": "выгрузка {export} · журнал {ledger}",
    "export {export} · no ledger yet ({ledger}): the state was read from Redmine":
        "выгрузка {export} · журнала ещё нет ({ledger}): состояние прочитано из Redmine",
    "export {export} · no ledger yet ({ledger}): the state was read from Redmine · bad lines kept whole in {rejects}":
        "выгрузка {export} · журнала ещё нет ({ledger}): состояние прочитано из Redmine · "
        "плохие строки целиком в {rejects}",
    ("the plan writes {writes} times, more than --max-actions {limit}: a real run would stop "
     "before its first write"):
        "записей в плане: {writes} — больше, чем --max-actions {limit}: настоящий запуск остановится до первой записи",
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
    "evaluated at {now} (Moscow)": "на момент {now} МСК",
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
    "Actions per rule": "Действия по правилам",
    "to clients": "клиентам",
    "messages to clients": "сообщений клиентам",
    "The client will read": "Клиент прочитает",
    "{rule}: {n}": "{rule}: {n}",
    "Outcomes": "Результаты",
    "rule": "правило",
    "action": "действие",
    "outcome": "результат",
    # SLA report
    "SLA report": "Отчёт по SLA",
    "issues created {period}": "задачи, созданные {period}",
    "issues created {period} · migrated issues left out: {n}":
        "задачи, созданные {period}; перенесённые из портала не учтены: {n}",
    "the period ends ({last}) before it starts ({first})": "период кончается ({last}) раньше, чем начинается ({first})",
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
    "Date": "Дата",
    "Last date": "Последняя дата",
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
    "activity {names}": "виду деятельности {names}",
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

# Help pages (commands' and options' help, by paragraph) and click's usage errors, kept apart from
# RUSSIAN: they change with the commands, not with the reports.
RUSSIAN_HELP: Mapping[str, str] = {
    # issue 19 (plan approval, far-off moments, proof of mailbox, CSV for Russian Excel) and 18.9 (billing)
    ("CSV for --format csv: rfc4180 (comma, 3.45, ISO dates) or excel-ru (BOM, ';', 3,45, ДД.ММ.ГГГГ: opens as "
     "columns in Russian Excel). Default: excel-ru when LC_NUMERIC is Russian, else rfc4180."):
        ("CSV для --format csv: rfc4180 (запятая, 3.45, даты ISO) или excel-ru (BOM, «;», 3,45, ДД.ММ.ГГГГ: в "
         "русском Excel открывается по столбцам). По умолчанию excel-ru, если LC_NUMERIC русский, иначе rfc4180."),
    ("Apply a saved plan as an approval list: each issue is planned again with the named rule at the plan's "
     "moment, and only what the rule produces now and the file lists is written."):
        ("Применить сохранённый план как список одобренного: каждая задача планируется заново названным правилом "
         "на момент плана, и записывается только то, что правило даёт сейчас и что есть в файле."),
    ("Exit code 3 when an action was refused (the rule does not produce it now) or skipped as stale, 1 when one "
     "failed."):
        ("Код выхода 3, если действие отклонено (правило сейчас его не даёт) или пропущено как устаревшее, 1 — "
         "если действие не удалось."),
    ("Write even when the moment (--now, or a saved plan's) is more than a week ahead of the real clock or more "
     "than 400 days behind it."):
        ("Писать, даже если момент (--now или момент сохранённого плана) опережает настоящие часы больше чем на "
         "неделю или отстаёт больше чем на 400 дней."),
    ("A run that writes refuses a --now more than a week ahead or 400 days behind the real clock (exit 2) unless "
     "--allow-far-now."):
        ("Запуск, который пишет, отказывается от --now, опережающего настоящие часы больше чем на неделю или "
         "отстающего больше чем на 400 дней (код 2), если не указан --allow-far-now."),
    "List accounts awaiting approval, each with its company by email domain, or why none.":
        "Список учётных записей, ждущих одобрения: у каждой — компания по почтовому домену или почему её нет.",
    ("Awaiting: registered accounts (mailbox not confirmed) and active ones in no project yet (confirmed through "
     "Redmine's activation email). Only confirmed ones are approvable by domain. Exit code 0 when every one can be "
     "approved by its domain, 3 when some need a person (unconfirmed mailbox, public or unknown domain, domain "
     "shared by two companies)."):
        ("Ждут одобрения: зарегистрированные записи (почта не подтверждена) и активные, ещё не состоящие ни в одном "
         "проекте (почта подтверждена письмом активации Redmine). По домену одобряются только подтверждённые. Код "
         "выхода 0, если каждую можно одобрить по домену, 3 — если некоторым нужен человек (почта не подтверждена, "
         "домен общедоступный или неизвестный, домен у двух компаний)."),
    ("Access needs proof: by domain (LOGIN..., --all-matching) only accounts that confirmed their mailbox through "
     "Redmine's activation email; an unconfirmed one, or one whose domain is public, unknown or shared, only from "
     "a request support received (--from-csv), whose company must be a client company and whose email domain must "
     "be that company's (or the row names the login alone). Administrators are never approved. Exit code 0 when "
     "everything asked for was done, 3 when something was skipped or a CSV row matched no account, 1 on errors."):
        ("Доступ — только с доказательством: по домену (LOGIN..., --all-matching) — лишь записи, подтвердившие почту "
         "письмом активации Redmine; неподтверждённые и записи с общедоступным, неизвестным или общим доменом — "
         "только по запросу, полученному поддержкой (--from-csv), где компания должна быть клиентской, а домен "
         "почты — её доменом (или в строке указан один логин). Администраторы не одобряются никогда. Код выхода 0, "
         "если сделано всё, что просили, 3 — если что-то пропущено или строка CSV не нашла учётную запись, 1 — при "
         "ошибках."),
    ("Time entries of the month with the activity «Консультация» on any tracker (or the given activities and/or "
     "trackers) are read from Redmine; each consultation (an issue's time on one day) is rounded up to a whole "
     "hour with exact decimals. Issues support marked «Бесплатная консультация» are listed, not billed."):
        ("Из Redmine читаются трудозатраты месяца с видом деятельности «Консультация» на любом трекере (или с "
         "заданными видами деятельности и/или трекерами); каждая консультация (время одной задачи за один день) "
         "округляется вверх до целого часа, в точных десятичных. Задачи, отмеченные поддержкой как «Бесплатная "
         "консультация», перечисляются, но не оплачиваются."),
    ("Tracker whose time is consultation time (repeatable). With --tracker or --activity, the two lists as given "
     "are the whole selection."):
        ("Трекер, время на котором — консультации (можно повторять). С --tracker или --activity выбор — ровно эти "
         "два списка."),
    "Activity whose time is consultation time (repeatable; default Консультация, on any tracker).":
        ("Вид деятельности, время с которым — консультации (можно повторять; по умолчанию Консультация, на "
         "любом трекере)."),
    ('Move Nemo Travel support from the client portal to Redmine, and run the tracker by its regulation. '
     'Connection: REDMINE_URL and REDMINE_API_KEY, or --config FILE.'):
        ('Перенос техподдержки Nemo Travel из клиентского портала в Redmine и работа трекера по регламенту. '
         'Подключение: REDMINE_URL и REDMINE_API_KEY или --config FILE.'),
    'Print the version and exit.': 'Показать версию и выйти.',
    ('Prints the problems, warnings and the mode (--verbose: every check). Exit code 0 when everything is in '
     'place, 3 when something is missing or wrong (or the mode is not --for\'s).'):
        ('Выводит проблемы, предупреждения и режим (--verbose — все проверки). Код выхода 0, если всё на месте, '
         '3 — если чего-то нет, что-то не так или режим не тот, что в --for.'),
    'Also list what is fine.': 'Перечислить и то, что в порядке.',
    "The rails runner command of this Redmine: Redmine's real email setting is read with it.":
        'Команда rails runner этого Redmine: с ней читается настоящая настройка почты Redmine.',
    'migration or live: the mode Redmine must be in for what comes next.':
        'migration или live: в каком режиме Redmine должен быть для следующего шага.',
    'YAML file with `redmine: {url, api_key}`; REDMINE_URL / REDMINE_API_KEY override it.':
        'YAML-файл с `redmine: {url, api_key}`; REDMINE_URL и REDMINE_API_KEY важнее него.',
    'mappings.yaml to use instead of the bundled one.': 'Свой mappings.yaml вместо встроенного.',
    'Do not verify TLS certificates (prints a warning).': 'Не проверять TLS-сертификаты (с предупреждением).',
    ('Language of tables, reports and hints: ru or en. Default: en when the locale (LC_ALL, LC_MESSAGES, LANG) is '
     'English, else ru. JSON is always the same.'):
        ('Язык таблиц, отчётов, подсказок и справки: ru или en. По умолчанию en, если локаль (LC_ALL, LC_MESSAGES, '
         'LANG) английская, иначе ru. JSON от языка не зависит. Можно указать и после команды.'),
    'Rows per table on the terminal (0: one line per table); JSON, CSV and HTML carry every row.':
        'Строк таблицы в терминале (0 — одна строка на таблицу); в JSON, CSV и HTML — все строки.',
    'Install completion for the current shell.': 'Установить автодополнение для текущей оболочки.',
    'Show completion for the current shell, to copy it or customize the installation.':
        'Показать сценарий автодополнения для текущей оболочки (чтобы скопировать или настроить).',
    'Print a Ruby script that creates or updates every object of mappings.yaml.':
        'Вывести Ruby-скрипт, который создаёт или обновляет все объекты из mappings.yaml.',
    ("Redmine's REST API cannot create trackers, statuses, priorities, custom fields, roles or workflows; run the "
     'script on the Redmine host. Running it twice changes nothing.'):
        ('REST API Redmine не умеет создавать трекеры, статусы, приоритеты, настраиваемые поля, роли и '
         'последовательности действий; скрипт выполняют на сервере Redmine. Повторный запуск ничего не меняет.'),
    'Print the rails-runner script (required).': 'Вывести скрипт для rails runner (обязательно).',
    "keep, on or off: switch Redmine's email notifications (off during a migration).":
        'keep, on или off: оставить, включить или выключить почтовые уведомления Redmine (на время миграции — off).',
    'Check a live Redmine against mappings.yaml and say how to fix each problem.':
        'Сверить работающий Redmine с mappings.yaml и подсказать, как исправить каждую проблему.',
    'Exit code 0 when everything is in place, 3 when something is missing or wrong.':
        'Код выхода 0, если всё на месте, 3 — если чего-то нет или что-то не так.',
    ("text for people; json prints one JSON document and nothing else on stdout; csv prints the report's main table "
     '(commands that print a report).'):
        ('text — для людей; json — один JSON-документ и ничего больше в stdout; csv — главная таблица отчёта (у '
         'команд, которые выводят отчёт).'),
    'Move a portal export into Redmine: plan, run, verify, fix-dates.':
        'Перенос выгрузки портала в Redmine: `plan`, `run`, `verify`, `fix-dates`.',
    ('Show what `run` would do, writing nothing anywhere (not even the ledger): creates, matches, bad records, '
     'unmapped values, and every portal user whose email matches an account already in Redmine.'):
        ('Показать, что сделает `run`, ничего никуда не записывая (даже в журнал): что будет создано, что найдено, '
         'плохие записи, значения без соответствия и пользователи портала, чья почта совпадает с уже существующей '
         'учётной записью Redmine.'),
    ('Reads the export and the live Redmine. Exit 0 when clean, 3 when something needs attention. Bad lines are '
     'written whole only when asked (--rejects DIR).'):
        ('Читает выгрузку и работающий Redmine. Код выхода 0, если всё чисто, 3 — если что-то требует внимания. '
         'Плохие строки записываются целиком только по просьбе (--rejects DIR).'),
    'The export: a directory or a .zip (portal-export-v1).': 'Выгрузка: каталог или .zip (portal-export-v1).',
    'The ledger (SQLite). Default: <export>.ledger.sqlite beside the export.':
        'Журнал миграции (SQLite). По умолчанию <выгрузка>.ledger.sqlite рядом с выгрузкой.',
    'Also write the report as one self-contained HTML page.':
        'Записать отчёт ещё и как одну самодостаточную HTML-страницу.',
    ('Largest attachment Redmine accepts (default: what the last run recorded in the ledger, '
     'else mappings settings).'):
        ('Наибольшее вложение, которое принимает Redmine (по умолчанию: записанное последним запуском '
         'в журнале, иначе из настроек mappings).'),
    "Judge attachments by this limit, KB (default: the one the run recorded in the ledger, else mappings settings).":
        "Судить о вложениях по этому пределу, КБ (по умолчанию — записанному запуском в журнале, иначе из настроек "
        "mappings).",
    ("Write as accounts that already exist in Redmine with a portal user's email (never an administrator's or a "
     'locked one; their status is never changed). Without it such users are held: the stand-in writes for them, '
     'naming them.'):
        ('Писать от имени учётных записей Redmine, у которых та же почта, что у пользователя портала (никогда — '
         'администратора или заблокированной; их статус не меняется). Без этого такие пользователи придерживаются: '
         'за них пишет заместитель, называя их.'),
    'Directory for the bad lines, whole, for a corrected re-run (DIR/<file>.jsonl byte for byte + DIR/index.jsonl).':
        ('Каталог для плохих строк целиком, для исправления и повторного запуска (DIR/<файл>.jsonl байт в байт + '
         'DIR/index.jsonl).'),
    'Migrate the export into Redmine. Safe to re-run: what is done is skipped.':
        'Перенести выгрузку в Redmine. Повторять безопасно: сделанное пропускается.',
    ('Bad lines are written whole to --rejects DIR (default: <report>.rejects beside --report, else '
     '<export>.rejects beside the export), replaced by each run, absent when there are none.'):
        ('Плохие строки записываются целиком в --rejects DIR (по умолчанию <отчёт>.rejects рядом с --report, иначе '
         '<выгрузка>.rejects рядом с выгрузкой); каждый запуск их заменяет; если плохих строк нет, каталога нет.'),
    ('Tickets written in parallel; with --loader rails, the number of loader processes (2 on a 2-core Redmine host '
     'is a good start).'):
        ('Сколько обращений записывать параллельно; с --loader rails — число процессов загрузчика (для сервера '
         'Redmine с 2 ядрами хорошее начало — 2).'),
    'Write counts and bad records as JSON.': 'Записать счётчики и плохие записи в JSON.',
    'Run even though Redmine would email clients.': 'Выполнять, даже если Redmine разошлёт письма клиентам.',
    ('How new tickets are written: rest (the API, as each author) or rails (inside Redmine through rails runner: '
     'portal dates and authors set natively, no email; needs host access).'):
        ('Как записываются новые обращения: rest (через API, от имени каждого автора) или rails (внутри Redmine '
         'через rails runner: даты и авторы портала ставятся сразу, писем нет; нужен доступ к серверу).'),
    ("The command that runs a Ruby script inside Redmine, split like a shell would; the loader script's path is "
     "appended. E.g. 'sudo -u www-data RAILS_ENV=production /usr/share/redmine/bin/rails runner'."):
        ('Команда, которая выполняет Ruby-скрипт внутри Redmine (разбирается как в оболочке); путь к скрипту '
         "загрузчика добавляется в конец. Например: 'sudo -u www-data RAILS_ENV=production "
         "/usr/share/redmine/bin/rails runner'."),
    'Reconcile the export with Redmine ticket by ticket; exit 0 only when nothing differs.':
        'Сверить выгрузку с Redmine обращение за обращением; код выхода 0 только если расхождений нет.',
    ('Reads the export and Redmine only (projects by their company id, issues by «ID в портале», notes and time '
     'entries by the markers the migration wrote); a ledger, when there is one, is read (never written) only to '
     'know which pre-existing accounts were adopted and which settings the run used: the attachment limit is the '
     "run's (recorded in the ledger) unless --attachment-limit-kb is given."):
        ('Читает только выгрузку и Redmine (проекты — по ID компании, задачи — по «ID в портале», комментарии и '
         'трудозатраты — по меткам миграции); журнал, если он есть, только читается — чтобы знать, какие '
         'существующие учётные записи были приняты и с какими настройками шёл запуск: предел размера вложений '
         'берётся из запуска (записан в журнале), если не задан --attachment-limit-kb.'),
    'Print a rails-runner script that restores portal dates on migrated issues and journals.':
        'Вывести скрипт для rails runner, который возвращает перенесённым задачам и комментариям даты портала.',
    'Print the rails-runner script.': 'Вывести скрипт для rails runner.',
    'The ledger of the migration.': 'Журнал миграции.',
    "Apply the regulation's rules to the tracker (plan → apply).":
        'Применить правила регламента к трекеру (plan → apply).',
    'Show what each rule would do, per issue, with the reason and computed times. Reads only.':
        ('Показать, что сделает каждое правило, по задачам, с причиной, расчётными сроками и текстом, который '
         'получит клиент. Только читает.'),
    'Exit code 3 when the plan reports SLA breaches.': 'Код выхода 3, если в плане есть нарушения SLA.',
    'Evaluate at this moment instead of the clock (ISO 8601 with offset).':
        'Считать на этот момент, а не по часам (ISO 8601 со смещением).',
    'Run only this rule (repeatable).': 'Только это правило (можно повторять).',
    'Write the plan (JSON) for `sweep apply`.': 'Записать план (JSON) для `sweep apply`.',
    'policies.yaml to use instead of the bundled one.': 'Свой policies.yaml вместо встроенного.',
    'audit_rules.yaml instead of the bundled one.': 'Свой audit_rules.yaml вместо встроенного.',
    'Candidates read from Redmine at once while planning (the plan is the same for any N; 1 reads them one by one).':
        'Сколько задач-кандидатов читать из Redmine одновременно (план одинаков при любом N; 1 — по одной).',
    'Apply exactly a saved plan; an action whose issue changed since the plan is skipped.':
        'Выполнить ровно сохранённый план; действие над задачей, изменившейся после плана, пропускается.',
    'Exit code 3 when an action was skipped as stale, 1 when one failed.':
        'Код выхода 3, если действие пропущено как устаревшее, 1 — если действие не удалось.',
    'Abort before the first write if the plan writes more than N times.':
        'Прервать до первой записи, если план пишет больше N раз.',
    'Directory of the lock file and audit.jsonl.': 'Каталог файла блокировки и audit.jsonl.',
    'Seconds to wait for another sweep to finish (0: give up at once, exit 3).':
        'Сколько секунд ждать окончания другого обхода (0 — не ждать, код выхода 3).',
    'Plan and apply in one go under a lock (for cron).':
        'Спланировать и выполнить за один раз под блокировкой (для cron).',
    'Print the plan, write nothing.': 'Показать план, ничего не записывать.',
    'List every rule: id, whether enabled, actions, parameters and its YAML form.':
        'Перечислить правила: id, включено ли, действия, параметры и вид в YAML.',
    'SLA compliance reports.': 'Отчёты о соблюдении SLA.',
    'Breaches and compliance per priority, company and rule for issues created in a period.':
        'Нарушения и соблюдение SLA по приоритетам, компаниям и правилам для задач, созданных за период.',
    ('Without --from/--to: the last full month, issues migrated from the portal left out (unless '
     '--include-migrated). Exit code 3 when there are breaches, 2 for a reversed period.'):
        ('Без --from/--to — последний полный месяц, без задач, перенесённых из портала (если не '
         '--include-migrated). Код выхода 3, если есть нарушения, 2 — если период перевёрнут.'),
    'First creation day (YYYY-MM-DD). Default: the last full month.':
        'Первый день создания (ГГГГ-ММ-ДД). По умолчанию — последний полный месяц.',
    'Last creation day (YYYY-MM-DD).': 'Последний день создания (ГГГГ-ММ-ДД).',
    'Without --from/--to: also judge issues migrated from the portal.':
        'Без --from/--to: учитывать и задачи, перенесённые из портала.',
    'Registration approvals: accounts clients registered themselves.':
        'Одобрение регистраций: учётные записи, которые клиенты завели сами.',
    'List accounts awaiting activation, each with its company by email domain, or why none.':
        ('Перечислить учётные записи, ожидающие активации, с компанией по почтовому домену или с причиной, почему '
         'её нет.'),
    ('Exit code 0 when every pending account can be approved by its domain, 3 when some need a person (public mail '
     'domain, unknown domain, domain shared by two companies).'):
        ('Код выхода 0, если каждую ожидающую запись можно одобрить по домену, 3 — если для некоторых нужно решение '
         'человека (публичный почтовый домен, неизвестный домен, домен двух компаний).'),
    ('YAML file with a `companies:` section (name, project, domains) and optional `public_domains:` / '
     '`extra_public_domains:`.'):
        ('YAML-файл с разделом `companies:` (name, project, domains) и, при желании, `public_domains:` / '
         '`extra_public_domains:`.'),
    ('A portal export (directory or .zip): companies.jsonl gives the domains. Not needed after a migration: the '
     "domains and company id are read from the projects' custom fields."):
        ('Выгрузка портала (каталог или .zip): домены берутся из companies.jsonl. После миграции не нужна: домены и '
         'ID компании читаются из настраиваемых полей проектов.'),
    "Activate accounts and make each a member of its own company's project, with the client role.":
        'Активировать учётные записи и сделать каждую участником проекта своей компании с ролью «Клиент».',
    ('An account whose domain is public, unknown or shared by two companies is never approved by the domain rule; '
     'name its company in a CSV (--from-csv). Exit code 0 when everything asked for was done, 3 when something was '
     'skipped or a CSV row matched no account, 1 on errors.'):
        ('Запись с публичным, неизвестным или общим для двух компаний доменом по правилу домена не одобряется '
         'никогда; её компанию называют в CSV (--from-csv). Код выхода 0, если сделано всё, о чём просили, 3 — если '
         'что-то пропущено или строка CSV не совпала ни с одной записью, 1 — при ошибках.'),
    'Logins of pending accounts.': 'Логины ожидающих учётных записей.',
    'Every pending account whose domain names exactly one company.':
        'Все ожидающие записи, чей домен указывает ровно на одну компанию.',
    ('CSV with columns email,company and optional login (or почта,компания,логин): the mailbox a request came '
     'from and the client company it names, which replaces the domain rule.'):
        ('CSV со столбцами email,company и, если нужно, login (или почта,компания,логин): адрес, с которого пришла '
         'просьба, и названная в ней компания клиента — она заменяет правило домена.'),
    'Say what would be done; write nothing.': 'Сказать, что будет сделано; ничего не записывать.',
    'Reports for administrators.': 'Отчёты для администраторов.',
    'Bill consultations of one month: per company and per issue, each rounded up to an hour.':
        'Счёт за консультации одного месяца: по компаниям и по задачам, каждая округляется вверх до часа.',
    ('Time entries of the month on «Обсуждение» issues (and/or the given activities) are read from Redmine; each '
     "consultation (an issue's time on one day) is rounded up to a whole hour with exact decimals. Issues support "
     'marked «Бесплатная консультация» are listed, not billed.'):
        ('Трудозатраты месяца по задачам «Обсуждение» (и/или указанным видам деятельности) читаются из Redmine; '
         'каждая консультация (время задачи за один день) округляется вверх до целого часа точной десятичной '
         'арифметикой. Задачи с отметкой «Бесплатная консультация» показываются, но к оплате не идут.'),
    'Calendar month to bill, YYYY-MM.': 'Календарный месяц счёта, ГГГГ-ММ.',
    'Tracker whose time is consultation time (repeatable; default Обсуждение).':
        'Трекер, время по которому — консультации (можно повторять; по умолчанию Обсуждение).',
    'Activity whose time is consultation time (repeatable), e.g. Консультация.':
        'Деятельность, время по которой — консультации (можно повторять), например Консультация.',
    'any: tracker OR activity; all: tracker AND activity.':
        'any — трекер ИЛИ деятельность; all — трекер И деятельность.',
    ("What one consultation is, rounded up to a whole hour: day (an issue's time on one day, default), entry (each "
     "time entry) or issue (an issue's time in the month)."):
        ('Что считается одной консультацией при округлении до часа: day (время задачи за день, по умолчанию), entry '
         '(каждая запись трудозатрат) или issue (время задачи за месяц).'),
    "Only this project (identifier or id) and its subprojects: one client's bill.":
        'Только этот проект (идентификатор или id) и его подпроекты: счёт одного клиента.',
    'Table for --format csv: companies, issues, consultations, free.':
        'Таблица для --format csv: `companies`, `issues`, `consultations`, `free`.',
    'Example:': 'Пример:',
    'Examples:': 'Примеры:',
    'Usage:': 'Использование:',
    '[OPTIONS]': '[ПАРАМЕТРЫ]',
    'COMMAND [ARGS]...': 'КОМАНДА [АРГУМЕНТЫ]...',
    'Arguments:': 'Аргументы:',
    'Options:': 'Параметры:',
    'Commands:': 'Команды:',
    'Show this message and exit.': 'Показать эту справку и выйти.',
    '({low}…{high})': '({low}…{high})',
    '(at least {low})': '(не меньше {low})',
    '[default: {value}]': '[по умолчанию: {value}]',
    '[env: {name}]': '[переменная: {name}]',
    '[required]': '[обязательно]',
    'see `{command} --help`': 'см. `{command} --help`',
    "No such command '{name}'.": 'нет такой команды: {name}.',
    'No such option: {name}': 'нет такого параметра: {name}',
    'No such option: {name} (Possible options: {options})': 'нет такого параметра: {name} (есть похожие: {options})',
    "Missing argument '{name}'.": 'не хватает аргумента {name}.',
    "Missing option '{name}'.": 'не задан обязательный параметр {name}.',
    "Option '{name}' requires an argument.": 'параметру {name} нужно значение.',
    "Invalid value for '{name}': {t_detail}": 'недопустимое значение {name}: {t_detail}',
    'Got unexpected extra argument ({args})': 'лишний аргумент ({args})',
    'Got unexpected extra arguments ({args})': 'лишние аргументы ({args})',
    'Input should be at least {n}': 'нужно не меньше {n}',
    'Input should be at most {n}': 'нужно не больше {n}',
    '{value} is not a valid integer.': '{value} — не целое число.',
    "Path '{path}' does not exist.": 'путь «{path}» не существует.',
    "File '{path}' does not exist.": 'файла «{path}» не существует.',
    "File '{path}' is a directory.": '«{path}» — каталог, а нужен файл.',
    "Directory '{path}' is a file.": '«{path}» — файл, а нужен каталог.',
    "Invalid value for '{name}' (env var: '{env}'): {t_detail}":
        'недопустимое значение {name} (переменная {env}): {t_detail}',
    'Input should be a valid integer, unable to parse string as an integer': 'нужно целое число',
    'Extra inputs are not permitted': 'такого ключа нет (лишний ключ: опечатка?)',
    'Field required': 'обязательный ключ не задан',
    'Input should be a valid number, unable to parse string as a number': 'нужно число',
    "Value error, '{value}' is not one of {choices}.": '«{value}» — не из списка: {choices}.',
    "file '{path}' does not exist.": 'файла «{path}» не существует.',
    "file '{path}' is a directory.": '«{path}» — каталог, а нужен файл.',
    "path '{path}' does not exist.": 'пути «{path}» не существует.',
    "directory '{path}' is a file.": '«{path}» — файл, а нужен каталог.',
}


# Sentences in report cells (sweep reasons, migration findings): the builders' English, whole or by parts.
# Times, numbers and quoted names are values; "{t_…}" parts are translated in turn.
RUSSIAN_REASONS: Mapping[str, str] = {
    # the migration's one decision layer (migrator/decide.py): who writes for whom
    "comment {id}: written by the API user for {name}, a client of company {company} (not a member of this project)":
        "комментарий {id}: записал пользователь API, автор — {name}, клиент компании {company}, не участник этого "
        "проекта",
    "comment {id}: written by the API user for {name}": "комментарий {id}: записал пользователь API, автор — {name}",
    "ticket author {id} ({name}): unknown or held: created by the stand-in":
        "автор обращения {id} ({name}): неизвестен или придержан — обращение создал заместитель",
    ("ticket author {id} ({name}): a client of company {company}, not a member of this project: created by the "
     "stand-in"):
        "автор обращения {id} ({name}): клиент компании {company}, не участник этого проекта — обращение создал "
        "заместитель",
    "{size} bytes is over the server's limit of {limit}": "{size} байт — больше предела сервера в {limit} байт",
    # sweeps, the conversation model (policies/rules.py)
    "awaiting verification since {since} ({days} d), no word from the client since":
        "ждёт проверки клиентом с {since} ({days} дн.), клиент с тех пор ничего не писал",
    "created {created}, asked for an update {asked}, unanswered for {days} d":
        "создана {created}, уточнение запрошено {asked}, без ответа {days} дн.",
    "client word #{journal} on an issue closed {at}": "клиент написал (запись #{journal}) в задаче, закрытой {at}",
    "waiting for the client since {since}, before the move ({moved}): the go-live message first":
        "ждём ответа клиента с {since}, ещё до переезда ({moved}): сначала сообщение о переезде",
    "{t_reason}; reaches {t_who}": "{t_reason}; получатель: {t_who}",
    "{t_reason}; already escalated this working day ({at})":
        "{t_reason}; уже передано выше в этот рабочий день ({at})",
    "assignee #{id}": "исполнитель #{id}",
    "assignee #{id} (assigned now)": "исполнитель #{id} (назначен сейчас)",
    "lead #{id} (watcher)": "ответственный #{id} (наблюдатель)",
    "support group #{id} (watcher)": "группа поддержки #{id} (наблюдатель)",
    "nobody (`watch` is off and the issue has no assignee)": "никто (`watch` выключено, исполнителя нет)",
    "complaint: told through watchers {ids}": "жалоба: сообщено через наблюдателей {ids}",
    "complaint: assign #{id}": "жалоба: назначить #{id}",
    "client word #{journal} of {at} is the last public word, in «{status}»":
        "последнее публичное слово — клиента (запись #{journal} от {at}), статус «{status}»",
    # sweeps (policies/rules.py, policies/engine.py)
    "waiting for the client since {since} ({days} d ≥ {limit} d), no reminder yet":
        "ждём ответа клиента с {since} ({days} дн. ≥ {limit} дн.), напоминания ещё не было",
    "reminder #{id} of {at} unanswered for {days} d": "напоминание #{id} от {at} без ответа {days} дн.",
    "awaiting verification since {since} ({days} d), no client comment since":
        "ждёт проверки клиентом с {since} ({days} дн.), комментариев клиента с тех пор нет",
    "created {created}, asked for an update {asked}, unanswered in «{status}» for {days} d, no client comment since":
        "создана {created}, уточнение запрошено {asked}, без ответа в «{status}» {days} дн., "
        "комментариев клиента с тех пор нет",
    "client comment #{id} of {at} after «{status}» of {since}":
        "комментарий клиента #{id} от {at} после «{status}» от {since}",
    "client comment #{id} on an issue closed {at}": "комментарий клиента #{id} к задаче, закрытой {at}",
    "{t_reason}; close held: {t_why}": "{t_reason}; закрытие отложено: {t_why}",
    "a reminder is planned in this run": "в этом прогоне запланировано напоминание",
    "another rule closes it in this run": "в этом прогоне её закрывает другое правило",
    "the reminder of {at} is younger than {days} d": "напоминанию от {at} меньше {days} дн.",
    "{t_clock} SLA {t_state}: {priority}, started {start}, deadline {deadline}, used {used}":
        "SLA ({t_clock}) {t_state}: {priority}, начало {start}, срок {deadline}, израсходовано {used}",
    "{t_clock} SLA {t_state}: {priority}, started {start}, deadline {deadline}, used {used} (already noted)":
        "SLA ({t_clock}) {t_state}: {priority}, начало {start}, срок {deadline}, израсходовано {used} (уже отмечено)",
    "{t_reason} (already noted)": "{t_reason} (уже отмечено)",
    "{t_reason} (already escalated)": "{t_reason} (уже передано выше)",
    "«{button}» pressed by {who} at {at}; complaint no. {n}": "«{button}»: {who}, {at}; жалоба № {n}",
    "comment #{id}: {summary}": "комментарий #{id}: {summary}",
    "at-risk": "под угрозой",
    "reaction": "реакция",
    "analysis": "анализ",
    # applying a sweep (policies/engine.py)
    "reported only": "только отмечено",
    "done": "сделано",
    "already done (marker present)": "уже сделано (метка на месте)",
    "stale: issue changed since the plan (updated_on {before} → {after})":
        "устарело: задача изменилась после плана (updated_on {before} → {after})",
    "stale: status changed since the plan ({before} → {after})":
        "устарело: статус изменился после плана ({before} → {after})",
    # registrations (admin/): why an account is or is not approved
    "corporate domain {domain}": "корпоративный домен {domain}",
    "{domain} is a public mail domain: ask for the company (or --from-csv)":
        "{domain} — публичный почтовый домен: уточните компанию (или --from-csv)",
    "no company has the domain {domain}": "ни у одной компании нет домена {domain}",
    "{domain} belongs to several companies: {names}": "{domain} принадлежит нескольким компаниям: {names}",
    "the email address has no valid domain": "у адреса почты нет правильного домена",
    "project '{name}' does not exist": "проекта «{name}» нет",
    "no project carries company id {id} (migrate the company first, or give the project identifier in --companies)":
        "ни у одного проекта нет ID компании {id} (сначала перенесите компанию или укажите идентификатор проекта "
        "в --companies)",
    "several projects carry company id {id} ({names}): give the identifier":
        "ID компании {id} есть у нескольких проектов ({names}): укажите идентификатор",
    "no project named '{name}' (give its identifier in --companies)":
        "нет проекта «{name}» (укажите его идентификатор в --companies)",
    "several projects are named '{name}' ({names}): give the identifier":
        "несколько проектов называются «{name}» ({names}): укажите идентификатор",
    "no company": "нет компании",
    "company '{name}': {t_problem}": "компания «{name}»: {t_problem}",
    "rows {lines} and {line} name different companies": "строки {lines} и {line} называют разные компании",
    "email {email} is pending as '{login}', not '{name}'": "почта {email} ожидает как «{login}», а не «{name}»",
    "several pending accounts use {email}": "{email} у нескольких ожидающих учётных записей",
    "matches no pending account": "не совпадает ни с одной ожидающей учётной записью",
    "CSV line {n}": "строка CSV {n}",
    # users approve --from-csv: a bad file or row, named by line and column
    "{where}: empty file: expected a header row email,company and optional login (почта,компания,логин)":
        "{where}: пустой файл: нужна строка заголовка email,company и, если нужно, login (почта,компания,логин)",
    "{where}: the header must name the columns email,company and optional login (почта,компания,логин); "
    "found: {found}":
        "{where}: в заголовке должны быть столбцы email,company и, если нужно, login (почта,компания,логин); "
        "сейчас: {found}",
    "{where}: column «{column}»: empty; each row names the client company":
        "{where}: столбец «{column}» пуст; в каждой строке нужна компания клиента",
    "{where}: column «{column}»: '{value}' is not an email address":
        "{where}: столбец «{column}»: «{value}» — не адрес электронной почты",
    "{where}: column «{column}»: empty and no login given; each row names the mailbox the request came from":
        "{where}: столбец «{column}» пуст, и логина нет; в каждой строке нужен адрес, с которого пришла просьба",
    # migration verify (migrator/report.py): one sentence per difference
    "difference": "расхождение",
    "projects carrying company id {id}: {n}, should be one": "проектов с ID компании {id}: {n}, а должен быть один",
    "the ticket should be one issue in Redmine; found {n}":
        "обращение должно быть одной задачей в Redmine; найдено: {n}",
    "{field} is «{actual}» in Redmine, the export says «{expected}»":
        "{field} в Redmine — «{actual}», а по выгрузке — «{expected}»",
    "the issue's author is {actual} in Redmine, should be {expected}":
        "автор задачи в Redmine — {actual}, а должен быть {expected}",
    "the author of comment {id} is {actual} in Redmine, should be {expected}":
        "автор комментария {id} в Redmine — {actual}, а должен быть {expected}",
    "attachments missing in Redmine: {names}; in Redmine but not in the export: {extra}":
        "вложения: нет в Redmine: {names}; есть в Redmine, но нет в выгрузке: {extra}",
    "attachments missing in Redmine: {names}": "вложения: нет в Redmine: {names}",
    "attachments in Redmine but not in the export: {names}": "вложения: есть в Redmine, но нет в выгрузке: {names}",
    "attachments differ in content (sha256)": "вложения отличаются содержимым (sha256)",
    "attachments up to {kb} KB (--attachment-limit-kb)": "вложения до {kb} КБ (--attachment-limit-kb)",
    "attachments up to {kb} KB, as the run of {at} used (ledger)":
        "вложения до {kb} КБ, как в запуске {at} (журнал миграции)",
    "{at} MSK": "{at} МСК",
    "attachments up to {kb} KB (mappings.yaml: no run recorded in the ledger)":
        "вложения до {kb} КБ (mappings.yaml: в журнале миграции нет записи о запуске)",
    "link": "ссылка",
    "{actual} of the export's {expected} comments are in Redmine":
        "в Redmine {actual} из {expected} комментариев выгрузки",
    "{actual} private comments in Redmine, {expected} internal in the export":
        "приватных комментариев в Redmine: {actual}, внутренних в выгрузке: {expected}",
    "the issue is in project #{actual} in Redmine, should be in #{expected}":
        "задача в Redmine — в проекте #{actual}, а должна быть в #{expected}",
    "comment {id} is in Redmine {n} times": "комментарий {id} есть в Redmine несколько раз: {n}",
    "time entry {id} is in Redmine {n} times": "запись трудозатрат {id} есть в Redmine несколько раз: {n}",
    "the note [portal:{kind}:{id}] is in Redmine {n} times":
        "заметка [portal:{kind}:{id}] есть в Redmine несколько раз: {n}",
    "attachments uploaded more than once: {n} files in Redmine, {distinct} distinct":
        "вложения загружены повторно: файлов в Redmine — {n}, различных — {distinct}",
    "time entries missing in Redmine: {missing}; in Redmine but not in the export: {extra}":
        "трудозатраты: нет в Redmine — {missing}; есть в Redmine, но нет в выгрузке — {extra}",
    "hours: {actual} in Redmine, {expected} in the export": "часов: в Redmine {actual}, в выгрузке {expected}",
    "{field}: expected {expected}, Redmine has {actual}": "{field}: ожидалось {expected}, в Redmine {actual}",
    # migration findings (migrator/)
    ("Redmine did not let the author write {fields} (the tracker is live: provision --notifications off); "
     "written by the API user"):
        ("Redmine не дал автору записать {fields} (трекер в рабочем режиме: provision --notifications off); "
         "записано от имени API-пользователя"),
    "portal value '{value}' has no mapping; used '{used}'":
        "у значения портала «{value}» нет соответствия; взято «{used}»",
    "logins {logins} differ only in case: kept apart as different people, later ones renamed":
        "логины {logins} различаются только регистром: это разные люди, следующие переименованы",
    "malformed email address '{value}'": "неправильный адрес почты «{value}»",
    "not valid JSON: the line ends before the JSON does (truncated?)":
        "не JSON: строка кончается раньше, чем JSON (обрезана?)",
    "timestamp has no UTC offset": "у момента времени нет смещения от UTC",
    "company {id} is not a valid record of companies.jsonl": "компания {id} — не правильная запись companies.jsonl",
    "duplicate id {id}, first seen on line {n}": "повторный id {id}, впервые — в строке {n}",
    "file {path} is not in the export": "файла {path} нет в выгрузке",
    "file content does not match its sha256 (file {t_detail})":
        "содержимое файла не совпадает с его sha256 (файл {t_detail})",
    "{size} bytes is over the server's limit of {limit} bytes": "{size} байт — больше предела сервера в {limit} байт",
}


# `sweep rules` in Russian: what each rule does, in the regulation's words (the rule's docstring,
# English with YAML, is shown with --lang en). Key: "rule <id>".
RUSSIAN_RULES: Mapping[str, str] = {
    "rule feedback-reminder": "Задача в «Требует обратной связи», клиент не ответил на запрос поддержки не меньше "
                              "after_days дней и напоминания после запроса не было: клиенту уходит напоминание. "
                              "Ответ — это и комментарий, и файл; новый вопрос поддержки после напоминания — новый "
                              "запрос.",
    "rule feedback-autoclose": "Напоминанию после последнего запроса поддержки не меньше after_days дней, клиент с тех "
                               "пор ничего не писал и не прикладывал: задача закрывается с комментарием клиенту.",
    "rule verification-autoclose": "Задача в «Решено, требует проверки» не меньше after_days дней и клиент с тех пор "
                                   "не писал: задача закрывается с комментарием клиенту.",
    "rule stale-year-close": "Открытая задача создана не меньше года назад (та же дата следующего года), ждёт в "
                             "«Требует обратной связи» ответа клиента на запрос поддержки, и клиент с тех пор не "
                             "писал: задача закрывается с комментарием клиенту. after_days и wait_days — местный "
                             "выбор, по умолчанию выключены.",
    "rule go-live-cutover": "Переезд: задача ждёт ответа клиента на запрос, сделанный ещё в старом портале (до "
                            "moved_at). Первое сообщение здесь говорит, что обращение теперь ведётся в новом "
                            "трекере, и спрашивает, актуально ли оно; сроки регламента идут от этого сообщения "
                            "(напоминание через 5 дней, закрытие через 5 дней после напоминания), а до него ни одно "
                            "правило не напоминает и не закрывает такую задачу. Один раз на задачу; порядок — "
                            "план → проверка → запуск (policies/README.md).",
    "rule client-reply-resume": "Клиент ответил в задаче в «Требует обратной связи» или «Решено, требует проверки»: "
                                "статус «В работе» и приватная заметка поддержке.",
    "rule closed-reply-redirect": "Клиент написал в закрытой задаче: один вежливый комментарий, что нужно новое "
                                  "обращение; задача остаётся закрытой.",
    "rule sla-reaction": "Срок реакции: задача должна покинуть «На рассмотрении» в срок (Блокер и Критический — "
                         "15 минут круглосуточно, остальные — 1 рабочий час); нарушения и угрозы — заметкой поддержке.",
    "rule sla-analysis": "Срок первичного анализа: Высокий — 1 сутки, Средний — 3, Низкий — 5 суток от принятия в "
                         "работу; анализ заканчивается первым публичным комментарием поддержки о дальнейших "
                         "этапах, а не решением или закрытием; время в «Требует обратной связи» не считается. "
                         "Для Блокера и Критического регламент числа не даёт: срок не измеряется, если не задан "
                         "местный.",
    "rule priority-audit": "Приоритет не соответствует описанию из регламента: отметка с доводами и предлагаемым "
                           "приоритетом (по желанию — приватная заметка).",
    "rule completeness-audit": "Не хватает данных, которых требует регламент (номера заказов, учётная запись, ссылка, "
                               "браузер, снимки GDS): отметка; по желанию — один вопрос клиенту.",
    "rule tone-audit": "Повышенный тон (почти всё заглавными, «!!!») в обращении или комментарии клиента: отметка для "
                       "сотрудников, автоматически не отвечаем.",
    "rule delay-complaint": "Клиент нажал «Пожаловаться на задержку» или пожаловался в комментарии: приватная заметка, "
                            "наблюдатель и/или исполнитель по настройке; нажатие засчитывается в счётчик жалоб.",
    "enabled": "включено",
    "disabled": "выключено",
    "{id} ({t_state}; actions: {actions})": "{id} ({t_state}; действия: {actions})",
}

_KINDS = {"project": "проект", "user": "пользователь", "membership": "участие в проекте", "issue": "задача",
          "journal": "комментарий", "attachment": "вложение", "time_entry": "трудозатраты", "complaint": "жалоба",
          "category": "категория", "lock": "блокировка",
          "status": "статус"}
_SLA_STATES = {"ok": "в срок", "at-risk": "под угрозой", "breached": "нарушен", "met": "соблюдён"}
# Codes in the cells of known columns (by column key), shown in Russian; JSON keeps the codes.
RUSSIAN_CODES: Mapping[str, Mapping[str, str]] = {
    "kind": _KINDS,
    "field": {"status": "статус", "priority": "приоритет", "reason": "причина обращения", "category": "категория",
              "tracker": "трекер"},
    "category": {"bad-record": "плохая запись", "unmapped-value": "значение без соответствия",
                 "login-collision": "совпадение логинов", "attachment": "вложение", "authorship": "авторство",
                 "workflow": "переход статуса", "write-failed": "запись не удалась",
                 "count-mismatch": "расхождение счёта", "existing-account": "существующая учётная запись",
                 "project-ambiguous": "неоднозначный проект", "ledger-conflict": "расхождение с журналом",
                 "text-cleaned": "текст очищен", "time-entry": "запись времени"},
    "outcome": {"ok": "выполнено", "skipped": "пропущено", "error": "ошибка"},
    "action": {"comment": "комментарий", "note": "заметка", "close": "закрыть", "set-status": "сменить статус",
               "watch": "наблюдатель", "assign": "назначить", "count": "учесть", "flag": "отметить"},
    "sla": _SLA_STATES,
    "client_text": {"(not shown to the client)": "(клиент не увидит)"},
    "state": _SLA_STATES,
    "status": {"approved": "одобрено", "would-approve": "будет одобрено", "skipped": "пропущено",
               "unmatched": "без совпадения", "error": "ошибка"},
}

# Columns whose cells are our own sentences (a reason, a finding), not data: translated like labels
# (a sentence has a space; a single word in them may be data).
SENTENCE_COLUMNS = frozenset({"reason", "difference"})
# Our own one-word reasons (an outcome's "done"): translated in those columns although they have no space.
OWN_WORDS = frozenset({"done"})

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
            if match is None:
                continue
            parts = match.groupdict()
            values = {k: self.text(v, nested=True) if k.startswith("t_") else v for k, v in parts.items()}
            if nested_only and any(values[k] == parts[k] for k in parts if k.startswith("t_")):
                continue  # a connector whose part is not ours split a sentence at its own "or"
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

    def file_size(self, size: int) -> str:
        """A file's size as people say it: bytes, KB or MB (one decimal, the language's decimal sign)."""
        if size < 1024:
            if self.lang == "en":
                return f"{size} byte" + ("" if size == 1 else "s")
            return f"{size} " + {"one": "байт", "few": "байта"}.get(plural_category(self.lang, size), "байт")
        value, unit = (size / 1024, "KB") if size < 1024 * 1024 else (size / 1024 / 1024, "MB")
        number = f"{value:.1f}".removesuffix(".0")
        if self.lang == "ru":
            return f"{number.replace('.', ',')} {'КБ' if unit == 'KB' else 'МБ'}"
        return f"{number} {unit}"

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
        sentences = {c.key for c in table.columns if c.key in SENTENCE_COLUMNS} if codes and self.catalogue else set()
        ours = lambda v: isinstance(v, str) and (" " in v or v in OWN_WORDS)  # noqa: E731
        rows = [{k: coded[k].get(v, v) if k in coded and isinstance(v, str)
                 else self.text(v, nested=True) if k in sentences and ours(v) else v
                 for k, v in row.items()} for row in table.rows] if coded or sentences else table.rows
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
RUSSIAN_MESSAGES = Messages("ru", {**RUSSIAN, **RUSSIAN_HELP, **RUSSIAN_REASONS, **RUSSIAN_RULES}, RUSSIAN_CODES)


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

"""Registration approvals without a server: domain rule, CSV rows, plan and dry run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from admin.companies import (
    CompanyDirectory,
    CompanySpec,
    companies_from_export,
    load_companies_file,
    load_directory,
)
from admin.registrations import (
    Approval,
    ApprovalPlan,
    PendingAccount,
    ProjectIndex,
    ProjectRef,
    apply_approvals,
    approve,
    classify,
    plan_by_domain,
    plan_from_rows,
    read_registration_csv,
)
from helpdesk_core.errors import ConfigError, WriteRefused
from helpdesk_core.messages import messages_for

REPO = Path(__file__).resolve().parents[2]
ROLE = 5

ROMASHKA = CompanySpec(name="ООО «Ромашка»", project="romashka", domains=("romashka.travel",))
AVIA = CompanySpec(name="Авиа Лайн", project="avialine", domains=("avialine.ru", "shared.example"))
SKY = CompanySpec(name="Sky Partner", project="skypartner", domains=("shared.example",))
DIRECTORY = CompanyDirectory.build([ROMASHKA, AVIA, SKY])
PROJECTS = ProjectIndex([ProjectRef(1, "romashka", "ООО «Ромашка»", "R1"), ProjectRef(2, "avialine", "Авиа Лайн", "R2"),
                         ProjectRef(3, "skypartner", "Sky Partner", "R3"), ProjectRef(4, "other", "Other")])


def account(id: int, login: str, mail: str, *, status: int = 1, admin: bool = False) -> PendingAccount:
    """Status 1 (default): confirmed through Redmine's activation email, in no project yet."""
    return PendingAccount(id=id, login=login, firstname="Имя", lastname=login, mail=mail, status=status,
                          admin=admin)


ACCOUNTS = [
    account(10, "ivanov", "Ivanov@Romashka.Travel"),
    account(11, "petrova", "petrova@gmail.com"),
    account(12, "sidorov", "sidorov@unknown.example"),
    account(13, "kozlov", "kozlov@shared.example"),
    account(14, "orlova", "orlova@msk.avialine.ru"),
]


@pytest.mark.parametrize(("mail", "kind", "company"), [
    ("ivanov@romashka.travel", "company", "ООО «Ромашка»"),
    ("IVANOV@ROMASHKA.TRAVEL", "company", "ООО «Ромашка»"),
    ("a@msk.avialine.ru", "company", "Авиа Лайн"),
    ("a@gmail.com", "public-domain", None),
    ("a@mail.ru", "public-domain", None),
    ("a@yandex.ru", "public-domain", None),
    ("a@unknown.example", "unknown-domain", None),
    ("a@notromashka.travel", "unknown-domain", None),
    ("a@shared.example", "ambiguous", None),
    ("no-at-sign", "no-domain", None),
    ("", "no-domain", None),
])
def test_domain_rule(mail: str, kind: str, company: str | None) -> None:
    match = DIRECTORY.match_email(mail)
    assert match.kind == kind
    assert (match.company.name if match.company else None) == company
    assert match.reason


def test_shared_domain_names_both_companies() -> None:
    match = DIRECTORY.match_email("x@shared.example")
    assert set(match.candidates) == {"Авиа Лайн", "Sky Partner"}
    assert "Авиа Лайн" in match.reason and "Sky Partner" in match.reason


def test_public_domains_are_configurable() -> None:
    custom = CompanyDirectory.build([ROMASHKA], public_domains=["corp-mail.example"],
                                    extra_public_domains=["romashka.travel"])
    assert custom.match_email("a@gmail.com").kind == "unknown-domain"
    assert custom.match_email("a@corp-mail.example").kind == "public-domain"
    # a public domain wins over a company claiming it
    assert custom.match_email("a@romashka.travel").kind == "public-domain"


def test_classify_and_all_matching_never_approve_ambiguous_or_unknown() -> None:
    items = classify(ACCOUNTS, DIRECTORY, PROJECTS)
    plan = plan_by_domain(items, ROLE)
    approved = {a.account.login: a.project.identifier for a in plan.approvals}
    assert approved == {"ivanov": "romashka", "orlova": "avialine"}
    skipped = {s.subject: s.reason for s in plan.skipped}
    assert set(skipped) == {"petrova", "sidorov", "kozlov"}
    assert "public" in skipped["petrova"]
    assert "no company" in skipped["sidorov"]
    assert "several companies" in skipped["kozlov"]
    assert all(a.role_id == ROLE for a in plan.approvals)


def test_named_logins_only_and_unknown_login_reported() -> None:
    plan = plan_by_domain(classify(ACCOUNTS, DIRECTORY, PROJECTS), ROLE, logins=["ivanov", "kozlov", "ghost"])
    assert [a.account.login for a in plan.approvals] == ["ivanov"]
    assert {s.subject for s in plan.skipped} == {"kozlov", "ghost"}


def test_company_without_project_is_not_approvable() -> None:
    lonely = CompanyDirectory.build([CompanySpec(name="Нет проекта", domains=("noproj.example",))])
    [item] = classify([account(20, "x", "x@noproj.example")], lonely, PROJECTS)
    assert not item.approvable and "no project named" in (item.problem or "")


def test_company_with_portal_id_is_found_by_the_id_its_project_carries_never_by_name() -> None:
    twin_a = ProjectRef(7, "twin", "Twin Travel", company_id="C1", domains=("a.example",))
    twin_b = ProjectRef(8, "twin-c2", "Twin Travel", company_id="C2", domains=("b.example",))
    projects = ProjectIndex([*PROJECTS._all, twin_a, twin_b, ProjectRef(9, "other-twin", "Twin Travel")])
    assert projects.for_company(CompanySpec(name="Twin Travel", source_id="C2"))[0] == twin_b
    # the derived identifier and the name no longer decide for a company that has an id
    missing = CompanySpec(name="Other", source_id="C9", derived_project="other")
    assert projects.for_company(missing)[0] is None
    assert "no project carries company id C9" in (projects.for_company(missing)[1] or "")
    # a --companies entry without an id is still found by its name
    by_name = CompanySpec(name="sky  PARTNER", domains=("s.example",))
    assert projects.for_company(by_name)[0] == ProjectRef(3, "skypartner", "Sky Partner", "R3")
    # the projects' own fields make the directory: two companies of one name stay two
    directory = CompanyDirectory.build(projects.companies())
    assert directory.match_email("x@b.example").company == CompanySpec(
        name="Twin Travel", domains=("b.example",), source_id="C2")
    [item] = classify([account(30, "x", "x@b.example")], directory, projects)
    assert item.approvable and item.project == twin_b


CSV_TEXT = """name,email,company
petrova,,Авиа Лайн
kozlov,KOZLOV@shared.example,Sky Partner
ghost,ghost@nowhere.example,Sky Partner
sidorov,sidorov@unknown.example,Компания Которой Нет
wrongname,ivanov@romashka.travel,ООО «Ромашка»
"""


def test_csv_rows_replace_the_domain_rule_and_unmatched_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    rows = read_registration_csv(path)
    plan = plan_from_rows(rows, ACCOUNTS, DIRECTORY, PROJECTS, ROLE)
    approved = {a.account.login: a.project.identifier for a in plan.approvals}
    assert approved == {"petrova": "avialine", "kozlov": "skypartner"}
    unmatched = {s.subject: (s.line, s.reason) for s in plan.unmatched_rows}
    assert unmatched["ghost@nowhere.example"] == (4, "matches no pending account")
    assert "not 'wrongname'" in unmatched["ivanov@romashka.travel"][1]
    assert [(s.subject, s.line) for s in plan.skipped] == [("sidorov", 5)]


def test_csv_company_is_a_client_company_and_the_email_domain_must_be_its_own(tmp_path: Path) -> None:
    """«Other» carries no portal company id (an internal project): never a CSV's company; a
    row whose email is not the company's approves nothing unless it names the login alone."""
    path = tmp_path / "reg.csv"
    path.write_text("name,email,company\n"
                    "sidorov,sidorov@unknown.example,Other\n"          # internal project
                    "petrova,petrova@gmail.com,Авиа Лайн\n"            # public mail, another company
                    "ivanov,ivanov@romashka.travel,Авиа Лайн\n"        # Ромашка's address, Авиа's name
                    "orlova,orlova@msk.avialine.ru,Авиа Лайн\n"        # a subdomain of the company's
                    "kozlov,,Sky Partner\n", encoding="utf-8")         # support names the login alone
    plan = plan_from_rows(read_registration_csv(path), ACCOUNTS, DIRECTORY, PROJECTS, ROLE)
    assert {a.account.login: a.project.identifier for a in plan.approvals} == {
        "orlova": "avialine", "kozlov": "skypartner"}
    skipped = {s.subject: s.reason for s in plan.skipped}
    assert set(skipped) == {"sidorov", "petrova", "ivanov"}
    assert "client company" in skipped["sidorov"]
    assert "does not belong" in skipped["petrova"] and "does not belong" in skipped["ivanov"]


def test_unconfirmed_and_administrator_accounts_are_never_approved_by_domain(tmp_path: Path) -> None:
    waiting = [account(40, "fresh", "fresh@romashka.travel", status=2),
               account(41, "boss", "boss@romashka.travel", admin=True)]
    items = {i.account.login: i for i in classify(waiting, DIRECTORY, PROJECTS)}
    assert "not confirmed" in (items["fresh"].problem or "") and "administrator" in (items["boss"].problem or "")
    assert not plan_by_domain(list(items.values()), ROLE).approvals
    assert not plan_by_domain(list(items.values()), ROLE, logins=["fresh", "boss"]).approvals
    # the request support received is the proof for an unconfirmed mailbox, never for an admin
    path = tmp_path / "reg.csv"
    path.write_text("name,email,company\nfresh,fresh@romashka.travel,ООО «Ромашка»\n"
                    "boss,boss@romashka.travel,ООО «Ромашка»\n", encoding="utf-8")
    plan = plan_from_rows(read_registration_csv(path), waiting, DIRECTORY, PROJECTS, ROLE)
    assert [a.account.login for a in plan.approvals] == ["fresh"]
    assert [s.subject for s in plan.skipped] == ["boss"]
    gateway = RecordingGateway()
    [outcome] = apply_approvals(gateway, ApprovalPlan(plan.approvals, ()), dry_run=False)  # type: ignore[arg-type]
    assert outcome.status == "approved"
    assert [(m, p) for m, p, _ in gateway.calls] == [("POST", "/projects/1/memberships.json"),
                                                     ("PUT", "/users/40.json")]


def test_approve_refuses_an_account_redmine_says_is_an_administrator() -> None:
    """The list may be stale: `approve` reads the account and refuses an admin before any write."""
    plan = plan_by_domain(classify(ACCOUNTS, DIRECTORY, PROJECTS), ROLE, logins=["ivanov"])
    gateway = AdminGateway()
    [outcome] = apply_approvals(gateway, plan, dry_run=False)  # type: ignore[arg-type]
    assert outcome.status == "error" and "administrator" in outcome.reason
    assert gateway.calls == []


def test_csv_with_semicolons_bom_and_russian_headers(tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text("\ufeffИмя пользователя;E-mail;Компания\npetrova;petrova@gmail.com;Sky Partner\n",
                    encoding="utf-8")
    [row] = read_registration_csv(path)
    assert (row.login, row.email, row.company, row.line) == ("petrova", "petrova@gmail.com", "Sky Partner", 2)


def test_csv_two_rows_naming_different_companies_for_one_account(tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text("name,email,company\npetrova,,Sky Partner\npetrova,,Авиа Лайн\n", encoding="utf-8")
    plan = plan_from_rows(read_registration_csv(path), ACCOUNTS, DIRECTORY, PROJECTS, ROLE)
    assert not plan.approvals
    assert "different companies" in plan.skipped[0].reason


@pytest.mark.parametrize("text", ["", "name,company\nx,y\n", "name,email,company\nx,x@y.ru,\n"])
def test_bad_csv_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        read_registration_csv(path)


# activation carries the client's steady-state email preferences (О7: told of their own new tickets)
# and the regulation's language (an account registered from an English page has "en" of its own)
ACTIVATED = {"user": {"status": 1, "mail_notification": "only_my_events", "language": "ru"},
             "pref": {"no_self_notified": "0"}}
CLIENT_PREFERENCES = {"user": {"mail_notification": "only_my_events", "language": "ru"},
                      "pref": {"no_self_notified": "0"}}


class RecordingGateway:
    """Records writes; refuses them when read-only, like the real gateway."""

    def __init__(self, writes_allowed: bool = True) -> None:
        self.writes_allowed = writes_allowed
        self.calls: list[tuple[str, str, Any]] = []

    def post(self, path: str, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        return self._write("POST", path, payload)

    def put(self, path: str, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        return self._write("PUT", path, payload)

    def _write(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.writes_allowed:
            raise WriteRefused(f"{method} {path}")
        self.calls.append((method, path, payload))
        return {}

    def get(self, path: str, params: Any = None, **_: Any) -> dict[str, Any]:
        return {"user": {"status": 1}}

    def iterate(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []


def test_dry_run_walks_the_same_plan_and_writes_nothing() -> None:
    plan = plan_by_domain(classify(ACCOUNTS, DIRECTORY, PROJECTS), ROLE)
    gateway = RecordingGateway(writes_allowed=False)
    outcomes = apply_approvals(gateway, plan, dry_run=True)  # type: ignore[arg-type]
    assert {o.subject: o.status for o in outcomes} == {
        "ivanov": "would-approve", "orlova": "would-approve",
        "petrova": "skipped", "sidorov": "skipped", "kozlov": "skipped"}
    assert gateway.calls == []


def test_apply_adds_membership_in_own_project_with_client_role() -> None:
    """A confirmed account is active already: its client mail preferences, then the membership."""
    plan = plan_by_domain(classify(ACCOUNTS, DIRECTORY, PROJECTS), ROLE, logins=["ivanov"])
    gateway = RecordingGateway()
    [outcome] = apply_approvals(gateway, plan, dry_run=False)  # type: ignore[arg-type]
    assert outcome.status == "approved" and outcome.project == "romashka"
    assert gateway.calls == [
        ("PUT", "/users/10.json", CLIENT_PREFERENCES),
        ("POST", "/projects/1/memberships.json", {"membership": {"user_id": 10, "role_ids": [ROLE]}}),
    ]


def test_companies_file_is_validated_with_line_numbers(tmp_path: Path) -> None:
    good = tmp_path / "companies.yaml"
    good.write_text("redmine: {url: http://x}\ncompanies:\n  - name: Ромашка\n    project: romashka\n"
                    "    domains: [Romashka.Travel, 'пример.рф']\nextra_public_domains: [corp.example]\n",
                    encoding="utf-8")
    loaded = load_companies_file(good)
    assert loaded.companies[0].domains == ("romashka.travel", "xn--e1afmkfd.xn--p1ai")
    bad = tmp_path / "bad.yaml"
    bad.write_text("companies:\n  - name: X\n    domains: ['not a domain']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_companies_file(bad)
    assert caught.value.line == 3
    bad.write_text("companies:\n  - name: X\n    project: 'Bad Id'\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_companies_file(bad)


def test_companies_from_the_sample_export_get_the_migrations_identifiers() -> None:
    specs = companies_from_export(REPO / "samples" / "export")
    by_id = {s.source_id: s for s in specs}
    assert by_id["C1"].domains == ("romashka.travel",)
    assert by_id["C2"].domains == ("romashka-travel.ru",)
    # two names that transliterate alike: the later one carries its portal id
    assert by_id["C1"].derived_project != by_id["C2"].derived_project
    assert by_id["C2"].derived_project and by_id["C2"].derived_project.endswith("c2")


def test_directory_needs_a_source() -> None:
    with pytest.raises(ConfigError):
        load_directory(None, None)


class AdminGateway(RecordingGateway):
    def get(self, path: str, params: Any = None, **_: Any) -> dict[str, Any]:
        return {"user": {"status": 1, "admin": True}}


class MemberAlreadyGateway(RecordingGateway):
    """A run that stopped after the membership: POST says "taken", the membership is there."""

    def post(self, path: str, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        from helpdesk_core.errors import ValidationFailed

        raise ValidationFailed("rejected by Redmine", method="POST", path=path, status=422,
                               errors=["User has already been taken"])

    def iterate(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [{"id": 77, "user": {"id": 10}, "roles": [{"id": 3, "name": "Other"}]}]


def test_rerun_after_membership_adds_the_role_and_activates() -> None:
    unconfirmed = [account(10, "ivanov", "ivanov@romashka.travel", status=2)]
    approval = Approval(unconfirmed[0], "ООО «Ромашка»", PROJECTS.for_company(ROMASHKA)[0], ROLE, "CSV line 2")  # type: ignore[arg-type]
    gateway = MemberAlreadyGateway()
    [outcome] = apply_approvals(gateway, ApprovalPlan((approval,), ()), dry_run=False)  # type: ignore[arg-type]
    assert outcome.status == "approved"
    assert gateway.calls == [
        ("PUT", "/memberships/77.json", {"membership": {"role_ids": [3, ROLE]}}),
        ("PUT", "/users/10.json", ACTIVATED),
    ]


@pytest.mark.parametrize("gateway_type", [RecordingGateway, MemberAlreadyGateway])
def test_dry_run_lists_exactly_the_writes_a_real_run_sends(gateway_type: type[RecordingGateway]) -> None:
    """`users approve --dry-run` goes through the same `approve`: same reads, same decisions."""
    plan = plan_by_domain(classify(ACCOUNTS, DIRECTORY, PROJECTS), ROLE, logins=["ivanov"])
    [approval] = plan.approvals
    dry_gateway, real_gateway = gateway_type(writes_allowed=False), gateway_type()
    listed = approve(dry_gateway, approval, dry_run=True)  # type: ignore[arg-type]
    sent = approve(real_gateway, approval)  # type: ignore[arg-type]
    assert dry_gateway.calls == []
    assert listed == sent == [f"{method} {path}" for method, path, _ in real_gateway.calls]


@pytest.mark.parametrize("command", [["users", "pending"], ["users", "approve"],
                                     ["report", "consultations"]])
def test_every_admin_command_has_help_with_an_example(command: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from cli import main

    assert main(["--lang", "en", *command, "--help"]) == 0
    assert "Example:" in capsys.readouterr().out


def test_approve_needs_exactly_one_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import main

    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    assert main(["users", "approve"]) == 2
    assert main(["users", "approve", "ivanov", "--all-matching"]) == 2


def test_csv_headers_say_what_they_hold_in_english_or_russian_and_the_old_name_header_is_read(
        tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text("email,company,login\npetrova@avialine.ru,Авиа Лайн,\n,Sky Partner,kozlov\n", encoding="utf-8")
    assert [(r.email, r.company, r.login) for r in read_registration_csv(path)] == [
        ("petrova@avialine.ru", "Авиа Лайн", ""), ("", "Sky Partner", "kozlov")]
    path.write_text("Почта;Компания\nPetrova@Avialine.ru;Авиа Лайн\n", encoding="utf-8")
    [row] = read_registration_csv(path)
    assert (row.email, row.company, row.login) == ("petrova@avialine.ru", "Авиа Лайн", "")
    path.write_text("name,email,company\npetrova,petrova@avialine.ru,Авиа Лайн\n", encoding="utf-8")  # deprecated
    [row] = read_registration_csv(path)
    assert (row.login, row.email) == ("petrova", "petrova@avialine.ru")


@pytest.mark.parametrize(("text", "line", "said"), [
    ("Почта,Компания\npetrova@avialine.ru,Авиа Лайн\nkozlov@sky.example,\n", 3,
     "столбец «Компания» пуст; в каждой строке нужна компания клиента"),
    ("email,company\npetrova-avialine.ru,Авиа Лайн\n", 2,
     "столбец «email»: «petrova-avialine.ru» — не адрес электронной почты"),
    ("email,company,login\n,Авиа Лайн,\n", 2,
     "столбец «email» пуст, и логина нет; в каждой строке нужен адрес, с которого пришла просьба"),
])
def test_a_bad_row_is_named_by_line_and_column_in_russian(tmp_path: Path, text: str, line: int, said: str) -> None:
    path = tmp_path / "reg.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_registration_csv(path)
    assert caught.value.line == line and caught.value.exit_code == 2
    assert messages_for("ru").text(str(caught.value)) == f"{path}:{line}: {said}"


def test_a_header_without_the_email_column_is_refused_in_russian(tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text("login,company\nx,y\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_registration_csv(path)
    assert messages_for("ru").text(str(caught.value)).startswith(f"{path}:1: в заголовке должны быть столбцы email,")

"""Which company a corporate email domain belongs to, and which Redmine project is its home.

Companies come from a small YAML file (`--companies FILE`, a `companies:` section) and/or
from a portal export (`--export DIR`, `companies.jsonl` with `email_domains`). Both become
the same `CompanySpec`; the decision "this address belongs to that company" is made here
and nowhere else, so `users pending` and `users approve` can never disagree.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpdesk_core.errors import ConfigError
from helpdesk_core.export import ExportError, open_export
from helpdesk_core.identifiers import project_identifier
from helpdesk_core.yaml_source import load_yaml_file

# Addresses on these domains say nothing about the employer: never a company by domain.
DEFAULT_PUBLIC_DOMAINS: frozenset[str] = frozenset({
    "gmail.com", "googlemail.com", "mail.ru", "bk.ru", "list.ru", "inbox.ru", "internet.ru",
    "yandex.ru", "yandex.com", "yandex.by", "yandex.kz", "ya.ru", "rambler.ru", "lenta.ru",
    "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "yahoo.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "zoho.com",
    "ukr.net", "tut.by", "qip.ru",
})

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,99}$")


def normalize_domain(value: str) -> str:
    """Lower-case, no surrounding dots or spaces, IDNA for Cyrillic domains (пример.рф)."""
    text = value.strip().strip(".").lower()
    # Left as is when IDNA refuses it: the pattern check below rejects it with the original text.
    with contextlib.suppress(UnicodeError):
        text = text.encode("idna").decode("ascii")
    if not _DOMAIN_RE.match(text):
        raise ValueError(f"not a mail domain: {value!r}")
    return text


def email_domain(address: str) -> str | None:
    """The domain part of an address, normalized; None when the address has no usable domain."""
    _, at, domain = address.strip().rpartition("@")
    if not at or not domain:
        return None
    try:
        return normalize_domain(domain)
    except ValueError:
        return None


def valid_domains(raw: Iterable[str]) -> tuple[str, ...]:
    """The valid ones, normalized: a bad domain is reported elsewhere and must not hide the good ones."""
    domains = []
    for value in raw:
        try:
            domains.append(normalize_domain(value))
        except ValueError:
            continue
    return tuple(domains)


Domain = Annotated[str, AfterValidator(normalize_domain)]


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER_RE.match(value):
        raise ValueError("a Redmine project identifier: lower-case letters, digits, '-' and '_', "
                         "starting with a letter")
    return value


class CompanySpec(BaseModel):
    """One client company: its name, its Redmine project and its corporate mail domains.

    `project` is the project identifier; None means "the project the migration made for this
    company", found in Redmine by `derived_project` (the identifier the migration derives
    from the name) or else by the company's name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    project: Annotated[str, AfterValidator(_check_identifier)] | None = None
    domains: tuple[Domain, ...] = ()
    source_id: str | None = None  # the portal's company id when it came from an export
    derived_project: str | None = None  # set for companies read from an export


class CompaniesFile(BaseModel):
    """`--companies FILE`: other top-level sections are ignored so one config file can hold all."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    companies: list[CompanySpec] = Field(default_factory=list)
    public_domains: list[Domain] | None = Field(
        None, description="replaces the built-in list of public mail domains")
    extra_public_domains: list[Domain] = Field(
        default_factory=list, description="added to the built-in list")


def load_companies_file(path: Path) -> CompaniesFile:
    """Read and validate a companies file; errors name the key and the line."""
    return load_yaml_file(path, CompaniesFile)


def companies_from_export(path: Path) -> list[CompanySpec]:
    """Companies of a portal export, read with the migration's own reader.

    Companies whose domains are not valid are kept with the valid ones only: a bad domain is
    the export's problem, reported by `migrate plan`, and must not hide the good ones.
    """
    used: set[str] = set()
    try:
        with open_export(path) as export:
            specs = []
            for company in export.companies():
                domains = valid_domains(company.email_domains)
                # Same derivation, same order, same suffix as the migration: same identifier.
                derived = project_identifier(company.name, used, company.id)
                specs.append(CompanySpec(name=company.name, domains=domains,
                                         source_id=company.id, derived_project=derived))
            return specs
    except ExportError as exc:
        raise ConfigError(str(exc), source=str(path)) from None


MatchKind = Literal["company", "public-domain", "unknown-domain", "ambiguous", "no-domain"]


@dataclass(frozen=True)
class DomainMatch:
    """The company an address belongs to, or why there is none (`kind`, `reason`)."""

    kind: MatchKind
    domain: str | None
    company: CompanySpec | None = None
    candidates: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return self.kind == "company"

    @property
    def reason(self) -> str:
        match self.kind:
            case "company":
                return f"corporate domain {self.domain}"
            case "public-domain":
                return f"{self.domain} is a public mail domain: ask for the company (or --from-csv)"
            case "unknown-domain":
                return f"no company has the domain {self.domain}"
            case "ambiguous":
                return f"{self.domain} belongs to several companies: {', '.join(self.candidates)}"
        return "the email address has no valid domain"


@dataclass(frozen=True)
class CompanyDirectory:
    """All known companies and public domains; answers "whose address is this?"."""

    companies: tuple[CompanySpec, ...]
    public_domains: frozenset[str] = DEFAULT_PUBLIC_DOMAINS
    _by_domain: dict[str, tuple[CompanySpec, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[CompanySpec]] = {}
        for company in self.companies:
            for domain in dict.fromkeys(company.domains):
                index.setdefault(domain, []).append(company)
        object.__setattr__(self, "_by_domain", {d: tuple(c) for d, c in index.items()})

    @classmethod
    def build(cls, companies: Iterable[CompanySpec], *, public_domains: Iterable[str] | None = None,
              extra_public_domains: Iterable[str] = ()) -> CompanyDirectory:
        """Merge entries of one company: the same portal company id (Redmine's project and the export),
        or, for an entry without an id (a --companies file), the one entry of that name.

        Two companies that only share a name stay two companies.
        """
        merged: dict[tuple[str, str], CompanySpec] = {}
        for company in companies:
            key = ("id", company.source_id) if company.source_id else ("name", company_key(company.name))
            if company.source_id is None:
                namesakes = [k for k, c in merged.items() if company_key(c.name) == key[1]]
                key = namesakes[0] if len(namesakes) == 1 else key
            old = merged.get(key)
            if old is None:
                merged[key] = company
            else:
                merged[key] = CompanySpec(
                    name=old.name, project=company.project or old.project,
                    domains=tuple(dict.fromkeys(old.domains + company.domains)),
                    source_id=old.source_id or company.source_id,
                    derived_project=old.derived_project or company.derived_project)
        base = DEFAULT_PUBLIC_DOMAINS if public_domains is None else frozenset(public_domains)
        return cls(tuple(merged.values()), base | frozenset(extra_public_domains))

    def match_email(self, address: str) -> DomainMatch:
        """Exact domain first, then its parent domains (`msk.romashka.travel` → `romashka.travel`)."""
        domain = email_domain(address)
        if domain is None:
            return DomainMatch("no-domain", None)
        for candidate in _self_and_parents(domain):
            if candidate in self.public_domains:
                return DomainMatch("public-domain", domain)
            owners = self._by_domain.get(candidate)
            if owners is None:
                continue
            if len(owners) > 1:
                return DomainMatch("ambiguous", domain, candidates=tuple(c.name for c in owners))
            return DomainMatch("company", domain, company=owners[0])
        return DomainMatch("unknown-domain", domain)

    def by_name(self, name: str) -> CompanySpec | None:
        """A company by its name, ignoring case, quotes and runs of spaces; None when two share it."""
        key = company_key(name)
        found = [c for c in self.companies if company_key(c.name) == key]
        return found[0] if len(found) == 1 else None


def _self_and_parents(domain: str) -> Iterator[str]:
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        yield ".".join(labels[start:])


def company_key(name: str) -> str:
    """How two spellings of a company name are compared: «Ромашка» == "ромашка"."""
    text = re.sub(r"[«»\"'“”„]", "", name).casefold()
    return " ".join(text.split())


def load_directory(companies_file: Path | None, export_dir: Path | None,
                   migrated: Sequence[CompanySpec] = ()) -> CompanyDirectory:
    """The directory a command runs with: the companies the migration stored on Redmine's projects
    (`migrated`), completed by an export and a companies file; at least one source must give some."""
    if companies_file is None and export_dir is None and not migrated:
        raise ConfigError("no companies: Redmine has no project carrying a portal company id (run the migration) "
                          "and neither --companies FILE nor --export DIR is given", key="--companies")
    specs: list[CompanySpec] = list(migrated)
    public: Sequence[str] | None = None
    extra: Sequence[str] = ()
    if export_dir is not None:
        specs.extend(companies_from_export(export_dir))
    if companies_file is not None:
        loaded = load_companies_file(companies_file)
        specs.extend(loaded.companies)
        public, extra = loaded.public_domains, loaded.extra_public_domains
    return CompanyDirectory.build(specs, public_domains=public, extra_public_domains=extra)

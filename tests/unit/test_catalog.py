"""One reader of Redmine's named objects (issue 14): read lazily, once per run."""

from __future__ import annotations

import re
from pathlib import Path

import responses

from helpdesk_core.catalog import Catalog
from helpdesk_core.gateway import Gateway
from tests.unit.test_gateway import URL, settings

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("helpdesk_core", "helpdesk_cli", "migrator", "policies", "admin")


def _modules_reading(path: str) -> list[str]:
    pattern = re.compile(re.escape(f'"{path}"'))
    return sorted(str(p.relative_to(ROOT)) for package in LIBRARIES for p in (ROOT / package).glob("*.py")
                  if pattern.search(p.read_text(encoding="utf-8")))


def test_exactly_one_module_reads_statuses_and_roles() -> None:
    assert _modules_reading("/issue_statuses.json") == ["helpdesk_core/catalog.py"]
    assert _modules_reading("/roles.json") == ["helpdesk_core/catalog.py"]
    for path in ("/trackers.json", "/custom_fields.json", "/groups.json"):
        assert _modules_reading(path) == ["helpdesk_core/catalog.py"], path


@responses.activate
def test_each_collection_is_read_once_and_only_when_asked() -> None:
    responses.get(f"{URL}/issue_statuses.json", json={"issue_statuses": [
        {"id": 1, "name": "Новая", "is_closed": False}, {"id": 5, "name": "Закрыто", "is_closed": True}]})
    responses.get(f"{URL}/roles.json", json={"roles": [{"id": 3, "name": "Клиент"}]})
    gateway = Gateway(settings())
    assert Catalog.of(gateway) is gateway.catalog  # one per run
    assert len(responses.calls) == 0  # lazily
    for _ in range(3):
        assert gateway.catalog.ids("statuses") == {"Новая": 1, "Закрыто": 5}
        assert [s["name"] for s in gateway.catalog.closed_statuses()] == ["Закрыто"]
    assert gateway.catalog.ids("roles") == {"Клиент": 3}
    assert [c.request.path_url for c in responses.calls] == ["/issue_statuses.json", "/roles.json"]

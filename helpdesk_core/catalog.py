"""Redmine's named objects, read lazily and at most once per run: the one reader of these facts.

Statuses (with is_closed), trackers, priorities, activities, custom fields, roles and groups
are what mappings.yaml names; doctor, the migration, sweeps and registrations all need their
ids. Each collection is read through the gateway the first time someone asks, then kept for
the run (a run is one gateway: `Gateway.catalog`).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

Json = dict[str, Any]

# path, key of the list in the answer
COLLECTIONS: dict[str, tuple[str, str]] = {
    "statuses": ("/issue_statuses.json", "issue_statuses"),
    "trackers": ("/trackers.json", "trackers"),
    "priorities": ("/enumerations/issue_priorities.json", "issue_priorities"),
    "activities": ("/enumerations/time_entry_activities.json", "time_entry_activities"),
    "custom_fields": ("/custom_fields.json", "custom_fields"),
    "roles": ("/roles.json", "roles"),
    "groups": ("/groups.json", "groups"),
}


class Reader(Protocol):
    def get(self, path: str, params: Any = None) -> Json: ...


class Catalog:
    """Lists by collection, and names → ids; thread-safe (migration workers share one)."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._lists: dict[str, list[Json]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def of(reader: Any) -> Catalog:
        """The run's catalog of a gateway; a stand-in reader (a test's fake) gets its own."""
        catalog = getattr(reader, "catalog", None)
        return catalog if isinstance(catalog, Catalog) else Catalog(reader)

    def items(self, collection: str) -> list[Json]:
        """Every object of `collection` (one of COLLECTIONS), as Redmine describes it."""
        with self._lock:
            if collection not in self._lists:
                path, key = COLLECTIONS[collection]
                self._lists[collection] = list(self._reader.get(path).get(key, []))
            return self._lists[collection]

    def by_name(self, collection: str) -> dict[str, Json]:
        return {str(item.get("name")): item for item in self.items(collection)}

    def ids(self, collection: str) -> dict[str, int]:
        return {str(item["name"]): int(item["id"]) for item in self.items(collection)}

    def closed_statuses(self) -> list[Json]:
        return [s for s in self.items("statuses") if s.get("is_closed")]

"""The sweep tests' in-memory Redmine, plus what the simulated people do that it lacks:
a reply that is only a file, and a press of «Пожаловаться на задержку»."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.unit.test_sweep_fake import CLIENT, CUSTOM_FIELDS, SUPPORT, FakeRedmine, z

__all__ = ["CLIENT", "SUPPORT", "SimRedmine"]

BUTTON = CUSTOM_FIELDS["Пожаловаться на задержку"]
COUNTER = CUSTOM_FIELDS["Жалобы на задержку"]


class SimRedmine(FakeRedmine):
    def add_issue(self, **kwargs: Any) -> int:
        issue_id = super().add_issue(**kwargs)
        self.issues[issue_id]["custom_fields"] += [
            {"id": BUTTON, "name": "Пожаловаться на задержку", "value": "0"},
            {"id": COUNTER, "name": "Жалобы на задержку", "value": "0"}]
        return issue_id

    def attach(self, issue_id: int, at: datetime, *, user: int = CLIENT) -> int:
        """A journal with a file and no text (what Redmine writes for an upload alone)."""
        issue = self.issues[issue_id]
        attachment = len(issue["attachments"]) + 1 + 1000 * issue_id
        issue["attachments"].append({"id": attachment, "filename": f"screen{attachment}.png",
                                     "content_type": "image/png", "created_on": z(at),
                                     "author": {"id": user, "name": f"user{user}"}})
        journal = self.journal(issue_id, at, user=user)
        issue["journals"][-1]["details"].append({"property": "attachment", "name": str(attachment),
                                                 "old_value": None, "new_value": f"screen{attachment}.png"})
        return journal

    def press(self, issue_id: int, at: datetime, *, user: int = CLIENT) -> int:
        """The client ticks the complaint button (a boolean custom field)."""
        return self.journal(issue_id, at, user=user, fields={BUTTON: "1"})

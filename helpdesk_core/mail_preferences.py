"""The email preferences a client account has once the tracker is live: one decision for every
path that makes a client account (the migration creates them, `users approve` activates them).

"No email during the migration" is the global switch alone (`provision --notifications off|on`),
never a per-user setting, so accounts are made with their steady-state preferences. Redmine's
only_my_events mails a user about issues they wrote, are assigned or watch. The regulation mails
the client also when a ticket is created (their own action, «Отслеживание статуса обращений»
item 7), so clients do not skip their own events (Redmine's default is `no_self_notified`).
"""

from __future__ import annotations

from typing import Any

STEADY_MAIL_NOTIFICATION = "only_my_events"
CLIENT_PREFERENCES = {"no_self_notified": "0"}


def with_client_preferences(body: dict[str, Any]) -> dict[str, Any]:
    """A `/users` POST or PUT body that also gives the account a client's steady-state preferences."""
    user = {**body.get("user", {}), "mail_notification": STEADY_MAIL_NOTIFICATION}
    return {**body, "user": user, "pref": {**body.get("pref", {}), **CLIENT_PREFERENCES}}

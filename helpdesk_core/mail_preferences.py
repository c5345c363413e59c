"""The email preferences a client account has once the tracker is live: one decision for every
path that makes a client account (the migration creates them, `users approve` activates them).

"No email during the migration" is the global switch alone (`provision --notifications off|on`),
never a per-user setting, so accounts are made with their steady-state preferences. Redmine's
only_my_events mails a user about issues they wrote, are assigned or watch. The regulation mails
the client also when a ticket is created (their own action, «Отслеживание статуса обращений»
item 7), so clients do not skip their own events (Redmine's default is `no_self_notified`).

The language is part of that steady state: Redmine speaks to an account (web pages, the notification
emails about its tickets, the encoding of its CSV exports) in the account's own language, which
Redmine fills in when the account is made (the default language then, or the registration page's).
Provisioning makes Russian the default; every account the tool makes or approves carries it
explicitly as well, so an account registered or made while the default was English, or a later
change of the default, never leaves a client reading English.
"""

from __future__ import annotations

from typing import Any

STEADY_MAIL_NOTIFICATION = "only_my_events"
CLIENT_PREFERENCES = {"no_self_notified": "0"}
# The regulation's language: Redmine's default (provision) and every account's (migration, approval).
REDMINE_LANGUAGE = "ru"


def with_client_preferences(body: dict[str, Any]) -> dict[str, Any]:
    """A `/users` POST or PUT body that also gives the account a client's steady-state preferences."""
    user = {**body.get("user", {}), "mail_notification": STEADY_MAIL_NOTIFICATION, "language": REDMINE_LANGUAGE}
    return {**body, "user": user, "pref": {**body.get("pref", {}), **CLIENT_PREFERENCES}}

"""One issue as a conversation: who did what, in order, and what is awaited from whom.

Built once per candidate from the issue's journals, then every closing/reminding rule is a
small predicate over it, so the rules cannot disagree about who spoke last.

Acts have a side: the *client*, *support* (a person of the support group or role), the *tool*
(the sweep: a journal that carries the sweep's marker) or *neither* (the API key's own user,
which the migration writes as when it cannot name the author). A public word is a public
comment or a file: a client who answers with only a screenshot has answered (issue 18.1).

Placement (issue 18.2, regulation О4.1/О4'.1): support sets «Требует обратной связи» and
«Решено, требует проверки» together with its comment. A change into one of them written by
*neither* and carrying no words (a migrated ticket without `status_history` gets one at the
portal's `updated_at`) is placed at support's last public word at or before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from policies.issues import IssueView, Journal
from policies.settings import Statuses

Side = Literal["client", "support", "tool", "neither"]


class Sides(Protocol):
    """Who a Redmine user is in a project (context.Directory)."""

    def side(self, user_id: int, project_id: int) -> Literal["support", "client", "neither"]: ...
REMINDER_RULE = "feedback-reminder"
CUTOVER_RULE = "go-live-cutover"


@dataclass(frozen=True)
class Act:
    """One journal seen as an act of one side (journal 0: the issue's creation)."""

    journal: int
    at: datetime
    side: Side
    public_words: bool           # a comment a client can read
    files: tuple[str, ...]       # files attached (always visible to the client)
    status: tuple[str, str] | None = None   # (old, new)
    rule: str | None = None      # the tool's rule (its marker), for tool acts
    order: tuple[datetime, int, int] = (datetime.min, 0, 0)  # placement in the conversation

    @property
    def speaks(self) -> bool:
        """A public word: a comment or a file the client can see."""
        return self.public_words or bool(self.files)


def _act(journal: Journal, side: Side, status: tuple[str, str] | None) -> Act:
    rule = journal.markers()[-1][0] if side == "tool" else None
    return Act(journal=journal.id, at=journal.created_on, side=side,
               public_words=bool(journal.text) and not journal.private_notes, files=journal.files,
               status=status, rule=rule, order=(journal.created_on, journal.id, 0))


@dataclass(frozen=True)
class Conversation:
    """The ordered acts of one issue and the questions every rule asks of them."""

    issue: IssueView
    acts: tuple[Act, ...]
    initial_status: str
    statuses: Statuses

    @classmethod
    def of(cls, issue: IssueView, directory: Sides, statuses: Statuses) -> Conversation:
        project = issue.summary.project.id
        changes = {c.journal_id: (c.old, c.new) for c in issue.status_changes()}
        acts: list[Act] = []
        for journal in issue.journals:
            side: Side = "tool" if journal.by_sweep else directory.side(journal.user.id, project)
            acts.append(_act(journal, side, changes.get(journal.id)))
        return cls(issue=issue, acts=tuple(sorted(_placed(acts, statuses), key=lambda a: a.order)),
                   initial_status=issue.initial_status(), statuses=statuses)

    @property
    def status(self) -> str:
        return self.issue.status

    # --- who spoke ------------------------------------------------------------------------
    def words(self, side: Side) -> list[Act]:
        return [a for a in self.acts if a.side == side and a.speaks]

    def last_client_word(self) -> Act | None:
        found = self.words("client")
        return found[-1] if found else None

    def last_support_act(self) -> Act | None:
        """Support's last public act: a person's word or status change, the tool's word, or a
        (placed) request status set by *neither* (a migrated request). The tool's status
        change alone (client-reply-resume) is not an answer to the client."""
        waiting = {self.statuses.feedback, self.statuses.verification}
        found = [a for a in self.acts if (a.side == "support" and (a.speaks or a.status))
                 or (a.side == "tool" and a.speaks)
                 or (a.side == "neither" and a.status is not None and a.status[1] in waiting)]
        return found[-1] if found else None

    def client_spoke_last(self) -> bool:
        """The client's public word is the last one after support's: support owes the answer
        (never remind, never close; resume)."""
        client, support = self.last_client_word(), self.last_support_act()
        return client is not None and (support is None or client.order > support.order)

    def client_words_after(self, act: Act | None) -> list[Act]:
        return [a for a in self.words("client") if act is None or a.order > act.order]

    # --- statuses -------------------------------------------------------------------------
    def entered(self, statuses: Iterable[str]) -> Act | None:
        """The act by which the issue last entered one of `statuses` (journal 0: created in it)."""
        wanted = set(statuses)
        found: Act | None = None
        if self.initial_status in wanted:
            found = Act(journal=0, at=self.issue.summary.created_on, side="neither", public_words=False,
                        files=(), order=(self.issue.summary.created_on, 0, 0))
        for act in self.acts:
            if act.status is not None and act.status[1] in wanted and act.status[0] not in wanted:
                found = act
        return found

    # --- what is awaited ------------------------------------------------------------------
    def request(self) -> Act | None:
        """What the client is asked to answer, while the issue waits for the client: the
        latest of the entry into «Требует обратной связи»/«Решено, требует проверки» and
        support's later public words (a person's new question, the tool's cut-over question).
        The tool's reminders remind of a request; they are not one. None when the issue does
        not wait for the client (another status, or the client spoke last)."""
        waiting = (self.statuses.feedback, self.statuses.verification)
        if self.status not in waiting or self.client_spoke_last():
            return None
        entry = self.entered({self.status})
        if entry is None:
            return None
        later = [a for a in self.acts if a.order >= entry.order and a.speaks and (
            a.side == "support" or (a.side == "tool" and a.rule != REMINDER_RULE))]
        return later[-1] if later else entry

    def awaited(self) -> Literal["client", "support"] | None:
        """Who owes the next public word: the client (a standing request), support (the
        client spoke last), or nobody the rules wait on (closed, or no word yet)."""
        if self.status == self.statuses.closed:
            return None
        if self.client_spoke_last():
            return "support"
        return "client" if self.request() is not None else None

    def reminders_after(self, act: Act) -> list[Act]:
        return [a for a in self.acts if a.side == "tool" and a.rule == REMINDER_RULE and a.order > act.order]

    def tool_acts(self, rule: str) -> list[Act]:
        return [a for a in self.acts if a.side == "tool" and a.rule == rule]

    # --- the first analysis ---------------------------------------------------------------
    def taken_into_work(self, new_status: str) -> Act | None:
        """When the issue first left «На рассмотрении» (journal 0 if it never was in it)."""
        if self.initial_status != new_status:
            return self.entered({self.initial_status})
        return next((a for a in self.acts if a.status is not None and a.status[0] == new_status), None)

    def analysis_end(self, new_status: str) -> datetime | None:
        """О2: «По истечению этого срока сотрудник поддержки сообщит вам о дальнейших этапах
        работы»: the first analysis ends with support's first public comment once the issue is
        taken into work (the same journal counts), not with a status."""
        taken = self.taken_into_work(new_status)
        if taken is None:
            return None
        said = next((a for a in self.acts if a.side == "support" and a.public_words and a.order >= taken.order),
                    None)
        return said.at if said is not None else None


def _placed(acts: list[Act], statuses: Statuses) -> list[Act]:
    """Acts with every wordless request status set by *neither* moved to support's last
    public word at or before it (see the module docstring)."""
    waiting = {statuses.feedback, statuses.verification}
    out: list[Act] = []
    said: Act | None = None
    for act in sorted(acts, key=lambda a: a.order):
        if act.side == "support" and act.speaks:
            said = act
        if (act.side == "neither" and act.status is not None and act.status[1] in waiting
                and not act.speaks and said is not None):
            act = Act(journal=act.journal, at=said.at, side=act.side, public_words=False, files=act.files,
                      status=act.status, rule=None, order=(said.at, said.journal, 1))
        out.append(act)
    return out

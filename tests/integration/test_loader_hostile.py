"""Hostile export text through `--loader rails`: Ruby-looking subjects, comments, complaints, time-entry
comments, file names and answers reach Redmine as the very same text, and none of it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrator.text import cut_subject
from tests.conftest import LocalRedmine
from tests.exports import portal_id, unique_export
from tests.integration.test_loader import LIMIT, helpdesk, issue_for, with_loader

pytestmark = pytest.mark.redmine


def hostile_texts(canary: Path) -> list[str]:
    return [
        f"#{{`touch {canary}1`}}",
        f"`touch {canary}2`",
        f"'; system(\"touch {canary}3\"); '",
        f"\"); File.write('{canary}4', 'x'); (\"",
        f"%x(touch {canary}5) <%= system('touch {canary}6') %>",
        f"\\\"#{{system('touch {canary}7')}}\\\" \\u0000 end; exit!",
    ]


def test_hostile_ticket_text_stays_data(redmine: LocalRedmine, tmp_path: Path, unique: str) -> None:
    canary = Path(f"/tmp/hd-loader-{unique}-")
    texts = hostile_texts(canary)
    joined = " | ".join(texts)

    def edit(ticket: dict[str, Any]) -> dict[str, Any]:
        if ticket["id"] in (portal_id("T11", unique), portal_id("T12", unique), portal_id("T30", unique)):
            ticket["subject"] = joined
            ticket["description"] = "\n".join(texts) + "\n__END__\nend\n"
            ticket["description_format"] = "text"
            ticket["module"] = texts[0][:50]
            for comment in ticket["comments"]:
                comment["body"] = "\n".join(texts)
            for complaint in ticket.get("complaints", []):
                complaint["text"] = joined
            for entry in ticket.get("time_entries", []):
                entry["comment"] = texts[2]
            for att in ticket["attachments"]:
                att["filename"] = "#{`id`}.pdf"  # no character Redmine's file names replace
        return ticket

    export = unique_export(tmp_path / "export", unique, edit_ticket=edit)
    done = helpdesk(redmine, "migrate", "run", str(export), "--state", str(tmp_path / "s.sqlite"), *LIMIT,
                    "--format", "json", *with_loader(redmine))
    assert done.returncode == 3, done.stderr[-3000:]  # the sample's own bad records
    result = json.loads(done.stdout)
    assert not [f for f in result["findings"] if f["category"] == "write-failed"], result["findings"]
    leftovers = sorted(str(p) for p in Path("/tmp").glob(f"{canary.name}*"))
    assert leftovers == [], f"code ran: {leftovers}"

    issue = issue_for(redmine, portal_id("T11", unique))  # complaints
    assert issue["subject"] == cut_subject(joined)[0]
    description = issue["description"].replace("\r\n", "\n")  # Redmine's own line ends, as over REST
    assert description.startswith(f"**Полная тема:** {joined}")  # the subject was long
    assert description.endswith("\n".join(texts) + "\n__END__\nend\n")
    assert issue["category"]["name"] == texts[0][:50]
    notes = "\n".join(j.get("notes") or "" for j in issue["journals"])
    for text in texts:
        assert text in notes
    issue = issue_for(redmine, portal_id("T30", unique))  # ticket attachments
    assert {a["filename"] for a in issue["attachments"]} == {"#{`id`}.pdf"}
    entries = redmine.gateway().get("/time_entries.json", {"issue_id": issue_for(
        redmine, portal_id("T12", unique))["id"]})["time_entries"]
    # the comment is the client's text verbatim (no marker: the portal id is in the support-only field)
    assert entries and all(e["comments"].startswith(texts[2]) and [v["value"] for v in e["custom_fields"]]
                           for e in entries)
    verified = helpdesk(redmine, "migrate", "verify", str(export), "--state", str(tmp_path / "s.sqlite"), *LIMIT,
                        "--format", "json")
    assert verified.returncode == 0, verified.stdout[-3000:]

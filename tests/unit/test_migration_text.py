"""Text rules of the migration: subjects, HTML, identifiers, provenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from helpdesk_core.identifiers import project_identifier
from migrator.text import comment_header, cut_subject, find_provenance, html_to_markdown, note_marker, provenance_line


def test_short_subject_is_kept_whole() -> None:
    assert cut_subject("Не выписывается билет") == ("Не выписывается билет", False)


def test_long_subject_is_cut_at_a_word_boundary_within_255() -> None:
    subject = "Очень длинная тема обращения " * 20
    cut, was_cut = cut_subject(subject)
    assert was_cut and len(cut) <= 255 and cut.endswith("…")
    assert subject.startswith(cut[:-1].rstrip())
    assert not cut[:-1].endswith(" ")


def test_html_keeps_formatting_and_drops_everything_executable() -> None:
    html = ('<p>Текст <b>важно</b></p><script>alert(1)</script><iframe src="x"></iframe>'
            '<img src=x onerror="alert(2)"><a href="https://example.travel/o/1">заказ</a>')
    text = html_to_markdown(html)
    assert "**важно**" in text
    assert "[заказ](https://example.travel/o/1)" in text
    for danger in ("alert", "<script", "onerror", "<iframe", "<img"):
        assert danger not in text


def test_html_entity_that_spells_a_tag_stays_inert() -> None:
    assert "<script" not in html_to_markdown("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")


def test_identifiers_are_valid_and_unique_when_names_transliterate_alike() -> None:
    used: set[str] = set()
    first = project_identifier("ООО «Ромашка Тревел»", used, "C1")
    second = project_identifier("ООО Ромашка-Тревел", used, "C2")
    assert first == "ooo-romashka-trevel"
    assert second != first and second.endswith("c2")
    numeric = project_identifier("123", used, "C3")
    assert numeric[0].isalpha()
    assert all(len(i) <= 100 and set(i) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") for i in used)


def test_identifier_is_stable_for_the_same_input() -> None:
    assert project_identifier("Авиа Лайн", set(), "C7") == project_identifier("Авиа Лайн", set(), "C7")


def test_provenance_line_names_author_and_moscow_time_and_is_found_again() -> None:
    moment = datetime(2024, 5, 7, 7, 5, tzinfo=UTC)
    line = provenance_line("comment", "M1", "Иван Иванов (i.ivanov)", moment)
    assert "Иван Иванов" in line and "07.05.2024 10:05 МСК" in line
    assert find_provenance(f"{line}\n\nтекст") == [("comment", "M1")]
    assert find_provenance("no marker here") == []
    assert find_provenance(None) == []
    other_zone = datetime(2024, 5, 7, 12, 5, tzinfo=timezone(timedelta(hours=5)))
    assert "10:05 МСК" in provenance_line("comment", "M2", "x", other_zone)


def test_attachment_names_are_what_redmine_stores_for_both_writers() -> None:
    """Issue 19, class 4: Redmine keeps only the part after the last slash and replaces its invalid
    characters; the name both writers send (and verify expects) is already that name."""
    from migrator.text import attachment_filename

    assert attachment_filename("a/b/../evil.txt") == "a_b_.._evil.txt"  # no path, nothing dropped
    assert attachment_filename('x:y?"z".txt') == "x_y_z_.txt"  # a run of invalid characters: one "_"
    assert attachment_filename("") == attachment_filename("  ") == "file"
    assert attachment_filename("a\x00b.txt") == "ab.txt"  # NUL removed, as from every text
    long = attachment_filename("имя-" * 100 + ".pdf")
    assert len(long) == 255 and long.endswith("….pdf")


def test_a_comment_header_hides_its_marker_and_is_recognised_in_both_shapes() -> None:
    moment = datetime(2024, 3, 11, 4, 4, tzinfo=UTC)
    header = comment_header("M4", "Иван Иванов (i.ivanov)", moment)
    first, human = header.split("\n")
    assert first == "[portal:comment:M4]: #"  # a CommonMark link reference definition: renders as nothing
    assert human == "_Иван Иванов (i.ivanov), 11.03.2024 07:04 МСК_" and "portal" not in human
    assert note_marker(f"{header}\n\nтекст") == ("comment", "M4")
    assert note_marker(header.replace("\n", "\r\n", 1)) == ("comment", "M4")
    assert note_marker(provenance_line("comment", "M3", "x", moment) + "\n\nтекст") == ("comment", "M3")  # earlier runs
    assert note_marker(f"> {header}") is None and note_marker(f"текст\n{header}") is None  # quoted, not opening
    assert note_marker("[portal:comment:M4]: # и текст") is None

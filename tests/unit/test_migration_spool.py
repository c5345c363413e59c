"""The loader's spool (migrator.rails_loader.Spool): a file is copied out of the export only when the bytes
copied are the declared ones, and the copy is what the loader then reads (and checks again)."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from helpdesk_core.export import open_export
from helpdesk_core.export_model import Attachment
from migrator.engine import AttachmentRefused
from migrator.rails_loader import CHUNK, Spool
from tests.hostile_export import Piece, company, ticket, user, write_export


def _export(tmp_path: Path, content: bytes) -> Path:
    piece = Piece([company("C1", "Файлы", "f.example")], [user("U1", "u1", "u@f.example", "C1")],
                  [ticket("T1", "C1", "U1")], {"attachments/x.bin": content})
    return write_export(tmp_path / "export", piece)


def _attachment(content: bytes) -> Attachment:
    return Attachment(id="A1", filename="x.bin", content_type="application/octet-stream", size=len(content),
                      sha256=hashlib.sha256(content).hexdigest(), path="attachments/x.bin", author_id="U1",
                      created_at="2024-05-06T10:00:00+03:00")


def test_a_file_larger_than_a_chunk_is_copied_whole_and_readable_by_the_runner(tmp_path: Path) -> None:
    content = bytes(range(256)) * (CHUNK // 256 * 3 + 7)  # three chunks and a bit
    spool = Spool()
    try:
        with open_export(_export(tmp_path, content)) as export:
            path = spool.copy(export, _attachment(content))
        assert path.read_bytes() == content
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert stat.S_IMODE(spool.dir.stat().st_mode) == 0o711  # traversable, not listable
        spool.remove([path])
        assert not path.exists()
    finally:
        spool.close()
    assert not spool.dir.exists()


def test_bytes_that_are_not_the_declared_ones_are_refused_and_leave_nothing(tmp_path: Path) -> None:
    content = b"declared content"
    spool = Spool()
    try:
        with open_export(_export(tmp_path, content + b" and more")) as export, \
                pytest.raises(AttachmentRefused, match="does not match"):
            spool.copy(export, _attachment(content))
        assert list(spool.dir.iterdir()) == []
    finally:
        spool.close()


def test_a_killed_runs_spool_is_removed_by_the_next_run_and_a_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"{Spool.PREFIX}999999999-abc"  # no such process
    alive = tmp_path / f"{Spool.PREFIX}1-abc"  # init: always alive
    for orphan in (dead, alive):
        orphan.mkdir()
        (orphan / "file").write_bytes(b"client data")
    spool = Spool(tmp_path)
    try:
        assert not dead.exists() and alive.exists() and spool.dir.parent == tmp_path
    finally:
        spool.close()

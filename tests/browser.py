"""Drive Debian's headless chromium from tests: dump the DOM after scripts ran, or screenshot.

Each call gets a throw-away profile and runs with networking features off, so a page that
tried to reach the network would simply fail to load that resource.  Usage::

    from tests.browser import dump_dom, screenshot
    dom = dump_dom(path, hash="selftest")
    screenshot(path, tmp_path / "shot.png")

Missing chromium skips the test locally but fails it in CI (env ``CI`` set), so a broken
CI image cannot turn browser tests into silent skips.  ``CHROMIUM`` overrides the binary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

DEFAULT_CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 90.0

__all__ = ["chromium_path", "dump_dom", "file_url", "require_chromium", "screenshot"]


def chromium_path() -> Path:
    """The chromium binary to use (``CHROMIUM`` env var, else Debian's path)."""
    return Path(os.environ.get("CHROMIUM", DEFAULT_CHROMIUM))


def require_chromium() -> Path:
    """Chromium's path; skip the calling test without it, or fail if running in CI."""
    path = chromium_path()
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"headless chromium not found at {path} (apt-get install chromium, or set CHROMIUM)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so browser tests must run", pytrace=False)
    pytest.skip(reason)


def file_url(path: Path, hash: str = "") -> str:
    """``file://`` URL of ``path``; ``hash`` is appended after '#' (already URL-encoded)."""
    url = Path(path).resolve().as_uri()
    return f"{url}#{hash.lstrip('#')}" if hash else url


def _run(args: list[str], timeout: float) -> str:
    """Run chromium in its own process group and kill exactly that group on timeout."""
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="hd-chromium-") as profile:
        cmd = [
            str(binary),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--disable-extensions",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(f"chromium timed out after {timeout:g}s: {' '.join(cmd)}") from None
        if proc.returncode != 0:
            tail = "\n".join(err.splitlines()[-20:])
            raise AssertionError(f"chromium exited with {proc.returncode}:\n{tail}")
        return out


def dump_dom(path: Path, hash: str = "", *, timeout: float = TIMEOUT_S) -> str:
    """Serialized DOM of the page after load, i.e. after its own scripts have run."""
    dom = _run(["--dump-dom", file_url(path, hash)], timeout)
    if "<html" not in dom:
        raise AssertionError(f"chromium returned no DOM for {path}: {dom[:200]!r}")
    return dom


def screenshot(
    path: Path, png: Path, *, hash: str = "", size: tuple[int, int] = (1280, 900), timeout: float = TIMEOUT_S
) -> Path:
    """Write a PNG of the page's first ``size`` pixels (viewport, not the full page)."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    _run([f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", file_url(path, hash)], timeout)
    if not png.is_file() or png.stat().st_size == 0:
        raise AssertionError(f"chromium wrote no screenshot to {png}")
    return png

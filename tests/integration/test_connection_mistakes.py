"""A wrong REDMINE_URL, as an administrator types it: the address is named, retrying happens only
where it can help (no such host: never; nothing listening: one quick retry), a wrong base path
is said as such, and the hint points at REDMINE_URL (not a developer's script), in Russian."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, LocalRedmine

pytestmark = pytest.mark.redmine
HELPDESK = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]


def doctor(url: str, key: str) -> tuple[int, str, float]:
    env = {"PATH": "/usr/bin:/bin", "REDMINE_URL": url, "REDMINE_API_KEY": key, "HELPDESK_LANG": "ru"}
    started = time.monotonic()
    done = subprocess.run([*HELPDESK, "doctor"], env=env, capture_output=True, text=True, cwd=REPO, timeout=120)
    return done.returncode, done.stderr, time.monotonic() - started


def test_nothing_listening_is_said_after_one_quick_retry() -> None:
    code, err, seconds = doctor("http://127.0.0.1:9", "k" * 40)
    assert code == 1
    assert "http://127.0.0.1:9 отказывает в соединении" in err and "попыток: 2" in err
    assert err.count("внимание: ") == 1 and "повтор 1 из 1" in err  # the retry warning, in Russian
    assert "подсказка: проверьте REDMINE_URL" in err and "scripts/redmine-local" not in err
    assert "retrying" not in err and "Traceback" not in err
    assert seconds < 10


def test_a_host_that_does_not_exist_is_not_retried() -> None:
    code, err, _ = doctor("http://no-such-host.invalid:3000", "k" * 40)
    assert code == 1
    assert "хоста из http://no-such-host.invalid:3000 не существует" in err
    assert "внимание: " not in err and "подсказка: проверьте REDMINE_URL" in err


def test_a_wrong_base_path_is_said_as_such(redmine: LocalRedmine) -> None:
    code, err, _ = doctor(redmine.url + "/redmine", redmine.api_key)
    assert code == 2
    assert f"{redmine.url}/redmine отвечает веб-страницей, а не API Redmine" in err
    assert "путь после хоста" in err and "не найден" not in err and redmine.api_key not in err

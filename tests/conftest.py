"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpdesk_core.config import ConnectionSettings, RetrySettings
from helpdesk_core.gateway import Gateway
from helpdesk_core.mappings import Mappings, load_mappings

REPO = Path(__file__).resolve().parent.parent
REDMINE_LOCAL = REPO / "scripts" / "redmine-local"


@dataclass(frozen=True)
class LocalRedmine:
    """A running local Redmine started by scripts/redmine-local."""

    variant: str
    url: str
    api_key: str

    def settings(self, **overrides: object) -> ConnectionSettings:
        values: dict[str, object] = {"url": self.url, "api_key": self.api_key, "timeout": 30.0,
                                     "retry": RetrySettings(attempts=4, initial_wait=0.2, max_wait=2)}
        values.update(overrides)
        return ConnectionSettings.model_validate(values)

    def gateway(self, **overrides: object) -> Gateway:
        return Gateway(self.settings(**overrides))

    def env(self) -> dict[str, str]:
        return {**os.environ, "REDMINE_URL": self.url, "REDMINE_API_KEY": self.api_key}

    def runner(self, ruby: str) -> str:
        """Run Ruby through `rails runner` on this instance (backdating dates in tests)."""
        done = subprocess.run([str(REDMINE_LOCAL), "runner", "-", "--variant", self.variant],
                              input=ruby, text=True, capture_output=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"rails runner failed: {done.stderr[-2000:]}")
        return done.stdout


def state_file(variant: str) -> Path:
    """The env file scripts/redmine-local writes for this variant (REDMINE_LOCAL_PREFIX picks the instance)."""
    prefix = os.environ.get("REDMINE_LOCAL_PREFIX", "helpdesk")
    name = variant if prefix == "helpdesk" else f"{prefix}_{variant}"
    return REPO / "var" / f"redmine-{name}.env"


def _start(variant: str) -> LocalRedmine:
    if os.environ.get("HELPDESK_NO_REDMINE") and not os.environ.get("CI"):
        pytest.skip("HELPDESK_NO_REDMINE is set (never honoured in CI)")
    done = subprocess.run([str(REDMINE_LOCAL), "start", "--variant", variant], capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/redmine-local start --variant {variant} failed:\n{done.stderr[-3000:]}")
    values: dict[str, str] = {}
    for line in state_file(variant).read_text().splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip("'\"")
    return LocalRedmine(variant=variant, url=values["REDMINE_URL"], api_key=values["REDMINE_API_KEY"])


@pytest.fixture(scope="session")
def redmine() -> LocalRedmine:
    """The SQLite-backed local Redmine, provisioned (started once per test session)."""
    return _start("sqlite")


@pytest.fixture(scope="session")
def redmine_pg() -> LocalRedmine:
    """The PostgreSQL-backed local Redmine in Puma cluster mode (concurrent writes)."""
    return _start("pgsql")


@pytest.fixture(scope="session")
def mappings() -> Mappings:
    return load_mappings()


@pytest.fixture
def unique() -> Iterator[str]:
    """A short token unique to this test run, for names that must not collide across runs."""
    yield os.urandom(4).hex()

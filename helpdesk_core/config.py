"""How the tool reaches Redmine: URL, API key, TLS and timeouts.

The key comes from the environment (`REDMINE_API_KEY`) or a config file, is held as a
`SecretStr` and is never printed: `repr()` of the settings shows `**********`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from helpdesk_core.errors import ConfigError
from helpdesk_core.yaml_source import load_yaml_file


class RetrySettings(BaseModel):
    """Exponential backoff with jitter, capped in attempts and in total wait."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(6, ge=1, le=50)
    initial_wait: float = Field(0.5, ge=0)
    max_wait: float = Field(20.0, ge=0)
    max_total_wait: float = Field(120.0, ge=0)


class ConnectionSettings(BaseModel):
    """Everything the gateway needs to talk to one Redmine."""

    model_config = ConfigDict(extra="forbid")

    url: str
    api_key: SecretStr
    verify_tls: bool = True
    timeout: float = Field(30.0, gt=0, description="seconds to connect and between bytes read")
    retry: RetrySettings = RetrySettings()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class ConfigFile(BaseModel):
    """The optional `--config` file: `redmine: {url, api_key, verify_tls, timeout, retry}`."""

    model_config = ConfigDict(extra="forbid")

    redmine: dict[str, object] = Field(default_factory=dict)


def load_connection(config_path: Path | None = None, env: Mapping[str, str] | None = None,
                    *, insecure: bool = False) -> ConnectionSettings:
    """Settings from the config file, overridden by REDMINE_URL / REDMINE_API_KEY."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    if config_path is not None:
        values.update(load_yaml_file(config_path, ConfigFile).redmine)
    if env.get("REDMINE_URL"):
        values["url"] = env["REDMINE_URL"]
    if env.get("REDMINE_API_KEY"):
        values["api_key"] = env["REDMINE_API_KEY"]
    if insecure:
        values["verify_tls"] = False
    missing = [name for name in ("url", "api_key") if not values.get(name)]
    if missing:
        names = " and ".join(f"REDMINE_{m.upper()}" for m in missing)
        raise ConfigError(f"{names} not set: export it or pass --config FILE")
    try:
        return ConnectionSettings.model_validate(values)
    except Exception as exc:  # pydantic.ValidationError; re-raised without the values (the key!)
        errors = getattr(exc, "errors", lambda: [])()
        first = errors[0] if errors else {"loc": (), "msg": "invalid"}
        key = "redmine." + ".".join(str(p) for p in first["loc"])
        raise ConfigError(first["msg"], source=str(config_path or "environment"), key=key) from None

"""How the tool reaches Redmine: URL, API key, TLS and timeouts.

The key comes from the environment (`REDMINE_API_KEY`) or a config file, is held as a
`SecretStr` and is never printed: `repr()` of the settings shows `**********`, and validation
errors never quote an input (`hide_input_in_errors`).

Whitespace around the key (a config written on Windows ends it in CR LF, a pasted key carries a
space) is trimmed at load: such a key would otherwise be refused by `requests` with an error that
quotes it. What remains must be printable ASCII without spaces (all an HTTP header can carry);
anything else is refused with an error that names the key's position, never its text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

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


def clean_api_key(value: str) -> str:
    """The key without surrounding whitespace; ValueError (quoting nothing of it) when unusable."""
    key = value.strip()
    if not key:
        raise ValueError("the API key is empty")
    for position, char in enumerate(key, 1):
        if not "!" <= char <= "~":
            kind = "whitespace" if char.isspace() else ("a control character" if ord(char) < 32 or ord(char) == 127
                                                         else "a non-ASCII character")
            raise ValueError(f"the API key holds {kind} at position {position} of {len(key)} "
                             "(an HTTP header cannot carry it; copy the key again from Redmine)")
    return key


class ConnectionSettings(BaseModel):
    """Everything the gateway needs to talk to one Redmine."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    url: str
    api_key: SecretStr
    verify_tls: bool = True
    timeout: float = Field(30.0, gt=0, description="seconds to connect and between bytes read")
    retry: RetrySettings = RetrySettings()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()  # a config written on Windows ends it in CR LF
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            host = urlsplit(value).hostname
        except ValueError:
            host = None
        if not host:
            raise ValueError("has no host name")
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, value: SecretStr) -> SecretStr:
        return SecretStr(clean_api_key(value.get_secret_value()))


class ConfigFile(BaseModel):
    """The optional `--config` file: `redmine: {url, api_key, verify_tls, timeout, retry}`."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

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

"""The error tree every library module raises from.

One root (`HelpdeskError`) so the CLI can turn any failure into one line on stderr and an
exit code; subclasses carry the data an administrator needs (record, key, line, HTTP
status) and never an API key: the gateway builds its errors from redacted text and passes each
`RedmineError` through `redacted()` on its way out; `ConfigError`s never quote a value.
"""

from __future__ import annotations

from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3


class HelpdeskError(Exception):
    """Root of every error the tool raises on purpose."""

    exit_code = EXIT_FAILED
    hint: str | None = None


class ConfigError(HelpdeskError):
    """A configuration or mappings file is wrong: names the file, key and line."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None,
                 line: int | None = None) -> None:
        self.source, self.key, self.line = source, key, line
        where = ":".join(str(p) for p in (source, line) if p is not None)
        parts = [p for p in (where, f"key '{key}'" if key else None) if p]
        super().__init__(f"{', '.join(parts)}: {message}" if parts else message)


class RedmineError(HelpdeskError):
    """Redmine answered with a final error (after retries where retrying made sense)."""

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None,
                 errors: list[str] | None = None) -> None:
        self.method, self.path, self.status = method, path, status
        self.reason = message
        self.errors = errors or []
        detail = f" ({'; '.join(self.errors)})" if self.errors else ""
        super().__init__(f"{method} {path}: {message}{detail}".strip())

    def redacted(self, redact: Callable[[str], str]) -> RedmineError:
        """This error with `redact` applied to every text it carries (its message, path and errors)."""
        self.path, self.reason = redact(self.path), redact(self.reason)
        self.errors = [redact(e) for e in self.errors]
        self.args = tuple(redact(a) if isinstance(a, str) else a for a in self.args)
        return self


class AuthError(RedmineError):
    """401: the API key is wrong or the REST API is disabled."""

    exit_code = EXIT_USAGE
    hint = "check REDMINE_API_KEY and that the REST API is enabled (helpdesk doctor)"


class ForbiddenError(RedmineError):
    """403: the key (or the impersonated user) may not do this."""


class NotFoundError(RedmineError):
    """404: the object does not exist or is invisible to this user."""


class ImpersonationError(RedmineError):
    """412: Redmine refused X-Redmine-Switch-User (user locked, not activated or unknown)."""


class ValidationFailed(RedmineError):
    """422: Redmine rejected the data; `errors` holds its messages."""


class ServerError(RedmineError):
    """5xx that did not go away within the retry cap."""


class UnavailableError(RedmineError):
    """No such host, connection refused, reset or timeout (within the retry cap where retrying helps)."""

    hint = "check REDMINE_URL: scheme, host and port of the Redmine server, and that it is running"


class BasePathError(RedmineError):
    """The address answers, but not with Redmine's API (a web page at a wrong base path)."""

    exit_code = EXIT_USAGE
    hint = "check REDMINE_URL: the path after the host must be where Redmine is installed (often none)"


class RedirectRefused(RedmineError):
    """Redmine (or a proxy) sent us to another origin, or a URL points outside the configured one:
    the API key is not sent there. A configuration problem, not a transient fault."""

    exit_code = EXIT_USAGE
    hint = "set REDMINE_URL to the address Redmine really answers on (scheme, host and port)"


class TLSVerificationError(RedmineError):
    """The server's TLS certificate could not be verified: not transient, never retried."""

    hint = "trust the server's certificate (REQUESTS_CA_BUNDLE), or pass --insecure for a test server"


class WriteRefused(HelpdeskError):
    """A write was attempted through a read-only gateway (dry-run safety net)."""

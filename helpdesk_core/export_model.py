"""Records of the portal export (format version 1), as pydantic models.

This module owns the contract's per-record rules (docs: shared/portal-export-v1.md).
Rules that need another file (does this company exist?) and rules about the file
(unique ids, valid JSON) belong to `helpdesk_core.export`.

The models validate the Python objects that `json.loads(..., parse_float=Decimal)`
produces, so hours never pass through a float. Field types are strict one by one
(a number is not a string, "true" is not a bool) while the models themselves stay
in lax mode so that JSON arrays become tuples; timestamps and dates accept only
ISO 8601 strings (or already-parsed values from Python callers), never Unix times.
Unknown fields are ignored so that a newer exporter can add fields.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

FORMAT = "nemo-portal-export"
VERSION = 1

# One @, a non-empty local part without spaces, and a dotted domain of non-empty labels.
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
_DRIVE_RE = re.compile(r"[A-Za-z]:")


def json_type(value: object) -> str:
    """Name a value by its JSON type, which is what the exporter's author thinks in."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _parse_timestamp(value: Any) -> Any:
    """Accept only ISO 8601 text: pydantic's lax mode would also take Unix times."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "timestamp_type", "timestamp must be an ISO 8601 string, got {got}", {"got": json_type(value)}
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "timestamp_format", "not an ISO 8601 timestamp: {value}", {"value": repr(value[:60])}
        ) from None


def _parse_day(value: Any) -> Any:
    """Accept only an ISO 8601 calendar date: a timestamp in a date field is a mistake."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "date_type", "date must be an ISO 8601 string, got {got}", {"got": json_type(value)}
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "date_format", "not an ISO 8601 date (YYYY-MM-DD): {value}", {"value": repr(value[:60])}
        ) from None


def _parse_hours(value: Any) -> Any:
    """Hours are money-like: exact decimals only, a float has already lost digits."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PydanticCustomError("hours_finite", "hours must be a finite number")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        raise PydanticCustomError("hours_float", "hours must be parsed as a Decimal, not a float")
    raise PydanticCustomError("hours_type", "hours must be a number, got {got}", {"got": json_type(value)})


def _check_email(value: str) -> str:
    if not _EMAIL_RE.fullmatch(value):
        raise PydanticCustomError(
            "email_format", "malformed email address {value}", {"value": repr(value[:80])}
        )
    return value


def _check_sha256(value: str) -> str:
    if not _SHA256_RE.fullmatch(value):
        raise PydanticCustomError("sha256_format", "sha256 must be 64 hexadecimal characters")
    return value.lower()


def _check_relative_path(value: str) -> str:
    """Refuse paths that could read outside the export root (zip slip, absolute paths)."""
    if not value:
        raise PydanticCustomError("path_empty", "attachment path is empty")
    if "\\" in value or "\x00" in value:
        raise PydanticCustomError("path_chars", "attachment path must use '/' and contain no NUL or '\\'")
    if value.startswith("/") or _DRIVE_RE.match(value):
        raise PydanticCustomError("path_absolute", "attachment path must be relative to the export root")
    if ".." in value.split("/"):
        raise PydanticCustomError("path_escape", "attachment path must not contain '..'")
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


Id = Annotated[StrictStr, Field(min_length=1)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_parse_timestamp)]
Day = Annotated[date, BeforeValidator(_parse_day)]
Hours = Annotated[Decimal, BeforeValidator(_parse_hours), Field(gt=0)]
Email = Annotated[StrictStr, AfterValidator(_check_email)]
Sha256 = Annotated[StrictStr, AfterValidator(_check_sha256)]
RelativePath = Annotated[StrictStr, AfterValidator(_check_relative_path)]
NonBlank = Annotated[StrictStr, AfterValidator(_check_not_blank)]


class Record(BaseModel):
    """Common configuration: immutable values; unknown fields tolerated for forward compatibility."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ManifestCounts(Record):
    companies: Annotated[StrictInt, Field(ge=0)]
    users: Annotated[StrictInt, Field(ge=0)]
    tickets: Annotated[StrictInt, Field(ge=0)]


class Manifest(Record):
    format: Literal["nemo-portal-export"]
    version: Literal[1]
    exported_at: Timestamp
    counts: ManifestCounts


class Company(Record):
    id: Id
    name: StrictStr
    email_domains: tuple[StrictStr, ...]


class User(Record):
    id: Id
    login: StrictStr
    email: Email
    first_name: StrictStr
    last_name: StrictStr
    # kind before company_id: the company rule below reads the already-validated kind.
    kind: Literal["client", "staff"]
    company_id: Id | None
    active: StrictBool
    created_at: Timestamp

    @field_validator("company_id")
    @classmethod
    def _company_only_null_for_staff(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("kind") == "client":
            raise PydanticCustomError(
                "company_required", "company_id is null but only staff may have no company"
            )
        return value


class Attachment(Record):
    id: Id
    filename: StrictStr
    content_type: StrictStr
    size: Annotated[StrictInt, Field(ge=0)]
    sha256: Sha256
    path: RelativePath
    author_id: Id
    created_at: Timestamp


class Comment(Record):
    id: Id
    author_id: Id
    created_at: Timestamp
    body: StrictStr
    internal: StrictBool
    attachments: tuple[Attachment, ...]


class Complaint(Record):
    author_id: Id
    created_at: Timestamp
    text: StrictStr


class TimeEntry(Record):
    id: Id
    user_id: Id
    spent_on: Day
    hours: Hours
    comment: StrictStr


class StatusChange(Record):
    """One entry of a ticket's optional `status_history`: which status, when, and who (null: the portal)."""

    status: NonBlank
    at: Timestamp
    by: Id | None


class Ticket(Record):
    id: Id
    company_id: Id
    author_id: Id
    created_at: Timestamp
    updated_at: Timestamp
    reason: StrictStr
    priority: StrictStr
    module: StrictStr | None
    category: StrictStr | None
    subject: NonBlank
    description: StrictStr
    description_format: Literal["text", "html"]
    status: StrictStr
    assignee_id: Id | None = None
    answers: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    attachments: tuple[Attachment, ...]
    comments: tuple[Comment, ...]
    complaints: tuple[Complaint, ...] = ()
    time_entries: tuple[TimeEntry, ...] = ()
    closed_at: Timestamp | None
    # After status and created_at: its validator reads them. None (absent) and [] both mean "no history".
    status_history: tuple[StatusChange, ...] | None = None

    @field_validator("comments")
    @classmethod
    def _comments_in_time_order(cls, comments: tuple[Comment, ...]) -> tuple[Comment, ...]:
        """The contract promises time order; journals would be misdated otherwise."""
        for i in range(1, len(comments)):
            if comments[i].created_at < comments[i - 1].created_at:
                # "at" extends the error's location, so the reader can name comments.N.created_at.
                raise PydanticCustomError(
                    "comment_order",
                    "comment is older than the one before it (comments must be in time order)",
                    {"at": f"{i}.created_at"},
                )
        return comments

    @field_validator("status_history")
    @classmethod
    def _history_consistent(cls, history: tuple[StatusChange, ...] | None,
                            info: ValidationInfo) -> tuple[StatusChange, ...] | None:
        """Time order, not before the ticket, ending in the ticket's status: the migration
        replays it as dated journals, so a history that contradicts itself would misdate them."""
        if not history:
            return history
        created = info.data.get("created_at")
        for i, change in enumerate(history):
            if created is not None and change.at < created:
                raise PydanticCustomError(
                    "status_history_before_ticket", "status change is older than the ticket's created_at",
                    {"at": f"{i}.at"})
            if i and change.at < history[i - 1].at:
                raise PydanticCustomError(
                    "status_history_order",
                    "status change is older than the one before it (status_history must be in time order)",
                    {"at": f"{i}.at"})
        status = info.data.get("status")
        if status is not None and history[-1].status != status:
            raise PydanticCustomError(
                "status_history_last",
                "the last status change is to {last}, but the ticket's status is {status}",
                {"at": f"{len(history) - 1}.status", "last": repr(history[-1].status), "status": repr(status)})
        return history

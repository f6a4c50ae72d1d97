"""What every resource shares: problem details, pages, timestamps, names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")


def _utc(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


Stamp = Annotated[datetime, AfterValidator(_utc)]
"""A time in UTC (stored without a zone, sent with one)."""

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._@:+-]*$")]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
"""A record's id (the database keeps 32-bit integers)."""
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-03"])]


class Body(BaseModel):
    """A request body: unknown fields are errors, as in scenario files."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Problem(BaseModel):
    """An error (RFC 9457 problem details), with the field at fault and what would be allowed."""

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="the message, as the command line prints it")
    instance: str | None = Field(default=None, description="the request path")
    field: str | None = Field(default=None, description="the field at fault (a body, query or header path)")
    where: str | None = Field(default=None, description="file and line, for scenario text")
    allowed: str | None = Field(default=None, description="what would be accepted")
    request_id: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first unless the list says otherwise; pass `next_cursor` as
    `cursor` for the next page (null: this was the last)."""

    items: list[T]
    next_cursor: str | None = None


class Health(BaseModel):
    status: str
    database: str
    migration: str | None
    version: str

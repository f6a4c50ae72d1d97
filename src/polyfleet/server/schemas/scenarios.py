"""Scenario versions: uploads, their summaries, diffs, and section edits (the scenario's own models)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ...scenario import Tenant
from .common import Body, Name, Stamp

MAX_YAML_CHARS = 2_000_000


class ScenarioUpload(Body):
    yaml: str = Field(min_length=1, max_length=MAX_YAML_CHARS, description="the scenario file's text")
    name: Name | None = Field(default=None, description="the scenario's name (default: its `name:` field)")


class ScenarioVersionOut(BaseModel):
    id: int
    name: str
    version: int
    sha256: str
    created_at: Stamp
    created_by: str
    summary: dict[str, Any]
    active: bool = Field(description="the live fleet places this version's workloads")


class ScenarioVersionFull(ScenarioVersionOut):
    yaml: str


class ScenarioOut(BaseModel):
    name: str
    versions: int
    latest: int
    active_version: int | None


class Change(BaseModel):
    path: str
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class DiffOut(BaseModel):
    name: str
    from_version: int
    to_version: int
    changes: list[Change]
    text: str = Field(description="unified diff of the two files")


class TenantsEdit(Body):
    tenants: list[Tenant]

"""API tokens: created by an admin, shown once, stored hashed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .common import Body, Name, Stamp

Role = Literal["viewer", "operator", "admin"]


class TokenCreate(Body):
    name: Name
    role: Role


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="the token's first characters, to tell tokens apart")
    created_at: Stamp
    created_by: str
    revoked_at: Stamp | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown this once, stored only as its SHA-256")


class Me(BaseModel):
    token_id: int
    name: str
    role: Role

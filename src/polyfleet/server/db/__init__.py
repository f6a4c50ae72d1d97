"""Storage: tables, the engine and its sessions, migrations."""

from .engine import DEFAULT_URL, Database, normalise_url, sqlite_path
from .migrate import current_revision, head_revision, upgrade

__all__ = ["DEFAULT_URL", "Database", "current_revision", "head_revision", "normalise_url", "sqlite_path", "upgrade"]

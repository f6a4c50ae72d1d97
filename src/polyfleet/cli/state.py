"""What the global options select, built lazily for each command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import load_catalog
from ..errors import UserError
from ..perf.estimate import Context
from ..workloads import load_models


@dataclass
class State:
    catalog_files: tuple[str, ...] = ()
    model_files: tuple[str, ...] = ()
    debug: bool = False
    _ctx: Context | None = field(default=None, repr=False)

    def check_files(self) -> None:
        """Each --catalog and --models file exists and is a file, named with its option if not."""
        for option, names in (("--catalog", self.catalog_files), ("--models", self.model_files)):
            for name in names:
                p = Path(name)
                if not p.exists():
                    raise UserError("file not found", where=name, field=option)
                if not p.is_file():
                    raise UserError("is a directory, not a file" if p.is_dir() else "is not a regular file",
                                    where=name, field=option)

    def context(self) -> Context:
        if self._ctx is None:
            self.check_files()
            self._ctx = Context(catalog=load_catalog(*self.catalog_files), models=load_models(*self.model_files))
        return self._ctx

"""What the global options select, built lazily for each command."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog import load_catalog
from ..perf.estimate import Context
from ..workloads import load_models


@dataclass
class State:
    catalog_files: tuple[str, ...] = ()
    model_files: tuple[str, ...] = ()
    _ctx: Context | None = field(default=None, repr=False)

    def context(self) -> Context:
        if self._ctx is None:
            self._ctx = Context(catalog=load_catalog(*self.catalog_files), models=load_models(*self.model_files))
        return self._ctx

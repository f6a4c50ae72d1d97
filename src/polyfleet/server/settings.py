"""How a service process runs (what `polyfleet serve` passes down)."""

from __future__ import annotations

from dataclasses import dataclass

from .db.engine import DEFAULT_URL


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_URL
    sse_max_s: float = 25.0          # an event stream closes after this; EventSource reconnects
    sse_poll_s: float = 0.5
    secure_cookies: bool = False     # set behind HTTPS
    log_requests: bool = True
    read_cache_s: float = 1.0        # a kept read answer is served at most this long (see readcache)

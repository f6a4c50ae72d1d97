"""Read endpoints under load: wrk on loopback against a real `polyfleet serve`, SQLite and PostgreSQL.

    python benchmarks/server_read_load.py [--db sqlite postgresql] [--seconds 15] [--connections 8 32]
                                          [--writes-per-s 0]

The server serves tiny.yaml's live fleet with an open incident; wrk (Debian's package, a second
process) requests the placement now in force, the pools and the incidents in turn with a viewer's
token, for a bounded time per setting. Printed per database and connection count: requests/s held,
p50 and p99 latency (wrk's own), non-2xx answers, the server's CPU seconds (and per request: the
figure that does not depend on what else the machine runs), and the machine's load average: the
machine is shared, so the load is part of the figure. Without --writes-per-s nothing is written during
a run, so after the first read of each path every answer comes from memory (server/readcache.py):
the steady state of a read-mostly service; a write makes the next read of each path build its answer
again. Goal (issue 11): 500 req/s with p99 under 50 ms on 2 cores. Logs go to a file at the level a user runs (info: one line per request).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from server_harness import TINY, cpu_seconds, free_port, fresh_db, load_note, make_live, serve, token

LUA = """
local paths = {"/api/v1/placements/current", "/api/v1/fleet/pools", "/api/v1/incidents?state=open", "/api/v1/fleet"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {["Authorization"] = "Bearer TOKEN"})
end
"""


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def run_wrk(base: str, viewer: str, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA.replace("TOKEN", viewer))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
                          "-s", f.name, base], capture_output=True, text=True, check=True).stdout
    Path(f.name).unlink()
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.MULTILINE))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": _ms(lat["50"]),
            "p99_ms": _ms(lat["99"]), "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "none"}


class Writer(threading.Thread):
    """Demand changes for `chat` (factor 1.0, 1.1, 1.0 ...) every 1/rate s while wrk runs: each is a write
    that re-places the fleet and makes every kept read answer stale."""

    def __init__(self, base: str, admin: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.base, self.admin, self.every = base, admin, 1.0 / rate
        self.stop, self.sent = threading.Event(), 0

    def run(self) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {self.admin}"}, timeout=60) as c:
            while not self.stop.wait(self.every):
                self.sent += 1
                c.post(f"{self.base}/api/v1/events", json={"id": f"w-{uuid.uuid4().hex[:12]}", "kind": "demand_change",
                                                           "service": "chat", "factor": 1.0 + 0.1 * (self.sent % 2)})


def bench(kind: str, seconds: int, conns: list[int], writes_per_s: float = 0.0) -> list[dict]:
    rows = []
    with fresh_db(kind) as url:
        admin, viewer = token(url, "admin"), token(url, "viewer", "wrk")
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"polyfleet-read-load-{kind}.log"
        proc = serve(url, port, log=log)
        base = f"http://127.0.0.1:{port}"
        try:
            make_live(base, admin, TINY.read_text())
            httpx.post(f"{base}/api/v1/events", json={"id": "bench-outage", "kind": "outage_start",
                                                      "target": {"provider": "aws"}},
                       headers={"Authorization": f"Bearer {admin}"}, timeout=60).raise_for_status()
            run_wrk(base, viewer, 2, 4)                      # warm up
            for c in conns:
                writer = Writer(base, admin, writes_per_s) if writes_per_s > 0 else None
                if writer:
                    writer.start()
                cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
                r = run_wrk(base, viewer, seconds, c)
                if writer:
                    writer.stop.set()
                    writer.join()
                    r["writes"] = writer.sent
                r.update(db=kind, connections=c, server_cpu_s=cpu_seconds(proc.pid) - cpu0,
                         wall_s=time.monotonic() - t0, load=load_note())
                rows.append(r)
                r["cpu_ms_per_request"] = 1000 * r["server_cpu_s"] / max(r["rps"] * seconds, 1.0)
                writes = f" +{r['writes']} writes" if "writes" in r else ""
                print(f"{kind:10s} c={c:3d}{writes}: {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.1f} ms"
                      f"  p99 {r['p99_ms']:6.1f} ms"
                      f"  non-2xx {r['non_2xx']}  server CPU {r['server_cpu_s']:.1f} s in {r['wall_s']:.0f} s "
                      f"= {r['cpu_ms_per_request']:.2f} ms per request  ({r['load']})", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--writes-per-s", type=float, default=0.0,
                    help="demand-change events per second during each run (0: reads only)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    print(f"before: {load_note()}")
    rows = [r for kind in args.db for r in bench(kind, args.seconds, args.connections, args.writes_per_s)]
    best = {k: max((r for r in rows if r["db"] == k and r["p99_ms"] < 50), key=lambda r: r["rps"], default=None)
            for k in args.db}
    for k, r in best.items():
        print(f"{k}: held {r['rps']:.0f} req/s with p99 {r['p99_ms']:.1f} ms (c={r['connections']})" if r else
              f"{k}: no setting kept p99 under 50 ms")


if __name__ == "__main__":
    main()

"""IT power per chip (before PUE): the system figure where known, else TDP x host overhead."""

from __future__ import annotations

from ..catalog.figures import Figure
from ..catalog.model import Accelerator

# DGX H100 10.2 kW / 8 / 700 W = 1.82; DGX B200 14.3 kW / 8 / 1000 W = 1.79
HOST_OVERHEAD = Figure(value=1.8, source="DGX H100 and DGX B200 system power / (8 x GPU TDP)", status="derived",
                       note="host CPU, memory, NICs and fans per chip, applied where no system figure is known",
                       assumed=True)


def it_watts_per_chip(acc: Accelerator) -> Figure:
    """Watts per chip at the IT load, with provenance; `assumed=True` when any part is assumed."""
    system = acc.system_watts_per_chip
    if system.known:
        return system
    tdp = acc.figure("tdp_watts")
    if not tdp.known:
        return Figure(note=f"{acc.id}: no TDP or system power known")
    value = tdp.value * HOST_OVERHEAD.value
    note = f"TDP {tdp.value:g} W ({tdp.label()}) x host overhead {HOST_OVERHEAD.value:g} (derived)"
    return Figure(value=round(value, 1), source=tdp.source, status="derived" if not tdp.assumed else "estimate",
                  note=note, assumed=True)

"""HiGHS instances that keep stdout clean (JSON output must stay parseable).

The highspy constructor prints a banner on the process's stdout; creating the instance with
file descriptor 1 pointed at /dev/null, under a lock, keeps it off. A leaf utility like
`errors`: every layer that solves may import it.
"""

from __future__ import annotations

import os
import threading

import highspy

_lock = threading.Lock()


def quiet_highs(verbose: bool = False) -> highspy.Highs:
    """A new HiGHS instance without the banner; `verbose` keeps HiGHS's solve log on."""
    with _lock:
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    h.setOptionValue("output_flag", bool(verbose))
    return h

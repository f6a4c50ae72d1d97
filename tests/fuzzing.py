"""Structure-aware fuzzing of polyfleet's inputs, shared by the fuzz tests and benchmarks/fuzz_inputs.py.

A scenario is generated as YAML of the scenario's own shape (`BASE` touches every section), then
mutated where it matters: a value replaced by a wrong type, a number out of range, NaN or infinity,
an unknown name, a string of odd size, a deep nest; a key added, dropped or duplicated. `check_scenario_text`
states the property: loading gives a Scenario (which the planner's inputs, the fault sampler and the
traffic model then take without any exception) or a UserError naming where (file:line or a field),
in one line; anything else is a bug.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import yaml
from hypothesis import strategies as st

from polyfleet.datafile import DataFile
from polyfleet.errors import UserError

BASE: dict[str, Any] = {
    "name": "fuzz",
    "description": "every section, small",
    "horizon": {"start": "2026-01", "months": 4, "hours_per_month": 730},
    "catalog": {
        "sources": {"me": {"ref": "a quote", "status": "estimate", "as_of": "2026-01-01"}},
        "accelerators": [{"id": "h100", "source": "me", "tdp_watts": 700, "hbm_gb": 80}],
        "providers": [{"id": "coreweave", "name": "CoreWeave", "kind": "neocloud"}],
        "regions": [{"id": "us-east-04", "provider": "coreweave", "geo": "us"}],
        "offerings": [{"provider": "aws", "accelerator": "h100", "instance": "p5.48xlarge", "unit_chips": 8,
                       "source": "me", "regions": {"us-east-1": {"on_demand": 3.5, "spot": 2.0}}},
                      {"provider": "coreweave", "accelerator": "h200", "instance": "gd-8xh200", "unit_chips": 8,
                       "source": "me", "prices": {"on_demand": 3.9}, "regions": {"us-east-04": None}}],
    },
    "models": [{"id": "tiny-1b", "layers": 16, "d_model": 2048, "heads": 16, "kv_heads": 8, "ffn": 8192,
                "vocab": 32000, "context": 8192}],
    "offerings": {"include": [{"provider": ["aws", "gcp", "coreweave"]}], "exclude": [{"accelerator": "inf2"}]},
    "workloads": {
        "services": [{"id": "api", "model": "llama-3.1-8b", "dtype": "fp8", "input_tokens": 1000,
                      "output_tokens": 200, "tpot_s": 0.05, "tokens_per_s": {"start": 1.0e5, "monthly_growth": 0.05},
                      "peak_factor": 1.3, "runtimes": ["vllm", "jax"]},
                     {"id": "small", "model": "tiny-1b", "mix": {"buckets": [
                         {"input_tokens": 500, "output_tokens": 100, "weight": 3},
                         {"input_tokens": 4000, "output_tokens": 400, "weight": 1}]}, "tokens_per_s": [2e4, 3e4, 4e4, 5e4],
                      "priority": "high"}],
        "training": [{"id": "tune", "model": "llama-3.1-8b", "tokens_per_month": 1.0e11, "chips": 64},
                     {"id": "run", "model": "llama-3.1-8b", "run": {"tokens": 1.0e12, "start": "2026-02",
                                                                   "deadline": "2026-04"}}],
    },
    "tenants": [{"id": "ent", "share": {"api": 0.4}, "survive": 0.8, "customers": 50,
                 "loss_usd_per_million_tokens": 30}],
    "fleet": [{"offering": "aws/p5.48xlarge/us-east-1", "units": 2, "term": "commit_1y", "months_left": 3}],
    "supply": {"spot_availability": 0.5, "rules": [{"id": "nv", "vendor": "nvidia", "max_chips": 4000,
                                                    "max_new_chips_per_month": 800}]},
    "power": {"pue": {"default": 1.3, "aws/us-east-1": 1.2}, "watts_per_chip": {"h100": 700},
              "total_mw": 50, "limits": [{"provider": "aws", "mw": [40, 40, 45, 45]}]},
    "money": {"budget_usd_per_month": 2.0e7, "porting_usd": {"tpu": 1.0e5}, "commit_discount": {"commit_1y": 0.3}},
    "risk": {"max_share": {"provider": {"default": 0.9, "gcp": 0.7}}, "classes": {"critical": 1.0},
             "failures": [{"id": "east", "region": "aws/us-east-1", "keep": 0.3}],
             "scenarios": [{"id": "s1", "probability": 0.1, "failures": ["east"]}],
             "loss_usd_per_million_tokens": {"default": 10}},
    "rates": [{"workload": "api", "accelerator": "h100", "tokens_per_chip_hour": 1.0e6}],
    "faults": {"region_outages": {"rate_per_region_year": 0.5, "median_hours": 4},
               "supply_cuts": {"rate_per_vendor_year": 0.2}, "spot_preemptions": {"events_per_month": 2},
               "new_generations": [{"accelerator": "h100", "arrival_month": 2, "value_drop": 0.3}],
               "events": [{"kind": "outage", "target": "provider:aws", "day": 10, "hours": 12}]},
    "simulation": {"months": 3, "step_minutes": 60, "traffic": {"daily_peak_to_mean": 1.4, "noise_sigma": 0.1}},
}

SECTIONS = tuple(BASE)

ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1, 3, 2**63, -(2**63), 10**30, 1e308, -1e308, 1e-320, 0.5, -0.5,
                         float("nan"), float("inf"), float("-inf"), "", " ", "x", "nope", "NaN", "inf", "1e999",
                         "2026-13", "2026-00", "0x10", "🚀", "a" * 300, [], [1, 2], {}, {"a": 1}, [[[]]],
                         {"default": float("nan")}, {"default": -1}]


def nest(depth: int, leaf: Any = 1) -> Any:
    out = leaf
    for i in range(depth):
        out = [out] if i % 2 else {"k": out}
    return out


def odd_values() -> st.SearchStrategy:
    """Values of the wrong type, out of range, not finite, oddly sized or deeply nested."""
    return st.one_of(
        st.sampled_from(ODD_VALUES),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=5)), max_size=5),
        st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.floats(), st.text(max_size=5)), max_size=3),
        st.integers(min_value=2, max_value=120).map(nest),
    )


def extreme_like(v: Any) -> st.SearchStrategy:
    """A value of the same type as `v` at the edges of what may be valid: zero, tiny, huge, scaled by
    a million either way (a number in range must still run)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return st.just(v)
    if isinstance(v, int):
        return st.sampled_from([0, 1, 2, v * 1000, v * 10**6, 10**9, 10**15])
    return st.sampled_from([0.0, 1e-300, 1e-9, 1e-3, 0.999999, 1.0, 1.000001, v * 1e6, v / 1e6, 1e15, 1e17, 9.9e17])


def paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every location in a document (mapping keys and list indices), parents before children."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, prefix + (i,))


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _tweak_name(v: Any) -> Any:
    """A near miss of a valid name: a letter added, a case changed, a digit bumped."""
    if not isinstance(v, str) or not v:
        return "zz"
    if any(c.isdigit() for c in v):
        return re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), v, count=1)
    return v + "x" if len(v) % 2 else v.upper()


@st.composite
def mutated_scenario(draw, section: str | None = None, max_mutations: int = 3) -> dict:
    """BASE with 1..max_mutations structural mutations, inside `section` if given."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=max_mutations))):
        every = [p for p in paths(doc) if p and (section is None or p[0] == section)]
        if not every:
            break
        path = draw(st.sampled_from(every))
        parent, key = _get(doc, path[:-1]), path[-1]
        kind = draw(st.sampled_from(["replace", "replace", "extreme", "extreme", "name", "add_key", "drop", "dup",
                                     "grow"]))
        if kind == "replace":
            parent[key] = copy.deepcopy(draw(odd_values()))      # never share (and later mutate) ODD_VALUES
        elif kind == "extreme":
            parent[key] = draw(extreme_like(parent[key]))
        elif kind == "name":
            parent[key] = _tweak_name(parent[key])
        elif kind == "add_key":
            target = parent[key] if isinstance(parent[key], dict) else parent
            if isinstance(target, dict):
                target[draw(st.sampled_from(["colour", "id", "default", "value", "x" * 50]))] = copy.deepcopy(
                    draw(odd_values()))
        elif kind == "drop":
            if isinstance(parent, dict):
                del parent[key]
            elif len(parent) > 0:
                parent.pop(key)
        elif kind == "dup":
            if isinstance(parent, list):
                parent.append(copy.deepcopy(parent[key]))
        elif kind == "grow":
            parent[key] = [copy.deepcopy(parent[key])] * draw(st.integers(min_value=2, max_value=300))
    return doc


def to_yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


ONE_LINE = re.compile(r"^[^\n]+$")
LOCATED = re.compile(r":\d+$")


def check_user_error(err: UserError, file: str | None = None) -> None:
    """A rejection the user can act on: one line, naming where (file:line, or the field; the file
    alone for a problem of the whole file)."""
    text = str(err)
    assert ONE_LINE.match(text), f"not one line: {text!r}"
    located = err.field or (err.where and (LOCATED.search(err.where) or err.where == file))
    assert located, f"names no field or line: {text}"
    assert "Traceback" not in text and "pydantic" not in text.lower() and "errors.pydantic.dev" not in text, text


def check_scenario_text(text: str, name: str = "fuzz.yaml") -> str:
    """The fuzz property for one scenario text: 'valid' or 'rejected'; any other outcome raises."""
    from polyfleet.plan.from_scenario import inputs_from_scenario
    from polyfleet.scenario.load import scenario_from_doc
    try:
        scn = scenario_from_doc(DataFile(text, name))
        inputs_from_scenario(scn)          # what `polyfleet scenario` also runs: plan's checks before a solve
    except UserError as err:
        check_user_error(err, name)
        return "rejected"
    exercise_simulation_inputs(scn)
    return "valid"


def exercise_simulation_inputs(scn) -> None:
    """What simulate reads from a valid scenario before running, with its own numbers: the fault
    sampler over the scenario's universe and the traffic model over its months (no exception, no hang)."""
    from polyfleet.cli.preflight import traffic_shapes
    from polyfleet.sim.build import universe_of
    try:
        traffic_shapes(scn)          # what simulate and risk refuse before any work
    except UserError as err:
        check_user_error(err)
        return
    from polyfleet.sim.demand import traffic
    from polyfleet.sim.faults import MONTH, sample_timeline
    months = min(scn.simulation.months or scn.horizon.months, scn.horizon.months)
    rng = np.random.default_rng(0)
    events = sample_timeline(scn.faults, universe_of(scn), months * MONTH, rng)
    assert all(math.isfinite(e.start_s) and math.isfinite(e.duration_s) for e in events)
    step_s = scn.simulation.step_minutes * 60
    steps = int(months * MONTH // step_s)
    monthly = scn.service_tokens_per_s()[:, :months].T
    if monthly.size:
        smooth, noisy = traffic(monthly, step_s, steps, scn.simulation.traffic, rng,
                                np.array([s.peak_factor for s in scn.workloads.services]))
        assert np.all(np.isfinite(noisy)) and np.all(smooth >= -1e-9), "traffic must be finite and >= 0"


RAW_CASES: dict[str, bytes] = {
    "duplicate key": to_yaml(BASE).replace("tenants:", "tenants: []\ntenants:", 1).encode(),
    "deep flow nesting": b"x: " + b"[" * 2000 + b"]" * 2000 + b"\n",
    "deep block nesting": "".join(f"{'  ' * i}k{i}:\n" for i in range(300)).encode(),
    "alias cycle": b"a: &a [*a]\n",
    "billion laughs": b"a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                      b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                      b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                      b"workloads: [*f]\n",
    "latin-1": "name: caf\u00e9\nworkloads: {}\n".encode("latin-1"),
    "tab indent": b"workloads:\n\tservices: []\n",
    "not a mapping": b"- a\n- b\n",
    "empty": b"",
    "two documents": b"a: 1\n---\nb: 2\n",
}


# ---- command-line options ----------------------------------------------------------------------

def _num(x: float) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


NOT_FINITE = st.sampled_from(["nan", "inf", "-inf", "NaN", "Infinity"])


def _floats_outside(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> st.SearchStrategy:
    below = st.floats(max_value=lo, exclude_max=not lo_open, allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=hi, exclude_min=not hi_open, allow_nan=False, allow_infinity=False)
    return st.one_of(below.map(_num), above.map(_num), NOT_FINITE)


def _ints_outside(lo: int, hi: int | None = None) -> st.SearchStrategy:
    out = st.integers(max_value=lo - 1)
    if hi is not None:
        out = out | st.integers(min_value=hi + 1, max_value=hi * 1000)
    return out.map(str)


WHAT_IF_KINDS_CLI = ("outage", "supply-cut", "preemption", "price-shock", "delivery-slip")


@st.composite
def bad_what_if(draw) -> str:
    """A what-if with exactly one defect: a name the scenario lacks, a number not finite or out of
    range, a magnitude where the kind has none, a day after the simulated months, or a bad form."""
    kind = draw(st.sampled_from(WHAT_IF_KINDS_CLI))
    target = "vendor=nvidia" if kind in ("supply-cut", "delivery-slip") else "provider=aws"
    defect = draw(st.sampled_from(["name", "nan", "negative", "magnitude", "late", "form", "key"]))
    if defect == "name":
        target = draw(st.sampled_from(["provider=azurex", "region=aws/mars-1", "vendor=intel", "family=fpga",
                                       "offering=aws/nope/us-east-1"]))
        return f"{kind}:{target},day=3"
    if defect == "nan":
        key = draw(st.sampled_from(["day", "hours", "days", "magnitude"]))
        return f"{kind}:{target},{key}={draw(NOT_FINITE)}"
    if defect == "negative":
        key = draw(st.sampled_from(["day", "hours", "days"]))
        return f"{kind}:{target},{key}=-{draw(st.integers(1, 10**6))}"
    if defect == "magnitude":
        if kind in ("supply-cut", "delivery-slip"):
            return f"{kind}:{target},magnitude=0.5"
        big = 10.0 if kind == "price-shock" else 1.0
        return f"{kind}:{target},magnitude={_num(draw(st.floats(min_value=big, exclude_min=True, max_value=1e300)))}"
    if defect == "late":
        return f"{kind}:{target},day={draw(st.integers(min_value=4 * 31, max_value=10**6))}"
    if defect == "form":
        return draw(st.sampled_from([kind, f"{kind}:", f"{kind}:{target},day", f"meltdown:{target}",
                                     f"{kind}:{target},{target}", f"{kind}:day=3"]))
    return f"{kind}:{target},colour=red"


# (command, option, strategy of bad values, extra arguments the case needs)
BAD_OPTIONS: list[tuple[str, str, st.SearchStrategy, tuple[str, ...]]] = [
    ("simulate", "--seed", _ints_outside(0), ()),
    ("risk", "--seed", _ints_outside(0), ()),
    ("risk", "--runs", _ints_outside(1, 1_000_000), ()),
    ("risk", "--workers", _ints_outside(1, 1024), ()),
    ("risk", "--ray", st.sampled_from(["", "ray:/host", "http://x:1", "host", "host:port", "auto auto"]), ()),
    ("simulate", "--months", st.one_of(_ints_outside(1, 120), st.integers(5, 120).map(str)), ()),
    ("risk", "--months", _ints_outside(1, 120), ()),
    ("simulate", "--step-minutes", _floats_outside(1, 1440), ()),
    ("plan", "--gap", _floats_outside(0, 1, hi_open=True), ()),
    ("plan", "--time-limit", _floats_outside(0, 7 * 86400, lo_open=True), ()),
    ("simulate", "--time-limit", _floats_outside(0, 7 * 86400, lo_open=True), ()),
    ("place", "--gap", _floats_outside(0, 1, hi_open=True), ()),
    ("plan", "--levels", st.one_of(NOT_FINITE, _floats_outside(0, 1), st.just("0,x"), st.just(",")), ("--frontier",)),
    ("plan", "--levels", st.just("0,0.5,1"), ()),                     # does nothing without --frontier
    ("plan", "--overwrite", st.just(None), ()),                       # does nothing without --out
    ("simulate", "--what-if", bad_what_if(), ()),
    ("risk", "--what-if", bad_what_if(), ()),
    ("plan", "--format", st.text(alphabet="abcdefjnostvxy", min_size=1, max_size=6).filter(
        lambda s: s not in ("table", "json", "csv")), ()),
    ("place", "--method", st.sampled_from(["simplex", "LP", "ilp"]), ()),
    ("compare", "--ttft-ms", _floats_outside(0, 3.6e6, lo_open=True), ("--model", "llama-3.1-8b", "--inference")),
    ("compare", "--tokens", _floats_outside(0, 1e18, lo_open=True), ("--model", "llama-3.1-8b", "--training")),
    ("compare", "--seq-len", _ints_outside(1, 10_000_000), ("--model", "llama-3.1-8b", "--training")),
    ("compare", "--ttft-ms", st.just("500"), ("--model", "llama-3.1-8b", "--training")),   # no effect on training
    ("perf inference", "--dtype", st.sampled_from(["fp32", "fp9", "BF16", "int3"]),
     ("-m", "llama-3.1-8b", "-a", "h100")),
    ("perf training", "--dtype", st.sampled_from(["fp16", "int8", "fp4"]), ("-m", "llama-3.1-8b", "-a", "h100",
                                                                            "--chips", "8")),
    ("perf inference", "--batch", _ints_outside(1, 1_000_000), ("-m", "llama-3.1-8b", "-a", "h100")),
]

SCENARIO_COMMANDS = ("plan", "place", "simulate", "risk", "scenario")


def cli_args(command: str, option: str, value: str | None, extra: tuple[str, ...], scenario: str) -> list[str]:
    args = command.split()
    if command in SCENARIO_COMMANDS:
        args.append(scenario)
    args += list(extra)
    args += [option] if value is None else [f"{option}={value}"]
    return args


def error_lines(err: str) -> list[str]:
    """stderr without progress lines (they start with `progress: `)."""
    return [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("progress: ")]

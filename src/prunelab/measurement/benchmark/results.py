"""From per-round timings to what metrics/benchmark/<model>.json and its CSV say, and the runs as one.

Latencies are per call: a round's seconds over an input set divided by its calls
(batch 1 sums a handful of sentences each round), then the median over rounds.
Ratios are baseline over artifact, computed on the per-round timings themselves,
so a speed-up above 1 means the artifact is faster.
"""

from __future__ import annotations

import numpy as np

from prunelab.measurement.benchmark.inputs import InputSet
from prunelab.measurement.benchmark.stats import Interval, direction, median_interval, paired_ratio, verdict

REFERENCE = "baseline"
COPY = "baseline_copy"  # the A/A check: the baseline loaded a second time, in a worker of its own


def latency(seconds: np.ndarray, calls: int) -> dict:
    interval = median_interval(np.asarray(seconds) * 1000.0 / calls)
    return {"median_ms": interval.value, "ci95": [interval.low, interval.high], "rounds": len(seconds)}


def ratio(reference: np.ndarray, seconds: np.ndarray, seed: int) -> dict:
    interval = paired_ratio(reference, seconds, seed)
    ci = (interval.low, interval.high)
    return {"ratio": interval.value, "ci95": list(ci), "direction": direction(interval),
            "verdict": verdict(interval.value, ci)}


def per_setting(timings: dict[str, np.ndarray], sets: list[InputSet]) -> dict:
    return {s.name: latency(timings[s.name], len(s.calls)) for s in sets}


def against_reference(timings: dict, sets: list[InputSet], name: str, seed: int) -> dict:
    return {s.name: ratio(timings[REFERENCE][s.name], timings[name][s.name], seed) for s in sets}


def litert_name(model: str, variant: str) -> str:
    return f"{model}_{variant}_litert"


def against_same_variant(timings: dict, sets: list[InputSet], seed: int) -> dict:
    """Each pruned model's LiteRT file against the baseline's file of the same variant, where both were timed:
    ``{artifact: {setting: ratio}}`` (for ``structured_int8_litert``, against ``baseline_int8_litert``)."""
    compared = {}
    for name in timings:
        model, _, rest = name.partition("_")
        variant = rest.removesuffix("_litert")
        reference = litert_name(REFERENCE, variant)
        if model != REFERENCE and rest.endswith("_litert") and reference in timings:
            compared[name] = {"reference": reference, **{s.name: ratio(timings[reference][s.name],
                                                                       timings[name][s.name], seed) for s in sets}}
    return compared


def by_length_rows(timings: dict, sets: list[InputSet], seed: int) -> list[dict]:
    """One row an artifact, batch and length; against the baseline too (the baseline's own row: 1.0)."""
    rows = []
    for name in timings:
        for s in sets:
            row = {"artifact": name, "batch": s.batch, "length": s.length,
                   **latency(timings[name][s.name], len(s.calls))}
            if name != REFERENCE:
                compared = ratio(timings[REFERENCE][s.name], timings[name][s.name], seed)
                row.update(ratio=compared["ratio"], ratio_ci95=compared["ci95"])
            rows.append(row)
    return rows


def csv_rows(by_length: list[dict]) -> list[dict]:
    """The flat table ``dvc plots`` reads: latency against length, one row an artifact, batch and length."""
    return [{"artifact": r["artifact"], "batch": r["batch"], "length": r["length"], "median_ms": r["median_ms"],
             "ci_low": r["ci95"][0], "ci_high": r["ci95"][1]} for r in by_length]


def aa_check(timings: dict, sets: list[InputSet], seed: int, max_halfwidth: float) -> dict:
    """The baseline against its own copy: the run's noise floor, and whether it was quiet enough.

    It passes when every interval lies within 1 ± ``max_halfwidth``. Containing 1.0 is
    not asked for: two processes running one graph can differ systematically by a
    little (where their memory landed), and enough rounds resolve that; the difference
    is part of the floor the report shows, and a problem only when it is large.
    """
    compared = against_reference(timings, sets, COPY, seed)
    failures = {}
    for setting, result in compared.items():
        interval = Interval(result["ratio"], *result["ci95"])
        result["halfwidth"] = interval.halfwidth
        if interval.low < 1 - max_halfwidth or interval.high > 1 + max_halfwidth:
            failures[setting] = result["verdict"]
    return {"artifact": COPY, **compared, "max_halfwidth": max_halfwidth, "passed": not failures,
            "failures": failures}


def aa_warning(aa: dict, others: str) -> str | None:
    """The stage's warning when the A/A check failed, naming what else kept the CPU busy."""
    if aa["passed"]:
        return None
    what = "; ".join(f"{setting} {reason}" for setting, reason in aa["failures"].items())
    return (f"A/A check failed: the baseline against a second copy of itself should come out within "
            f"1 ± {aa['max_halfwidth']:g}, but gave {what}. Every speed verdict of this run is less certain; "
            f"{others}.")


def combine(runs: dict[str, dict]) -> dict:
    """Every model's benchmark run as one record of the same shape, for the report.

    Each ratio stays the one measured in its own run; an artifact's latency comes from
    the run that timed it, the baseline's (and the A/A check) from the baseline's run.
    ``runs`` keeps what each run's machine did meanwhile.
    """
    own = runs[REFERENCE]
    combined = {"settings": own["settings"], "machine": own["machine"], "aa": own["aa"],
                "artifacts": dict(own["artifacts"]), "against_baseline": {}, "against_baseline_litert": {},
                "by_length": list(own["by_length"]),
                "runs": {model: {"machine": run["machine"], "artifacts": list(run["artifacts"])}
                         for model, run in runs.items()}}
    for model, run in runs.items():
        # The baseline's own files, timed again beside another model for the same-variant ratios, keep the
        # baseline run's figures.
        mine = {n: a for n, a in run["artifacts"].items() if n.startswith(model + "_") or n == model}
        combined["against_baseline"].update({n: r for n, r in run["against_baseline"].items() if n in mine})
        combined["against_baseline_litert"].update(run.get("against_baseline_litert", {}))
        if model != REFERENCE:
            combined["artifacts"].update(mine)
            combined["by_length"] += [row for row in run["by_length"] if row["artifact"] in mine]
    return combined

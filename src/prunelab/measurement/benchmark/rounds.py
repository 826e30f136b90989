"""The alternating schedule: many short rounds, every artifact in each, in a shuffled order.

One long pass per artifact would hand whichever artifact ran during a burst of
load from another process a slower figure. Short rounds spread that burst over
all of them; a fresh seeded order in every round and every input set keeps any
artifact from always following the same neighbour (whose memory traffic may
still be settling) or always running first.

Within a round an artifact makes a few passes over the input back to back and keeps
the fastest. Interference from the rest of the machine (another process, the host
of this virtual machine) only ever adds time, so its latencies have a long right
tail; the fastest of a few passes is the one least disturbed, which is the figure
that says what the artifact itself costs (the argument of Chen & Revels, "Robust
benchmarking in noisy environments", 2016). The median over rounds then keeps one
unusually lucky pass from deciding anything.
"""

from __future__ import annotations

import time

import numpy as np


def run_rounds(workers: dict, set_names: list[str], rounds: int, rng: np.random.Generator, passes: int = 1,
               label: str = "rounds", after_round=None) -> dict[str, dict[str, np.ndarray]]:
    """Seconds each worker spent on each input set in each round: ``[worker][set][round]``,
    the fastest of ``passes`` back-to-back passes over the set.

    Only one worker runs at a time: the parent waits for each answer before asking the
    next. ``after_round()`` runs between rounds, when no worker is timing.
    """
    names = list(workers)
    seconds = {name: {s: np.empty(rounds) for s in set_names} for name in names}
    started = time.perf_counter()
    for r in range(rounds):
        for s in set_names:
            for i in rng.permutation(len(names)):
                seconds[names[i]][s][r] = min(workers[names[i]].time(s, passes))
        if after_round is not None:
            after_round()
        if (r + 1) % max(1, rounds // 5) == 0 or r + 1 == rounds:
            print(f"{label}: round {r + 1}/{rounds} ({time.perf_counter() - started:.0f} s)", flush=True)
    return seconds

"""The alternating schedule: many short rounds, every artifact in each, in a shuffled order.

One long pass per artifact would hand whichever artifact ran during a burst of
load from another process a slower figure. Short rounds spread that burst over
all of them; a fresh seeded order in every round and every input set keeps any
artifact from always following the same neighbour (whose memory traffic may
still be settling) or always running first.
"""

from __future__ import annotations

import time

import numpy as np


def run_rounds(workers: dict, set_names: list[str], rounds: int, rng: np.random.Generator,
               label: str = "rounds", after_round=None) -> dict[str, dict[str, np.ndarray]]:
    """Seconds each worker spent on each input set in each round: ``[worker][set][round]``.

    Only one worker runs at a time: the parent waits for each answer before asking the
    next. ``after_round()`` runs between rounds, when no worker is timing.
    """
    names = list(workers)
    seconds = {name: {s: np.empty(rounds) for s in set_names} for name in names}
    started = time.perf_counter()
    for r in range(rounds):
        for s in set_names:
            for i in rng.permutation(len(names)):
                seconds[names[i]][s][r] = workers[names[i]].time(s)
        if after_round is not None:
            after_round()
        if (r + 1) % max(1, rounds // 5) == 0 or r + 1 == rounds:
            print(f"{label}: round {r + 1}/{rounds} ({time.perf_counter() - started:.0f} s)", flush=True)
    return seconds

"""Which units to keep: the plan with the most total importance within a FLOPs budget.

The mask-gradient scores estimate the loss change of removing a unit, so the heads and
neurons of every layer are ranked on one scale. Every head costs the same FLOPs wherever
it sits, and so does every neuron, so for every number of kept heads (best first,
globally) the rest of the budget is filled with the best neurons, and the split that
keeps the most total importance wins (the mask search of Kwon et al. 2022).

Each layer keeps at least one head unless whole-layer removal is allowed; then a layer
left with no head and no neuron is skipped. ``min_fraction`` puts a floor under every
layer (its best heads and neurons go in first): the loss gradients of a few hundred
sentences rank the last layers' FFN neurons low, and without a floor a plan can keep
almost none of a layer's neurons, which no recovery fine-tuning gives back.
"""

from __future__ import annotations

import math

import numpy as np

from prunelab.errors import ParamsError
from prunelab.model.flops import dense_encoder_flops, plan_flops, unit_flops
from prunelab.pruning.structured.importance import Importance
from prunelab.pruning.structured.plan import StructuredPlan

_SLACK = 1 + 1e-12  # a budget met up to rounding is met


def select_plan(importance: Importance, config, flops_target: float, seq_len: float = 25.0,
                allow_layer_removal: bool = False, min_fraction: float = 0.0) -> tuple[StructuredPlan, dict]:
    """The plan keeping the most importance within ``flops_target`` × the dense encoder FLOPs.

    Every layer first keeps its best ``ceil(min_fraction × n)`` heads and as many of its
    FFN neurons (and, unless ``allow_layer_removal``, at least one head); the rest of
    the budget goes to the best remaining units of any layer.
    Returns the plan and a report (target, achieved fraction, FLOPs, kept units per layer).
    The achieved fraction is at most the target and, unless every neuron fits, within
    one neuron's FLOPs of it (otherwise within one head's).
    """
    if not 0.0 < flops_target <= 1.0:
        raise ParamsError(f"prune.flops_target {flops_target} must be in (0, 1].")
    if not 0.0 <= min_fraction <= 1.0:
        raise ParamsError(f"structured.min_fraction {min_fraction} must be in [0, 1].")
    n_layers, n_heads = importance.heads.shape
    width = importance.neurons.shape[1]
    head_cost, neuron_cost = unit_flops(config, seq_len)
    dense = dense_encoder_flops(config, seq_len)
    budget = flops_target * dense

    heads_floor = max(math.ceil(min_fraction * n_heads - 1e-9), 0 if allow_layer_removal else 1)
    mandatory_heads, optional = _floor_and_rest(importance.heads, heads_floor)
    mandatory_neurons, neuron_order = _floor_and_rest(importance.neurons, math.ceil(min_fraction * width - 1e-9))
    base = len(mandatory_heads) * head_cost + len(mandatory_neurons) * neuron_cost
    if base > budget * _SLACK:
        raise ParamsError(
            f"prune.flops_target {flops_target} is below what every layer must keep ({base / dense:.3f} of the "
            f"FLOPs: {heads_floor} head(s) and {len(mandatory_neurons) // n_layers} FFN neurons a layer); lower "
            "structured.min_fraction, or allow whole-layer removal, or raise the target.")
    head_gain = np.concatenate([[0.0], np.cumsum([importance.heads[u] for u in optional])])
    neuron_gain = np.concatenate([[0.0], np.cumsum([importance.neurons[u] for u in neuron_order])])
    k, m = _best_split(head_gain, neuron_gain, base, budget, head_cost, neuron_cost)

    kept_heads = _by_layer(n_layers, mandatory_heads + optional[:k])
    kept_neurons = _by_layer(n_layers, mandatory_neurons + neuron_order[:m])
    dropped = [i for i in range(n_layers) if allow_layer_removal and not kept_heads[i] and not kept_neurons[i]]
    plan = StructuredPlan(kept_heads, kept_neurons, dropped)
    return plan, plan_report(plan, config, seq_len, flops_target) | {"min_fraction": min_fraction}


def _floor_and_rest(scores: np.ndarray, at_least: int) -> tuple[list, list]:
    """Each layer's best ``at_least`` units, and every other unit best first, as ``(layer, unit)``."""
    floor, rest = [], []
    for i, layer in enumerate(scores):
        ranked = [(i, int(u)) for u in np.argsort(-layer, kind="stable")]
        floor += ranked[:at_least]
        rest += ranked[at_least:]
    return floor, sorted(rest, key=lambda u: -scores[u])


def _best_split(head_gain: np.ndarray, neuron_gain: np.ndarray, base: float, budget: float, head_cost: float,
                neuron_cost: float) -> tuple[int, int]:
    """``(k, m)``: the optional heads and neurons to add to ``base`` FLOPs for the most importance in ``budget``.

    ``head_gain[k]`` and ``neuron_gain[m]`` are the importance of the best ``k`` heads and ``m``
    neurons; ties go to the split that spends more of the budget.
    """
    best = None
    for k in range(len(head_gain)):
        spent = base + k * head_cost
        if spent > budget * _SLACK:
            break
        m = min(len(neuron_gain) - 1, int(math.floor((budget - spent) / neuron_cost + 1e-9)))
        key = (head_gain[k] + neuron_gain[m], spent + m * neuron_cost)
        if best is None or key > best[0]:
            best = (key, k, m)
    return best[1], best[2]


def _by_layer(n_layers: int, units: list[tuple[int, int]]) -> list[list[int]]:
    kept = [[] for _ in range(n_layers)]
    for i, unit in units:
        kept[i].append(unit)
    return kept


def plan_report(plan: StructuredPlan, config, seq_len: float, flops_target: float) -> dict:
    """The plan's FLOPs against the dense encoder's, and the units it keeps per layer."""
    flops, dense = plan_flops(plan, config, seq_len), dense_encoder_flops(config, seq_len)
    return {
        "flops_target": flops_target,
        "flops_fraction": flops / dense,
        "encoder_flops_per_token": flops,
        "dense_encoder_flops_per_token": dense,
        "reference_length": seq_len,
        "heads_per_layer": plan.heads_per_layer(),
        "ffn_widths": plan.ffn_widths(),
        "dropped_layers": list(plan.dropped_layers),
        "heads_kept": sum(plan.heads_per_layer()),
        "neurons_kept": sum(plan.ffn_widths()),
    }

"""Which units a structurally pruned model keeps: the one object selection produces and surgery consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StructuredPlan:
    """Which units each layer keeps (original indices, ascending) and which layers are skipped."""

    heads: tuple[tuple[int, ...], ...]  # per layer, kept attention heads
    neurons: tuple[tuple[int, ...], ...]  # per layer, kept FFN intermediate neurons
    dropped_layers: tuple[int, ...] = ()  # layers skipped entirely (each keeps no head and no neuron)

    def __post_init__(self):
        object.__setattr__(self, "heads", tuple(tuple(sorted(int(h) for h in hs)) for hs in self.heads))
        object.__setattr__(self, "neurons", tuple(tuple(sorted(int(n) for n in ns)) for ns in self.neurons))
        object.__setattr__(self, "dropped_layers", tuple(sorted(int(i) for i in self.dropped_layers)))
        if len(self.heads) != len(self.neurons):
            raise ValueError("a plan needs head and neuron lists for the same layers")
        for i in self.dropped_layers:
            if self.heads[i] or self.neurons[i]:
                raise ValueError(f"layer {i} is dropped but keeps units")

    @classmethod
    def dense(cls, config) -> StructuredPlan:
        """Keep everything: the plan of the unpruned model."""
        heads = tuple(range(config.num_attention_heads))
        neurons = tuple(range(config.intermediate_size))
        return cls((heads,) * config.num_hidden_layers, (neurons,) * config.num_hidden_layers)

    @property
    def num_layers(self) -> int:
        return len(self.heads)

    @property
    def kept_layers(self) -> list[int]:
        return [i for i in range(self.num_layers) if i not in self.dropped_layers]

    def heads_per_layer(self) -> list[int]:
        return [len(h) for h in self.heads]

    def ffn_widths(self) -> list[int]:
        return [len(n) for n in self.neurons]

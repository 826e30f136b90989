import pytest

from prunelab.pruning.structured import StructuredPlan


def test_a_plan_cannot_drop_a_layer_that_keeps_units():
    with pytest.raises(ValueError):
        StructuredPlan(heads=[(0,), (1,)], neurons=[(), ()], dropped_layers=[0])

import pytest

from prunelab.errors import ParamsError
from prunelab.files import with_overrides

PRUNE = {"method": "structured", "epochs": 2, "learning_rate": 5e-5, "distill": {"alpha": 0.5, "temperature": 2.0}}


def test_overrides_replace_settings_and_merge_distillation_key_by_key():
    merged = with_overrides(PRUNE, {"learning_rate": 1e-4, "distill": {"hidden_weight": 1.0}}, "here")
    assert merged["learning_rate"] == 1e-4 and merged["epochs"] == 2
    assert merged["distill"] == {"alpha": 0.5, "temperature": 2.0, "hidden_weight": 1.0}
    assert PRUNE["distill"] == {"alpha": 0.5, "temperature": 2.0}  # the section itself is left alone
    assert with_overrides(PRUNE, None, "here") == PRUNE


def test_an_override_of_something_else_is_refused_by_name():
    with pytest.raises(ParamsError, match="prune.structured.recovery sets sparsity"):
        with_overrides(PRUNE, {"sparsity": 0.9}, "prune.structured.recovery")

"""One SavedModel as gated LiteRT variants and a text-in SavedModel: `python stages/deploy.py MODEL`.

A stage a model, so that a change to the pruned model reconverts only the pruned model.
"""

import sys
from pathlib import Path

from prunelab import stage
from prunelab.data.batching import encode_prepared
from prunelab.deployment.conversion import deploy_model
from prunelab.errors import UserError
from prunelab.files import write_json
from prunelab.model.checkpoint import load_tokenizer

TOKENIZER = Path("models/base")
MODELS = {"baseline": Path("models/baseline/saved_model"), "pruned": Path("models/pruned"),
          "structured": Path("models/structured")}


def main(params):
    model = sys.argv[1] if len(sys.argv) > 1 else ""
    if model not in MODELS:
        raise UserError(f"deploy needs a model name, one of {', '.join(MODELS)}: python stages/deploy.py MODEL")
    splits = encode_prepared(load_tokenizer(TOKENIZER), "data/prepared", params.model.max_length,
                             splits=("selection", "dev"))
    records = deploy_model(model, MODELS[model], Path("models/deploy") / model, list(params.deploy.variants), splits,
                           TOKENIZER, params.model.max_length, params.deploy.max_accuracy_drop)
    write_json(f"metrics/deploy/{model}.json", {"gate_split": "selection",
                                                "max_accuracy_drop": params.deploy.max_accuracy_drop,
                                                "variants": records})


if __name__ == "__main__":
    stage.run(main)

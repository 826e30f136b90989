"""The pretrained checkpoint as a TensorFlow checkpoint under a fresh, seeded 2-label head."""

import shutil
from pathlib import Path

from prunelab import stage
from prunelab.data.sst2 import sha256_file
from prunelab.files import write_json
from prunelab.model.checkpoint import build_classifier, load_tokenizer, resolve_checkpoint, save_checkpoint

OUT = Path("models/base")


def main(params):
    name = params.model.checkpoint
    folder = resolve_checkpoint(name)
    model = build_classifier(folder, seed=params.seed)
    staging = OUT.with_name(OUT.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    save_checkpoint(model, load_tokenizer(folder), staging)
    weights = next(p for p in (folder / "model.safetensors", folder / "tf_model.h5") if p.is_file())
    identity = {"checkpoint": name, "architecture": model.config.model_type,
                "weights_file": weights.name, "weights_sha256": sha256_file(weights),
                "parameters": int(sum(v.shape.num_elements() for v in model.weights))}
    shutil.rmtree(OUT, ignore_errors=True)
    staging.rename(OUT)
    write_json("metrics/base_model.json", identity)
    print(f"base model: {identity}")


if __name__ == "__main__":
    stage.run(main)

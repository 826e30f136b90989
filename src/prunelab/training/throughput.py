"""How fast training runs, against how fast this CPU multiplies matrices.

A training step of a transformer is almost all dense matrix products, so the speed of
one large product, measured in the same process and moments apart, is the ceiling
("roofline") training throughput is read against: a low fraction says time goes to
something other than arithmetic (padding is counted as arithmetic here, so it lowers
sentences/s, not the fraction; small shapes, the optimizer's memory traffic, Python
between steps lower the fraction).

A step costs about three forward passes (forward, then gradients with respect to
activations and to weights); the forward FLOPs are ``flops.dense_encoder_flops``.

``python -m prunelab.training.throughput`` (``make bench``) prints the roofline and the training
and inference throughput of the base model on the prepared training subset, so that a
setting (``TF_ENABLE_ONEDNN_OPTS``, thread counts, bucket lengths) can be tried in minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from prunelab.model.flops import dense_encoder_flops
from prunelab.params import load_params

# An FFN product of a batch of 32 sentences of 16 tokens, and a square one.
ROOFLINE_SHAPES = ((512, 384, 1536), (1024, 1024, 1024))
TRAINING_PASSES = 3  # forward + two backward products per forward one


def matmul_roofline(repeats: int = 20, trials: int = 3) -> float:
    """The best float32 matrix-product rate seen, GFLOP/s, over ``ROOFLINE_SHAPES``."""
    import tensorflow as tf

    best = 0.0
    for m, k, n in ROOFLINE_SHAPES:
        a, b = tf.random.normal([m, k], seed=1), tf.random.normal([k, n], seed=2)
        product = tf.function(lambda a, b: tf.matmul(a, b))
        product(a, b).numpy()
        for _ in range(trials):
            started = time.perf_counter()
            for _ in range(repeats):
                product(a, b).numpy()
            best = max(best, 2.0 * m * k * n * repeats / (time.perf_counter() - started))
    return best / 1e9


def against_roofline(sentences: int, padded_tokens: int, seconds: float, config, roofline_gflops: float,
                     passes: int = TRAINING_PASSES) -> dict:
    """Sentences/s and tokens/s of ``seconds`` spent in training steps (``passes=1``: in forward
    passes alone), and their share of the roofline.

    ``config``: the model's (a transformers config); attention is costed at the mean padded length.
    """
    mean_length = padded_tokens / sentences
    gflops = passes * dense_encoder_flops(config, mean_length) * padded_tokens / seconds / 1e9
    return {
        "sentences_per_second": round(sentences / seconds, 2),
        "padded_tokens_per_second": round(padded_tokens / seconds, 1),
        "mean_padded_length": round(mean_length, 2),
        "gflops_per_second": float(f"{gflops:.4g}"),
        "matmul_roofline_gflops_per_second": round(roofline_gflops, 2),
        "fraction_of_roofline": float(f"{gflops / roofline_gflops:.4g}"),
    }


def fine_tuning_throughput(epoch_rows: list[dict], config) -> dict:
    """``against_roofline`` over every epoch of a ``fine_tune.fine_tune`` run; the roofline is measured now."""
    return against_roofline(sum(r["sentences"] for r in epoch_rows), sum(r["padded_tokens"] for r in epoch_rows),
                            sum(r["steps_seconds"] for r in epoch_rows), config, matmul_roofline())


def _time_steps(step, batches, warmup: int) -> tuple[int, int, float]:
    """(sentences, padded tokens, seconds) of ``batches`` after ``warmup`` untimed ones."""
    sentences = tokens = 0
    started = None
    for index, (ids, mask, labels) in enumerate(batches):
        if index == warmup:
            started = time.perf_counter()
        step(ids, mask, labels)
        if started is not None:
            sentences, tokens = sentences + int(ids.shape[0]), tokens + int(np.prod(ids.shape))
    if started is None:
        raise ValueError(f"only {index + 1} batches: fewer than the {warmup} warm-up ones")
    return sentences, tokens, time.perf_counter() - started


def bench(model_folder: str, prepared: str, steps: int, warmup: int, bucket_lengths: list[int],
          embedding_update: str = "dense") -> dict:
    """Roofline, then training and inference throughput of the model in ``model_folder``."""
    import tensorflow as tf

    from prunelab.data.batching import bucketed_dataset, encode_prepared
    from prunelab.model.checkpoint import load_checkpoint
    from prunelab.params import FineTuneSpec
    from prunelab.training.fine_tune import adamw, make_train_step

    model, tokenizer = load_checkpoint(Path(model_folder))
    train = encode_prepared(tokenizer, prepared, bucket_lengths[-1], splits=("train",))["train"]
    recipe = FineTuneSpec(epochs=1, batch_size=32, learning_rate=1e-4, warmup_ratio=0.1, weight_decay=0.01,
                          embedding_update=embedding_update)
    optimizer, _ = adamw(recipe, steps + warmup)  # the training stages' optimizer, lazy or not as configured
    dataset = bucketed_dataset(train, bucket_lengths, 32, shuffle_seed=0).take(steps + warmup)
    batches = [(f["input_ids"], f["attention_mask"], labels) for f, labels in dataset]
    roofline = matmul_roofline()
    trained = _time_steps(make_train_step(model, optimizer, None, recipe), batches, warmup)
    spec = tf.TensorSpec([None, None], tf.int32)
    forward = tf.function(lambda ids, mask, _labels: model(input_ids=ids, attention_mask=mask).logits,
                          input_signature=[spec, spec, tf.TensorSpec([None], tf.int32)])
    inferred = _time_steps(forward, batches, warmup)
    return {"training": against_roofline(*trained, model.config, roofline),
            "inference": against_roofline(*inferred, model.config, roofline, passes=1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/base", help="a checkpoint folder (default: models/base)")
    parser.add_argument("--prepared", default="data/prepared", help="the prepare stage's folder")
    parser.add_argument("--steps", type=int, default=60, help="timed batches of 32 (after --warmup untimed ones)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--buckets", help="comma-separated bucket lengths (default: params.yaml's)")
    parser.add_argument("--embedding-update", choices=("dense", "lazy", "frozen"),
                        help="how the embedding tables are trained (default: params.yaml's train.embedding_update)")
    args = parser.parse_args(argv)
    missing = [f"{path} (from `make repro` or `make pull`)" for path in (args.model, args.prepared)
               if not Path(path).is_dir()]
    if missing or args.steps < 1 or args.warmup < 0:
        problem = f"{' and '.join(missing)} not found" if missing else "--steps must be at least 1, --warmup at least 0"
        sys.exit(f"error: {problem}")
    train = load_params().train
    buckets = [int(x) for x in args.buckets.split(",")] if args.buckets else train.bucket_lengths
    embedding_update = args.embedding_update or train.embedding_update
    result = bench(args.model, args.prepared, args.steps, args.warmup, buckets, embedding_update)
    print(f"bucket lengths {buckets}, embedding update {embedding_update}")
    print(f"matmul roofline: {result['training']['matmul_roofline_gflops_per_second']:.1f} GFLOP/s")
    for kind, r in result.items():
        print(f"{kind}: {r['sentences_per_second']:.1f} sentences/s, {r['padded_tokens_per_second']:.0f} padded "
              f"tokens/s (mean padded length {r['mean_padded_length']:.1f}), {r['gflops_per_second']:.1f} GFLOP/s = "
              f"{r['fraction_of_roofline']:.0%} of the roofline")


if __name__ == "__main__":
    main()

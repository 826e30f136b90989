"""Pruning the fine-tuned baseline, in two halves that share only what follows pruning.

- ``unstructured``: single weights set to zero inside kernels of unchanged shape (a scoring rule,
  a mask policy, a schedule; or SparseGPT, which also repairs the surviving weights);
- ``structured``: whole attention heads and FFN neurons removed, so the kernels shrink;
- ``sample``: the seeded training sentences either half reads;
- ``recovery``: the fine-tuning after pruning, and the run record every pruned model returns.

Nothing is imported here, so that a stage imports the half it runs and no more.
"""

"""Prune a fine-tuned transformer for SST-2 and measure what it cost and gained."""

import os

# Set before any submodule imports TensorFlow (Python runs this file first).
# transformers' TensorFlow models are written for Keras 2, which TF >= 2.16 ships as tf-keras.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
# The pipeline is CPU-only; this spares TensorFlow a GPU probe (and its cuInit error) on machines without one.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

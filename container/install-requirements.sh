#!/bin/sh
# Install the pinned Python environment into the active venv, CPU-only.
#
#   install-requirements.sh DIR     (DIR holds requirements.txt, requirements-dev.txt, constraints.txt)
#
# constraints.txt is a complete `pip freeze` of a working environment. It is installed
# as is, except that TensorFlow's CPU wheel (tensorflow-cpu, same version) replaces the
# plain `tensorflow` wheel: the same `tensorflow` module without the GPU kernels
# (a 274 MB instead of a 572 MB wheel, about 0.6 GB less installed). Both wheels run on
# CPU; neither brings CUDA libraries unless asked for with the `and-cuda` extra.
#
# Everything goes in with --no-deps, because tf-keras names `tensorflow` as a dependency
# and pip would otherwise add the plain wheel back. `pip check` then proves the freeze
# complete: the only unmet requirements it may report are tf-keras's and tensorflow-text's
# `tensorflow`, which tensorflow-cpu provides under another distribution name.
set -eu

dir=${1:?usage: install-requirements.sh DIR}
cpu() { sed -E 's/^tensorflow==/tensorflow-cpu==/' "$1"; }

grep -q '^tensorflow==' "$dir/constraints.txt" || { echo "constraints.txt pins no tensorflow" >&2; exit 1; }
cpu "$dir/constraints.txt" >"$dir/constraints-cpu.txt"
cpu "$dir/requirements.txt" >"$dir/requirements-cpu.txt"

pip install --no-deps -r "$dir/constraints-cpu.txt"
# A no-op while constraints.txt holds every top-level pin; if it fell behind
# requirements*.txt, this installs the missing package and pip check says what it lacks.
pip install --no-deps -r "$dir/requirements-cpu.txt" -r "$dir/requirements-dev.txt" -c "$dir/constraints-cpu.txt"

unmet=$(pip check | grep -v -E '^(tf-keras|tensorflow-text) [^ ]+ requires tensorflow, which is not installed\.$' || true)
if [ -n "$unmet" ]; then
    printf 'pip check: the pinned environment is incomplete:\n%s\n' "$unmet" >&2
    exit 1
fi

# CPU-only, enforced: no plain tensorflow wheel, no CUDA/NVIDIA packages.
python - <<'EOF'
import importlib.metadata as md
import sys

names = {d.metadata["Name"].lower().replace("_", "-") for d in md.distributions()}
gpu = sorted(n for n in names if n == "tensorflow" or n.startswith(("nvidia-", "tensorflow-gpu", "jax-cuda")))
if gpu:
    sys.exit(f"not CPU-only: {gpu}")
print(f"CPU-only environment: tensorflow-cpu {md.version('tensorflow-cpu')}, {len(names)} distributions")
EOF

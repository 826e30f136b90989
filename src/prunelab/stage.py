"""What every stage script shares: validated params first, and how a user error is reported."""

from __future__ import annotations

import sys
import time

from prunelab.errors import UserError
from prunelab.params import load_params


def run(main) -> None:
    """Validate params.yaml, then run ``main(params)``; a ``UserError`` ends it with its message alone, exit 1."""
    started = time.perf_counter()
    try:
        main(load_params())
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"stage finished in {time.perf_counter() - started:.1f} s", flush=True)

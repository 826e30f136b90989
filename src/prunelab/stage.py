"""What every stage script shares: params, the seed, and how a user error is reported."""

from __future__ import annotations

import sys
import time

from prunelab.errors import UserError


def run(main) -> None:
    """Run a stage's ``main``; a ``UserError`` ends it with its message alone and exit code 1."""
    started = time.perf_counter()
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"stage finished in {time.perf_counter() - started:.1f} s", flush=True)

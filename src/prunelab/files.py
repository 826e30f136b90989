"""Reading and writing metrics files; a write never leaves half a file behind."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".partial")
    with open(staging, "w", newline="") as f:
        write(f)
    os.replace(staging, path)


def write_json(path: Path, data) -> None:
    _atomic_write(path, lambda f: (json.dump(data, f, indent=2, sort_keys=False), f.write("\n")))


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def write(f):
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)

    _atomic_write(path, write)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text

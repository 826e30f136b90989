"""Record which SST-2 the versioned subset is drawn from: a sha256 a file, or the hub revision.

DVC cannot watch a folder that an environment variable names (SST2_DIR): a dependency's path,
like `dvc import-url`'s source, is written into dvc.yaml or a .dvc file and is the same on
every machine. So this cheap stage runs on every `dvc repro` (always_changed) and rewrites
data/source.json from the raw files wherever they are present: changed files make `prepare`
stale, unchanged ones rerun nothing.

data/source.json is versioned with the subset (cached, so `dvc push`/`dvc pull` carry it) and
stays in place while the stage runs (persist). Where no raw SST-2 is present, the record is
kept as pulled and nothing downstream reruns: a clone that pulled the outputs needs no
SST2_DIR. The raw data is needed only for a first run (no record yet) and whenever `prepare`
itself must run again (it reads the files).
"""

from pathlib import Path

from prunelab import stage
from prunelab.data.sst2 import SPLIT_FILES, locate_source, named_folder
from prunelab.errors import DataError
from prunelab.files import read_json, write_json

RECORD = Path("data/source.json")


def holds_sst2(folder: Path) -> bool:
    """Any of the split files there: a folder with one of them is a broken copy, checked (and refused)."""
    return any((folder / name).exists() for name in SPLIT_FILES.values())


def keep(recorded: dict, why: str) -> None:
    print(f"SST-2: {why}; {RECORD} is kept as versioned ({recorded['kind']}: "
          f"{', '.join(f'{k} {v[:12]}' for k, v in recorded['fingerprints'].items())}). "
          "`prepare` reruns only if its other inputs changed, and then needs SST-2.")


def record_source(local_dir: str | None) -> None:
    recorded = read_json(RECORD) if RECORD.is_file() else None
    folder = named_folder(local_dir)
    if recorded is not None:
        # A record of local files is checked against a local folder, never against the hub:
        # an unset SST2_DIR on a teammate's machine means "not here", not "switch to the hub".
        if folder is None and recorded["kind"] == "local":
            return keep(recorded, "no SST-2 folder is named here (SST2_DIR or data.local_dir)")
        # A compose mount of a missing host folder arrives as an empty folder.
        if folder is not None and not holds_sst2(Path(folder)):
            return keep(recorded, f"{folder} holds no {' or '.join(SPLIT_FILES.values())}")
    try:
        source = locate_source(local_dir)
    except DataError:
        if recorded is None or folder is not None:
            raise
        return keep(recorded, "the Hugging Face hub cannot be reached to check its revision")
    write_json(RECORD, source.identity())
    print(f"SST-2 source: {source.kind} {source.location}")


def main(params):
    record_source(params.data.local_dir)


if __name__ == "__main__":
    stage.run(main)

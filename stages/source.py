"""Pin down where SST-2 comes from and what it is: a checksum a file (or the hub revision).

Runs on every `dvc repro` (always_changed): it is cheap, and it is how DVC notices
that the files behind SST2_DIR or data.local_dir changed. When the manifest it
writes is unchanged, nothing downstream reruns.
"""

from prunelab import stage
from prunelab.data import locate_source
from prunelab.files import load_params, write_json


def main():
    source = locate_source(load_params()["data"]["local_dir"])
    write_json("data/source.json", source.identity())
    print(f"SST-2 source: {source.kind} {source.location}")


if __name__ == "__main__":
    stage.run(main)

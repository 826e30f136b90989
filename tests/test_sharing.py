"""Sharing a run: push it from one clone, pull it into fresh clones that have no SST-2, recompute nothing.

The round trips use a copy of the tiny run test_pipeline.py also reads (conftest.py), a bare git
repository as the lab's git server, and as DVC remotes the default folder beside the checkout
and an S3-compatible server (moto's) that the test starts on 127.0.0.1. The source stage's own
rules run first, on a few lines of TSV.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_workspace import GIT_USER, REPO, SST2_DIR, copy_workspace, dvc, stages_run

QUICK = 180  # seconds: a DVC or git command that moves the tiny run's files or runs the source stage
SLOW = 600  # a queued experiment, the worker's start included
KEPT = "is kept as versioned"  # stages/source.py says this when no raw SST-2 is there to check


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, timeout=QUICK).stdout


# --- the source stage's rules ---------------------------------------------------------------------------------


def run_source(work: Path, sst2_dir: Path | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}  # no test reaches the hub: "unreachable" is what it must handle
    env.pop("SST2_DIR", None)
    if sst2_dir is not None:
        env["SST2_DIR"] = str(sst2_dir)
    return subprocess.run([sys.executable, str(REPO / "stages/source.py")], cwd=work, env=env, capture_output=True,
                          text=True, timeout=QUICK)


@pytest.fixture
def work(tmp_path):
    (tmp_path / "work").mkdir()
    shutil.copy(REPO / "params.yaml", tmp_path / "work/params.yaml")
    return tmp_path / "work"


@pytest.fixture
def raw(tmp_path):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2/train.tsv").write_text("sentence\tlabel\n" + "a good film\t1\n" * 20)
    (tmp_path / "sst2/dev.tsv").write_text("sentence\tlabel\nfine\t1\n")
    return tmp_path / "sst2"


def record(work: Path) -> dict:
    return json.loads((work / "data/source.json").read_text())


def test_a_first_run_needs_the_raw_data(work):
    result = run_source(work, None)
    assert result.returncode == 1 and "Set SST2_DIR" in result.stderr
    assert not (work / "data/source.json").exists()


def test_where_no_raw_data_is_present_the_versioned_record_is_kept(work, raw, tmp_path):
    assert run_source(work, raw).returncode == 0
    written = (work / "data/source.json").read_bytes()
    (tmp_path / "empty_mount").mkdir()  # what a compose mount of a missing host folder looks like
    for sst2_dir in (None, tmp_path / "empty_mount", tmp_path / "nowhere"):
        result = run_source(work, sst2_dir)
        assert result.returncode == 0, result.stderr
        assert KEPT in result.stdout
        assert (work / "data/source.json").read_bytes() == written

    hub = {"kind": "hub", "fingerprints": {"revision": "0123456789abcdef"}}
    (work / "data/source.json").write_text(json.dumps(hub))
    result = run_source(work, None)  # a hub record and the hub out of reach: kept too
    assert result.returncode == 0 and KEPT in result.stdout and record(work) == hub


def test_raw_data_that_is_present_is_always_checked(work, raw, tmp_path):
    assert run_source(work, raw).returncode == 0
    first = record(work)
    moved = tmp_path / "elsewhere"
    shutil.copytree(raw, moved)
    assert run_source(work, moved).returncode == 0 and record(work) == first  # content, not place

    (moved / "dev.tsv").write_text("sentence\tlabel\nfine\t0\n")
    result = run_source(work, moved)
    assert result.returncode == 0 and KEPT not in result.stdout
    assert record(work)["fingerprints"]["dev.tsv"] != first["fingerprints"]["dev.tsv"]
    assert record(work)["fingerprints"]["train.tsv"] == first["fingerprints"]["train.tsv"]

    (moved / "train.tsv").unlink()  # half a copy is broken, not absent
    result = run_source(work, moved)
    assert result.returncode == 1 and "train.tsv: file missing" in result.stderr


# --- round trips of the tiny run --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(workspace, first_run, tmp_path_factory):
    """A copy of the session's tiny run that these round trips commit, push and queue experiments in, so that
    the shared workspace stays as test_pipeline.py expects it, in whatever order the tests run."""
    return copy_workspace(workspace, tmp_path_factory.mktemp("sharing") / "repo")


@pytest.fixture(scope="module")
def origin(lab):
    """The run committed (dvc.lock, metrics, reports) and pushed to a bare repository, the lab's git."""
    dvc(lab, "repro", timeout=SLOW)  # `source` alone: the copy holds the whole run
    git(lab, "add", "-A")
    git(lab, *GIT_USER, "commit", "-qm", "tiny run", "--allow-empty")
    bare = lab.parent / "origin.git"
    git(lab.parent, "init", "-q", "--bare", "-b", "main", str(bare))
    git(lab, "remote", "add", "origin", str(bare))
    git(lab, "push", "-q", "origin", "HEAD:main")
    return bare


@pytest.fixture(scope="module")
def mate(lab, origin):
    """A teammate's fresh clone beside the checkout, where the default remote (../prunelab-dvc-remote) resolves."""
    dvc(lab, "push", timeout=QUICK)
    git(lab.parent, "clone", "-q", str(origin), "mate")
    return lab.parent / "mate"


def assert_recomputes_nothing(clone: Path, lab: Path, **kwargs) -> None:
    """`dvc pull` without SST-2, and the clone is the lab's run: nothing stale, nothing reruns."""
    dvc(clone, "pull", sst2_dir=None, timeout=QUICK, **kwargs)
    for output in ("data/source.json", "data/prepared/train.parquet", "models/pruned/saved_model.pb"):
        assert (clone / output).read_bytes() == (lab / output).read_bytes(), output
    assert json.loads(dvc(clone, "status", "--cloud", "--json", sst2_dir=None, **kwargs).stdout) == {}
    # `source` is the one stage DVC cannot judge without running it (always_changed); nothing else is stale.
    assert json.loads(dvc(clone, "status", "--json", sst2_dir=None).stdout) == {"source": ["always changed"]}
    repro = dvc(clone, "repro", sst2_dir=None, timeout=QUICK)
    assert stages_run(repro.stdout) == {"source"} and KEPT in repro.stdout
    assert git(clone, "status", "--porcelain") == ""  # dvc.lock, metrics and the report untouched
    assert (clone / "reports/report.html").read_bytes() == (lab / "reports/report.html").read_bytes()


@pytest.mark.slow
def test_teammate_pulls_from_the_default_remote_and_recomputes_nothing(lab, mate):
    assert (lab.parent / "prunelab-dvc-remote/files/md5").is_dir()
    assert not (mate / ".dvc/cache").exists()  # whatever it has, it gets from the remote
    assert_recomputes_nothing(mate, lab)


@pytest.mark.slow
def test_changed_raw_data_still_makes_prepare_stale_on_the_teammates_clone(mate, tmp_path):
    dvc(mate, "pull", sst2_dir=None, timeout=QUICK)
    sst2 = tmp_path / "sst2"
    shutil.copytree(SST2_DIR, sst2)
    dvc(mate, "repro", "source", sst2_dir=sst2, timeout=QUICK)
    assert json.loads(dvc(mate, "status", "--json").stdout) == {"source": ["always changed"]}
    with open(sst2 / "dev.tsv", "a") as f:
        f.write("a sentence nobody versioned\t1\n")
    try:
        dvc(mate, "repro", "source", sst2_dir=sst2, timeout=QUICK)
        status = json.loads(dvc(mate, "status", "--json").stdout)
        assert status["prepare"] == [{"changed deps": {"data/source.json": "modified"}}]
    finally:
        git(mate, "checkout", "--", "dvc.lock")
        dvc(mate, "checkout", "--force", sst2_dir=None, timeout=QUICK)


@pytest.fixture
def s3_endpoint():
    """moto's S3 server on 127.0.0.1 at a free port with an empty bucket ``prunelab``; stopped after the test."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket="prunelab")
        yield url
    finally:
        server.stop()


def s3_remote(root: Path, endpoint: str) -> None:
    """The S3 commands of docs/sharing.md; --local, so the shared commit keeps the folder remote as its default."""
    for args in (("remote", "add", "--local", "--default", "lab", "s3://prunelab/dvc"),
                 ("remote", "modify", "--local", "lab", "endpointurl", endpoint),
                 ("remote", "modify", "--local", "lab", "access_key_id", "testing"),
                 ("remote", "modify", "--local", "lab", "secret_access_key", "testing")):
        dvc(root, *args, sst2_dir=None)


@pytest.mark.slow
def test_round_trip_over_the_s3_protocol(lab, origin, s3_endpoint, tmp_path):
    import boto3

    s3_remote(lab, s3_endpoint)
    try:
        dvc(lab, "push", timeout=QUICK)
    finally:
        dvc(lab, "remote", "remove", "--local", "lab")
    listed = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing").list_objects_v2(Bucket="prunelab", Prefix="dvc/files/md5/")
    assert listed["KeyCount"] > 0

    # Far from the checkout: the folder remote does not resolve there, so every byte comes from the bucket.
    git(tmp_path, "clone", "-q", str(origin), "s3-mate")
    s3_remote(tmp_path / "s3-mate", s3_endpoint)
    assert_recomputes_nothing(tmp_path / "s3-mate", lab)


def run_queued(root: Path, name: str, sst2_dir: Path | None, *overrides: str) -> None:
    """`dvc exp run --queue` then `dvc queue start`, as on one machine of a split sweep; waits for it."""
    dvc(root, "exp", "run", "--queue", "-n", name, *(f"-S{o}" for o in overrides), sst2_dir=sst2_dir)
    dvc(root, "queue", "start", sst2_dir=sst2_dir, timeout=QUICK)
    deadline = time.monotonic() + SLOW
    try:
        while "Success" not in (status := dvc(root, "queue", "status").stdout):
            assert "Failed" not in status, dvc(root, "queue", "logs", name).stdout[-3000:]
            assert time.monotonic() < deadline, status
            time.sleep(2)
    finally:
        dvc(root, "queue", "stop")


@pytest.mark.slow
def test_a_sweep_split_across_machines_is_gathered_through_the_remotes(lab, origin, mate, tmp_path):
    """Two machines run their part of a sweep from the queue and push it; a third clone pulls and compares both.

    The experiments change `data.local_dir` (where each machine keeps SST-2: the same content), which only
    `source` and `report` read, so each costs seconds; a real sweep changes prune.* the same way.
    """
    dvc(mate, "pull", sst2_dir=None, timeout=QUICK)
    elsewhere = tmp_path / "sst2"
    shutil.copytree(SST2_DIR, elsewhere)
    run_queued(lab, "on-a", SST2_DIR, f"data.local_dir={SST2_DIR}")
    run_queued(mate, "on-b", None, f"data.local_dir={elsewhere}")
    dvc(lab, "exp", "push", "origin", "on-a", timeout=QUICK)
    dvc(mate, "exp", "push", "origin", "on-b", sst2_dir=None, timeout=QUICK)

    git(lab.parent, "clone", "-q", str(origin), "gather")
    gather = lab.parent / "gather"
    assert set(dvc(gather, "exp", "list", "--name-only", "origin", sst2_dir=None).stdout.split()) == {"on-a", "on-b"}
    dvc(gather, "exp", "pull", "origin", "on-a", "on-b", sst2_dir=None, timeout=QUICK)
    table = dvc(gather, "exp", "show", "--csv", sst2_dir=None).stdout
    assert "on-a" in table and str(SST2_DIR) in table and "on-b" in table and str(elsewhere) in table

    dvc(gather, "exp", "apply", "on-b", sst2_dir=None, timeout=QUICK)
    assert str(elsewhere) in (gather / "params.yaml").read_text()
    assert (gather / "models/pruned/saved_model.pb").read_bytes() == (lab / "models/pruned/saved_model.pb"
                                                                       ).read_bytes()
    assert json.loads(dvc(gather, "status", "--json", sst2_dir=None).stdout) == {"source": ["always changed"]}

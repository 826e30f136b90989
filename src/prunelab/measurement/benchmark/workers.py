"""One artifact per long-lived worker process, driven by the parent over a pipe.

A process of its own gives each artifact its own memory (its peak RSS is its own,
not the sum of everything loaded before it), its own TensorFlow or LiteRT runtime
with the thread settings it was given, and no interference from the others' caches
of compiled kernels. The worker loads once, warms up once at every input shape, and
then times whatever input set the parent names, as many passes and rounds as it asks.
Timing happens inside the worker, so the pipe's latency is never part of a figure.

Processes are spawned, not forked: a fork would inherit the parent's TensorFlow
state, and TensorFlow's threads cannot be configured after it has started.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import traceback
from pathlib import Path

from prunelab.errors import ArtifactError, UserError
from prunelab.measurement.benchmark.inputs import Call, InputSet
from prunelab.measurement.memory import peak_rss_mb


def time_calls(artifact, calls: list[Call]) -> float:
    """Seconds spent in ``artifact.logits`` over ``calls``, summed (the Python loop left out)."""
    total = 0.0
    for ids, mask in calls:
        started = time.perf_counter()
        artifact.logits(ids, mask)
        total += time.perf_counter() - started
    return total


def time_passes(artifact, calls: list[Call], passes: int) -> list[float]:
    """Seconds of each of ``passes`` back-to-back passes over ``calls``."""
    return [time_calls(artifact, calls) for _ in range(passes)]


def threads_in_effect(kind: str, threads: int) -> dict:
    """The thread settings this process runs with: read back from TensorFlow; LiteRT's as passed to it."""
    tf = sys.modules.get("tensorflow")
    if kind == "saved_model" and tf is not None:
        return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    return {"intra_op": threads, "inter_op": 1}  # a LiteRT interpreter runs one operation at a time


def serve(conn, loader, path: str, threads: int) -> None:
    """The worker's whole life: load, then answer ``inputs``, ``time`` and ``finish`` until told to stop.

    Every reply is ``(status, payload)``; an exception is sent back rather than raised,
    so the parent can say which artifact failed and why.
    """
    try:
        artifact = loader(path, threads=threads)
        conn.send(("ok", {"kind": artifact.kind, "size_bytes": int(artifact.size_bytes),
                          "threads": threads_in_effect(artifact.kind, threads)}))
        calls: dict[str, list[Call]] = {}
        while True:
            command, argument = conn.recv()
            if command == "inputs":  # store, then one untimed pass: the first call at a shape is slower
                calls.update((s.name, s.calls) for s in argument)
                for s in argument:
                    time_calls(artifact, s.calls)
                conn.send(("ok", None))
            elif command == "time":
                set_name, passes = argument
                conn.send(("ok", time_passes(artifact, calls[set_name], passes)))
            elif command == "finish":
                conn.send(("ok", {"peak_rss_mb": peak_rss_mb()}))
                return
            else:
                raise ValueError(f"unknown command {command!r}")
    except EOFError:  # the parent has gone; nobody is left to tell
        return
    except UserError as err:
        conn.send(("user_error", str(err)))
    except Exception:  # anything else: the parent reports the worker's traceback
        conn.send(("error", traceback.format_exc()))


class Worker:
    """The parent's handle on one worker. Requests are split into send and receive so that
    slow, untimed steps (loading, warm-up) can run in every worker at once."""

    def __init__(self, name: str, path: Path, loader, threads: int):
        context = multiprocessing.get_context("spawn")
        self.name, self.path = name, Path(path)
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, loader, str(path), threads),
                                        name=f"benchmark-{name}", daemon=True)
        self._process.start()
        child.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def send(self, command: str, argument=None) -> None:
        self._conn.send((command, argument))

    def receive(self):
        try:
            status, payload = self._conn.recv()
        except EOFError:
            self._process.join(timeout=10)
            raise RuntimeError(f"the benchmark worker for {self.name} ({self.path}) died "
                               f"(exit code {self._process.exitcode})") from None
        if status == "user_error":
            raise ArtifactError(f"{self.name}: {payload}")
        if status == "error":
            raise RuntimeError(f"the benchmark worker for {self.name} ({self.path}) failed:\n{payload}")
        return payload

    def time(self, set_name: str, passes: int = 1) -> list[float]:
        """Seconds of each back-to-back pass over the named input set."""
        self.send("time", (set_name, passes))
        return self.receive()

    def finish(self) -> dict:
        """Its peak memory; the process then ends."""
        self.send("finish")
        result = self.receive()
        self._process.join(timeout=30)
        return result

    def stop(self) -> None:
        """End the process if it still runs (after an error elsewhere); harmless after ``finish``."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=30)
        self._conn.close()


def load_inputs(workers: list[Worker], sets: list[InputSet]) -> list[dict]:
    """Wait for every worker to load, then give each the input sets and wait for its warm-up.

    All workers load and warm up at once: these steps are not timed, and the machine's
    cores are better used in parallel than one worker after another.
    """
    infos = [w.receive() for w in workers]
    for w in workers:
        w.send("inputs", sets)
    for w in workers:
        w.receive()
    return infos

"""Run experiments in parallel worker processes, serving what it can from the cache."""
from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from report.cache import RESULT_FILE, CorruptEntry, ResultCache, cache_key, read_result
from report.discover import ROOT, Experiment
from report.fonts import CjkFont
from report.model import Context, Result
from report.progress import Progress
from report.worker import ERROR_FILE, SPEC_FILE
from report.worker_server import ServerDied, WorkerServer, kill

POLL_SECONDS = 0.05


@dataclass
class Outcome:
    experiment: Experiment
    status: str  # "cached" | "ran" | "failed" | "skipped"
    seconds: float = 0.0
    result: Result | None = None
    directory: Path | None = None  # the cache entry that holds the figures
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("cached", "ran")


@dataclass
class RunSettings:
    seed: int = 42
    quick: bool = False
    jobs: int = 2
    timeout: float = 600.0
    force: bool = False
    root: Path = ROOT  # the project: experiments/ and templates/sections/ live here


@dataclass
class _Running:
    experiment: Experiment
    key: str
    directory: Path
    pid: int
    started: float = field(default_factory=time.monotonic)


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    path = [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    # One BLAS thread and one TensorFlow thread per worker: workers already run in parallel,
    # and oversubscribed OpenBLAS threads made one numpy experiment 20x slower on two cores.
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", MPLBACKEND="svg", PYTHONPATH=os.pathsep.join(path),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    # glibc maps fresh pages for an array over its mmap threshold and gives them back when it is freed;
    # its threshold adapts, but arrays of a few hundred kB made and dropped thousands of times (§7's
    # ensembles) still faulted in page by page. With fixed, high thresholds they stay in the heap:
    # a cold --no-pdf build took 280k page faults instead of 760k and 3.4-3.8 s of system time
    # instead of 5.4-5.8 s (3 runs each). A GLIBC_TUNABLES of the caller's own comes after, and wins.
    ours = "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456"
    env["GLIBC_TUNABLES"] = ":".join(filter(None, [ours, env.get("GLIBC_TUNABLES")]))
    return env


def _remove_abandoned(cache: ResultCache) -> None:
    """Worker folders left by a build that was killed: their pid no longer runs."""
    for tmp in cache.root.glob("*.tmp-*"):
        pid = int(tmp.name.rsplit("-", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:
            pass


class Runner:
    def __init__(self, cache: ResultCache, font: CjkFont, settings: RunSettings, progress: Progress):
        self.cache, self.font, self.settings, self.progress = cache, font, settings, progress
        self.keys: dict[str, str] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.running: dict[str, _Running] = {}
        self.server: WorkerServer | None = None  # started when the first experiment has to run

    def key(self, experiment: Experiment, by_name: dict[str, Experiment]) -> str:
        if experiment.name not in self.keys:
            deps = {d: self.key(by_name[d], by_name) for d in experiment.uses}
            ctx = Context(seed=self.settings.seed, quick=self.settings.quick)
            self.keys[experiment.name] = cache_key(experiment, ctx, self.font.family, deps, self.settings.root)
        return self.keys[experiment.name]

    def must_run(self, experiments: list[Experiment]) -> bool:
        """Whether `run` will run any of them: it finds no cache entry for one (or is forced)."""
        by_name = {e.name: e for e in experiments}
        return self.settings.force or any(not self.cache.entry(e.name, self.key(e, by_name)).is_dir()
                                          for e in experiments)

    def run(self, experiments: list[Experiment]) -> list[Outcome]:
        self.cache.root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(self.cache)
        by_name = {e.name: e for e in experiments}
        pending = self._longest_first(experiments)
        self.progress.start(experiments)
        try:
            while pending or self.running:
                pending = self._schedule(pending, by_name)
                self._poll()
                if self.running:
                    time.sleep(POLL_SECONDS)
        finally:
            self._stop_all()
            self.progress.stop()
        return [self.outcomes[e.name] for e in experiments]

    def _longest_first(self, experiments: list[Experiment]) -> list[Experiment]:
        """Start what others wait for, then what took longest last time: a shorter cold build."""
        used = {dep for e in experiments for dep in e.uses}
        return sorted(experiments, key=lambda e: (e.name not in used, -self.cache.last_seconds(e.name)))

    def _schedule(self, pending: list[Experiment], by_name: dict[str, Experiment]) -> list[Experiment]:
        waiting = []
        for experiment in pending:
            deps = [self.outcomes.get(d) for d in experiment.uses]
            if any(d is not None and not d.ok for d in deps):
                failed = ", ".join(d.experiment.name for d in deps if d and not d.ok)
                self._finish(Outcome(experiment, "skipped", error=f"skipped: {failed} failed"))
            elif any(d is None for d in deps):
                waiting.append(experiment)
            elif not self._from_cache(experiment, by_name) and not self._launch(experiment, by_name):
                waiting.append(experiment)
        return waiting

    def _from_cache(self, experiment: Experiment, by_name: dict[str, Experiment]) -> bool:
        key = self.key(experiment, by_name)
        if self.settings.force:
            return False
        loaded = self.cache.load(experiment.name, key)
        if loaded is None:
            return False
        result, seconds = loaded
        self._finish(Outcome(experiment, "cached", seconds, result, self.cache.entry(experiment.name, key)))
        return True

    def _launch(self, experiment: Experiment, by_name: dict[str, Experiment]) -> bool:
        if len(self.running) >= self.settings.jobs:
            return False
        key = self.key(experiment, by_name)
        directory = self.cache.root / f"{experiment.name}-{key}.tmp-{os.getpid()}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        spec = {"name": experiment.name, "seed": self.settings.seed, "quick": self.settings.quick,
                "inputs": {d: str(self.outcomes[d].directory) for d in experiment.uses}}
        (directory / SPEC_FILE).write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        if self.server is None:
            self.server = WorkerServer(self.settings.root, self.font, worker_env())
        try:
            pid = self.server.start(directory)
        except ServerDied as exc:
            self.server = None
            shutil.rmtree(directory, ignore_errors=True)
            self._finish(Outcome(experiment, "failed", error=str(exc)))
            return True
        self.running[experiment.name] = _Running(experiment, key, directory, pid)
        self.progress.update(experiment, "running")
        return True

    def _poll(self) -> None:
        for job in list(self.running.values()):
            elapsed = time.monotonic() - job.started
            try:
                code = self.server.exit_status(job.pid)
            except ServerDied as exc:
                self.server = None
                for lost in list(self.running.values()):
                    self._fail(lost, time.monotonic() - lost.started, str(exc))
                return
            if code is None and elapsed > self.settings.timeout:
                kill(job.pid)
                self._fail(job, elapsed, f"timed out after {self.settings.timeout:g} s (--timeout)")
            elif code is not None:
                self._collect(job, code, elapsed)

    def _collect(self, job: _Running, code: int, elapsed: float) -> None:
        if code != 0:
            error_file = job.directory / ERROR_FILE
            if error_file.exists():
                self._fail(job, elapsed, error_file.read_text(encoding="utf-8"))
            else:
                self._fail(job, elapsed, _death_message(code, job.directory / "worker.log"))
            return
        try:
            if not (job.directory / RESULT_FILE).exists():
                raise CorruptEntry("the worker exited without writing a result")
            result, seconds = read_result(job.directory)
        except CorruptEntry as exc:
            self._fail(job, elapsed, f"unreadable result: {exc}")
            return
        entry = self.cache.store(job.experiment.name, job.key, job.directory)
        del self.running[job.experiment.name]
        self._finish(Outcome(job.experiment, "ran", elapsed, result, entry))

    def _fail(self, job: _Running, elapsed: float, error: str) -> None:
        del self.running[job.experiment.name]
        shutil.rmtree(job.directory, ignore_errors=True)
        self._finish(Outcome(job.experiment, "failed", elapsed, error=error))

    def _finish(self, outcome: Outcome) -> None:
        self.outcomes[outcome.experiment.name] = outcome
        self.progress.update(outcome.experiment, outcome.status, outcome.seconds)

    def _stop_all(self) -> None:
        """On interrupt or error: no orphaned workers, no half-written entries."""
        for job in self.running.values():
            kill(job.pid)
            shutil.rmtree(job.directory, ignore_errors=True)
        self.running.clear()
        if self.server is not None:
            self.server.close()
            self.server = None


def _death_message(code: int, log: Path) -> str:
    how = f"killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
    return f"the worker process {how} without reporting an error" + (f"\n--- worker output ---\n{tail}" if tail else "")

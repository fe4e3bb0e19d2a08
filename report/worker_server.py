"""The runner's end of the worker server (report/worker.py): start, watch and stop workers."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from report.fonts import CjkFont


class ServerDied(RuntimeError):
    pass


class WorkerServer:
    def __init__(self, root: Path, font: CjkFont, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "report.worker", json.dumps(asdict(font), ensure_ascii=False)],
            cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        self.pending = b""
        self.started: list[int] = []
        self.exits: dict[int, int] = {}

    def start(self, directory: Path) -> int:
        """Fork a worker for `directory`; its pid."""
        try:
            self.process.stdin.write(f"{directory}\n".encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise ServerDied(self.failure()) from None
        while not self.started:
            if not self._read(timeout=None):
                raise ServerDied(self.failure())
        return self.started.pop(0)

    def exit_status(self, pid: int) -> int | None:
        """The worker's exit status once it has ended (negative: killed by that signal)."""
        self._read(timeout=0)
        if pid not in self.exits and self.process.poll() is not None:
            while self._read(timeout=0):  # what it said before it stopped
                pass
            if pid not in self.exits:
                raise ServerDied(self.failure())
        return self.exits.pop(pid, None)

    def _read(self, timeout: float | None) -> bool:
        """Take in what the server has said; False at its end of output."""
        if not select.select([self.process.stdout], [], [], timeout)[0]:
            return True
        chunk = os.read(self.process.stdout.fileno(), 4096)
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        for line in lines:
            what, pid, *status = line.decode().split()
            if what == "started":
                self.started.append(int(pid))
            else:
                self.exits[int(pid)] = int(status[0])
        return bool(chunk)

    def failure(self) -> str:
        self.process.kill()
        self.process.wait()
        tail = self.process.stderr.read().decode(errors="replace")[-2000:]
        return f"the worker server stopped (status {self.process.returncode})" + (f"\n{tail}" if tail else "")

    def close(self) -> None:
        """End of input: the server kills the workers still running and exits."""
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


def kill(pid: int) -> None:
    """The worker and anything it started: each worker leads its own process group, but only
    once it has called setsid(); a worker killed in the instant after its fork has no group yet."""
    for send in (os.killpg, os.kill):
        try:
            send(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

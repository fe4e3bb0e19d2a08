"""Each experiment's state and time while the build runs: a live table on a terminal,
one line per finished experiment otherwise (CI logs)."""
from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from report.discover import Experiment

STYLES = {"waiting": "dim", "running": "yellow", "cached": "cyan", "ran": "green",
          "failed": "bold red", "skipped": "magenta"}
LABELS = {"waiting": "等待", "running": "运行中", "cached": "缓存", "ran": "已运行",
          "failed": "失败", "skipped": "跳过"}


class Progress:
    def __init__(self, console: Console | None = None, quiet: bool = False):
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.rows: dict[str, list] = {}
        self.live: Live | None = None

    def start(self, experiments: list[Experiment]) -> None:
        self.rows = {e.name: [e, "waiting", 0.0, None] for e in experiments}
        if self.console.is_terminal and not self.quiet:
            self.live = Live(self._table(), console=self.console, refresh_per_second=8,
                             get_renderable=self._table)
            self.live.start()

    def update(self, experiment: Experiment, state: str, seconds: float = 0.0) -> None:
        row = self.rows[experiment.name]
        row[1], row[2] = state, seconds
        row[3] = time.monotonic() if state == "running" else None
        if self.live is None and not self.quiet and state not in ("running", "waiting"):
            self.console.print(f"  {state:<8} {experiment.name:<20} {seconds:6.1f} s")

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _table(self) -> Table:
        table = Table(title="实验", show_edge=False, pad_edge=False)
        for column in ("节", "实验", "状态", "用时"):
            table.add_column(column)
        for experiment, state, seconds, since in self.rows.values():
            if since is not None:
                seconds = time.monotonic() - since
            table.add_row(experiment.number, experiment.name,
                          f"[{STYLES[state]}]{LABELS[state]}[/]", f"{seconds:.1f} s")
        return table

"""Shared by the benchmarks: the machine's description and appending a row to docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        memory = f", {round(mem_kb / 1024 / 1024)} GiB RAM"
    except (OSError, StopIteration, ValueError):
        memory = ""
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def python_loop_ms() -> float:
    """Milliseconds this machine takes, now, for a fixed pure-Python loop (best of 5): its speed at the moment
    of a run. A shared virtual machine's speed drifts by the hour, so two runs compare only as far as this
    figure agrees."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def cpu_times() -> tuple[int, int]:
    """(all, stolen) CPU ticks of the machine so far, from /proc/stat ((0, 0) where there is none).

    Steal is time a virtual machine's CPU wanted to run and its host ran something else: on a shared host
    it delays every process here by however long the host takes, whatever the code does.
    """
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    # user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user and nice]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def steal_pct(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of the machine's CPU time its host took between two :func:`cpu_times` readings."""
    total = after[0] - before[0]
    return round(100 * (after[1] - before[1]) / total, 1) if total > 0 else None


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def record_row(section: str, table_head: str, row: str, key: tuple[int, ...]) -> None:
    """Put ``row`` in the table under ``section`` (created with ``table_head`` when missing), replacing the row
    whose cells at the indexes ``key`` (the run's configuration: database, size, load) are the same.

    The table holds the latest figures of each configuration; earlier runs live in git's history.
    """
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if section not in text:
        text = text.rstrip("\n") + f"\n\n{section}\n\n{table_head.rstrip()}\n"
    section_at = text.index(section)
    head_at = text.index("|", section_at)
    table_end = text.find("\n\n", head_at)
    table_end = len(text.rstrip("\n")) if table_end == -1 else table_end
    lines = text[head_at:table_end].split("\n")
    wanted = [_cells(row)[i] for i in key]
    body = [line for line in lines[2:] if [_cells(line)[i] for i in key] != wanted]
    table = "\n".join([*lines[:2], *body, row.rstrip("\n")])
    rest = text[table_end:] or "\n"
    path.write_text(text[:head_at] + table + rest)

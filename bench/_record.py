"""Shared by the benchmarks: the machine's description and appending a row to docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
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


def append_row(section: str, table_head: str, row: str) -> None:
    """Append ``row`` to the table under ``section`` (created with ``table_head`` when missing)."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if section not in text:
        text = text.rstrip("\n") + f"\n\n{section}\n\n{table_head}"
    section_at = text.index(section)
    next_section = text.find("\n## ", section_at + len(section))
    insert_at = len(text) if next_section == -1 else next_section
    # The table ends at the first blank line after its head.
    table_end = text.find("\n\n", text.index("|", section_at), insert_at)
    insert_at = insert_at if table_end == -1 else table_end + 1
    path.write_text(text[:insert_at].rstrip("\n") + "\n" + row.rstrip("\n") + "\n" + text[insert_at:])

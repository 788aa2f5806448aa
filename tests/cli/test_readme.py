"""README's commands that name files run as written, on the files ``examples/`` ships (from the repository root)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, last_line

ROOT = Path(__file__).resolve().parents[2]
CAPTURED = re.compile(r"^\w+=\$\((?P<command>.*)\)$")  # AGENT=$(convhub …)


def readme_commands_using(folder: str) -> list[list[str]]:
    """Each ``convhub …`` line of README's shell blocks that names a file in ``folder``, as argv (no ``convhub``)."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
    commands = []
    for line in (line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()):
        words = shlex.split(CAPTURED.sub(r"\g<command>", line), comments=True)
        if words[:1] == ["convhub"] and any(word.startswith(f"{folder}/") for word in words):
            commands.append(words[1:])
    return commands


def test_readme_names_only_files_that_exist() -> None:
    commands = readme_commands_using("examples")
    assert {c[0] for c in commands} >= {"import", "agents"}
    for command in commands:
        for word in command:
            if word.startswith("examples/"):
                assert (ROOT / word).is_file(), word


def test_readme_import_and_agent_commands_run_on_the_shipped_files(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # as README says: commands run from the repository root
    results = {command[0]: cli(*command) for command in readme_commands_using("examples")}

    imported = results["import"]
    assert imported.exit_code == 0, imported.output
    assert last_line(imported.stdout).startswith("created=3 ")
    assert "failed=0" in last_line(imported.stdout)

    agent = results["agents"]
    assert agent.exit_code == 0, agent.output
    assert last_line(agent.stdout).startswith("agt_")
    listed = cli("agents", "list", "--workspace", "acme")
    assert "Help desk" in listed.stdout

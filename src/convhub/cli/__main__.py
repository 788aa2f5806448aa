"""``python -m convhub.cli`` — the same as the ``convhub`` command."""

from convhub.cli import main

main()

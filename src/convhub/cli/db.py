"""``convhub db``: the database schema."""

from __future__ import annotations

import typer

from convhub.cli._common import note, out

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply the migrations the database lacks (safe to run any time). Prints the revision it ends at."""
    from convhub.cli._database import load_settings, migrate, shown_url

    settings = load_settings()
    where = shown_url(settings.resolved_database_url)
    before, after = migrate(settings)
    if before == after:
        note(f"{where}: already up to date.")
    else:
        note(f"{where}: upgraded from {before or 'an empty database'} to {after}.")
    out(f"revision {after}")

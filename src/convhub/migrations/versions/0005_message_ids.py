"""Messages get ids of their own: ``turns.public_id`` (``msg_`` + a ULID), unique, filled for every turn.

Existing turns get a ULID made from their ``created_at``, so old and new message ids sort by time alike.
SQLite cannot make a column NOT NULL in place: the table is rebuilt (Alembic's batch mode), and its
full-text triggers, which go with the old table, are made again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:10:00.000000
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic import op
from ulid import ULID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 5000
# As 0001 made them: the rebuild of the table on SQLite drops them with the old table.
SQLITE_FTS_TRIGGERS = [
    "CREATE TRIGGER turns_fts_ad AFTER DELETE ON turns BEGIN"
    " INSERT INTO turns_fts(turns_fts, rowid, message) VALUES ('delete', old.id, old.message); END",
    "CREATE TRIGGER turns_fts_au AFTER UPDATE OF message ON turns BEGIN"
    " INSERT INTO turns_fts(turns_fts, rowid, message) VALUES ('delete', old.id, old.message);"
    " INSERT INTO turns_fts(rowid, message) VALUES (new.id, new.message); END",
]

_turns = sa.table(
    "turns",
    sa.column("id", sa.BigInteger()),
    sa.column("created_at", sa.DateTime()),
    sa.column("public_id", sa.String(40)),
)


def _backfill() -> None:
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(_turns.c.id, _turns.c.created_at).where(_turns.c.id > after).order_by(_turns.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(_turns).where(_turns.c.id == sa.bindparam("p_id")).values(public_id=sa.bindparam("p_public")),
            [{"p_id": id_, "p_public": f"msg_{str(ULID.from_datetime(at.replace(tzinfo=UTC))).lower()}"}
             for id_, at in rows],
        )
        after = rows[-1][0]


def _recreate_triggers() -> None:
    for statement in SQLITE_FTS_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("turns", sa.Column("public_id", sa.String(length=40), nullable=True))
    _backfill()
    if sqlite:
        with op.batch_alter_table("turns", recreate="always") as batch_op:
            batch_op.alter_column("public_id", existing_type=sa.String(length=40), nullable=False)
        _recreate_triggers()
    else:
        op.alter_column("turns", "public_id", existing_type=sa.String(length=40), nullable=False)
    op.create_index("ux_turns_public_id", "turns", ["public_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_turns_public_id", table_name="turns")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("turns", recreate="always") as batch_op:
            batch_op.drop_column("public_id")
        _recreate_triggers()
    else:
        op.drop_column("turns", "public_id")

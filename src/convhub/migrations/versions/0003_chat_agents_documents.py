"""Chat with convhub's own agents: agent documents, conversation activity and takeover,
per-message feedback text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 17:55:12.254065
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_documents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_documents_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_documents")),
    )
    with op.batch_alter_table("agent_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_documents_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_documents_workspace_id"), ["workspace_id"], unique=False)

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_activity_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("taken_over_by", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("taken_over_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feedback_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("feedback_comment")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("taken_over_at")
        batch_op.drop_column("taken_over_by")
        batch_op.drop_column("last_activity_at")

    with op.batch_alter_table("agent_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_documents_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_agent_documents_agent_id"))

    op.drop_table("agent_documents")

"""Conversations found by the provider's id within a workspace, whatever the provider: an index, so a lookup
by reference (convhub's id or the provider's) is two index searches instead of a pass over the workspace.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_ws_provider_id", "conversations", ["workspace_id", "provider_conversation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_ws_provider_id", table_name="conversations")

"""Every SQL statement of the sync domain: runs, failures, fingerprints, connection state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.repository import WorkspaceRepository
from convhub.kit.time import utcnow
from convhub.models import Agent, Conversation, ProviderConnection, SyncFailure, SyncFingerprint, SyncRun

OPEN_STATUSES = ("initiated", "in-progress", "processing")


class SyncRepository(WorkspaceRepository[SyncRun]):
    model = SyncRun

    # ------------------------------------------------------------- runs

    async def add_run(self, run: SyncRun) -> None:
        self.session.add(run)
        await self.session.flush()

    async def runs(self, connection_id: str | None = None, limit: int = 50) -> list[SyncRun]:
        stmt = self.scoped(select(SyncRun)).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
        if connection_id:
            stmt = stmt.where(SyncRun.connection_id == connection_id)
        return list((await self.session.execute(stmt)).scalars())

    async def running(self, connection_id: str) -> list[SyncRun]:
        stmt = self.scoped(select(SyncRun)).where(
            SyncRun.connection_id == connection_id, SyncRun.status.in_(("queued", "running"))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def update_run(self, run_id: str, **values: Any) -> None:
        await self.session.execute(
            update(SyncRun).where(SyncRun.workspace_id == self.workspace_id, SyncRun.id == run_id).values(**values)
        )

    # ------------------------------------------------------------- connection state

    async def connection(self, connection_id: str) -> ProviderConnection | None:
        stmt = self.scoped(select(ProviderConnection), ProviderConnection).where(
            ProviderConnection.id == connection_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def set_connection(self, connection_id: str, **values: Any) -> None:
        await self.session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.workspace_id == self.workspace_id, ProviderConnection.id == connection_id)
            .values(**values)
        )

    # ------------------------------------------------------------- what is already here

    async def fingerprints(self, connection_id: str, provider_ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        out: dict[str, tuple[str, bool]] = {}
        for start in range(0, len(provider_ids), 500):
            stmt = select(
                SyncFingerprint.provider_conversation_id, SyncFingerprint.fingerprint, SyncFingerprint.final
            ).where(
                SyncFingerprint.connection_id == connection_id,
                SyncFingerprint.provider_conversation_id.in_(provider_ids[start : start + 500]),
            )
            out.update({row[0]: (row[1], row[2]) for row in await self.session.execute(stmt)})
        return out

    async def save_fingerprints(self, connection_id: str, rows: dict[str, tuple[str, bool]]) -> None:
        if not rows:
            return
        ids = list(rows)
        await self.session.execute(
            delete(SyncFingerprint).where(
                SyncFingerprint.connection_id == connection_id, SyncFingerprint.provider_conversation_id.in_(ids)
            )
        )
        self.session.add_all(
            SyncFingerprint(connection_id=connection_id, provider_conversation_id=pid, fingerprint=fp, final=final)
            for pid, (fp, final) in rows.items()
        )
        await self.session.flush()

    async def open_fingerprints(self, connection_id: str, limit: int = 5000) -> list[str]:
        """Provider ids filed while not final: the incremental pass re-checks them."""
        stmt = (
            select(SyncFingerprint.provider_conversation_id)
            .where(SyncFingerprint.connection_id == connection_id, SyncFingerprint.final.is_(False))
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def stored(self, provider: str, provider_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """provider id → (conversation id, audio key) for those already in the store."""
        out: dict[str, tuple[str, str | None]] = {}
        for start in range(0, len(provider_ids), 500):
            stmt = self.scoped(
                select(Conversation.provider_conversation_id, Conversation.id, Conversation.audio_key), Conversation
            ).where(
                Conversation.provider == provider,
                Conversation.provider_conversation_id.in_(provider_ids[start : start + 500]),
            )
            out.update({row[0]: (row[1], row[2]) for row in await self.session.execute(stmt)})
        return out

    async def known_agents(self, provider: str) -> set[str]:
        stmt = self.scoped(select(Agent.provider_agent_id), Agent).where(
            Agent.provider == provider, Agent.provider_agent_id.is_not(None)
        )
        return {str(a) for a in (await self.session.execute(stmt)).scalars()}

    async def set_audio(self, keys: dict[str, str]) -> None:
        """conversation id → blob key of its audio, now stored."""
        for conversation_id, key in keys.items():
            await self.session.execute(
                update(Conversation)
                .where(Conversation.workspace_id == self.workspace_id, Conversation.id == conversation_id)
                .values(audio_key=key, has_audio=True)
            )

    # ------------------------------------------------------------- failures

    async def failures(self, connection_id: str, limit: int = 1000) -> list[str]:
        stmt = (
            select(SyncFailure.provider_conversation_id)
            .where(SyncFailure.workspace_id == self.workspace_id, SyncFailure.connection_id == connection_id)
            .order_by(SyncFailure.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def record_failures(self, connection_id: str, run_id: str, errors: dict[str, str]) -> None:
        if not errors:
            return
        existing = {
            f.provider_conversation_id: f
            for f in (
                await self.session.execute(
                    select(SyncFailure).where(
                        SyncFailure.connection_id == connection_id,
                        SyncFailure.provider_conversation_id.in_(list(errors)),
                    )
                )
            ).scalars()
        }
        for pid, message in errors.items():
            if pid in existing:
                row = existing[pid]
                row.error, row.attempts, row.last_run_id, row.updated_at = message, row.attempts + 1, run_id, utcnow()
            else:
                self.session.add(
                    SyncFailure(
                        workspace_id=self.workspace_id, connection_id=connection_id, provider_conversation_id=pid,
                        error=message, last_run_id=run_id,
                    )
                )
        await self.session.flush()

    async def clear_failures(self, connection_id: str, provider_ids: Sequence[str]) -> None:
        if provider_ids:
            await self.session.execute(
                delete(SyncFailure).where(
                    SyncFailure.connection_id == connection_id,
                    SyncFailure.provider_conversation_id.in_(list(provider_ids)),
                )
            )


async def recent_open_conversations(
    session: AsyncSession, workspace_id: str, provider: str, *, after: datetime, before: datetime | None
) -> list[str]:
    """Provider ids of this workspace's conversations not yet final that started in [after, before)."""
    stmt = select(Conversation.provider_conversation_id).where(
        Conversation.workspace_id == workspace_id,
        Conversation.provider == provider,
        Conversation.status.in_(OPEN_STATUSES),
        Conversation.started_at >= after,
    )
    if before is not None:
        stmt = stmt.where(Conversation.started_at < before)
    return list((await session.execute(stmt.limit(5000))).scalars())


async def workspace_connection_ids(session: AsyncSession, workspace_id: str) -> list[str]:
    stmt = select(ProviderConnection.id).where(ProviderConnection.workspace_id == workspace_id)
    return list((await session.execute(stmt.order_by(ProviderConnection.created_at))).scalars())

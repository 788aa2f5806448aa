"""Every SQL statement of the sync domain: runs, failures, fingerprints.

The connection's state and the conversations and agents already stored are
their own domains' rows: :class:`SyncRepository` asks those repositories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from convhub.agents.repository import AgentRepository
from convhub.connections.repository import ConnectionRepository
from convhub.conversations.repository import ConversationRepository
from convhub.kit.repository import WorkspaceRepository
from convhub.kit.time import utcnow
from convhub.models import ProviderConnection, SyncFailure, SyncFingerprint, SyncRun


class SyncRepository(WorkspaceRepository[SyncRun]):
    model = SyncRun

    @property
    def connections(self) -> ConnectionRepository:
        return ConnectionRepository(self.session, self.workspace_id)

    @property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self.session, self.workspace_id)

    # ------------------------------------------------------------- runs

    async def add_run(self, run: SyncRun) -> None:
        await self.add(run)

    async def runs(self, connection_id: str | None = None, limit: int = 50) -> list[SyncRun]:
        stmt = self.select().order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
        if connection_id:
            stmt = stmt.where(SyncRun.connection_id == connection_id)
        return await self.get_all(stmt)

    async def running(self, connection_id: str) -> list[SyncRun]:
        return await self.get_all(
            self.select().where(SyncRun.connection_id == connection_id, SyncRun.status.in_(("queued", "running")))
        )

    async def update_run(self, run_id: str, **values: Any) -> None:
        await self.session.execute(self.update_where(SyncRun.id == run_id).values(**values))

    # ------------------------------------------------------------- connection state

    async def connection(self, connection_id: str) -> ProviderConnection | None:
        return await self.connections.get(connection_id)

    async def set_connection(self, connection_id: str, **values: Any) -> None:
        await self.connections.set_fields(connection_id, **values)

    # ------------------------------------------------------------- what is already here

    async def fingerprints(self, connection_id: str, provider_ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        # Fingerprints have no workspace column: a connection belongs to one workspace, and only this
        # workspace's connections reach a sync of it.
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
        return await self.conversations.audio_keys(provider, provider_ids)

    async def known_agents(self, provider: str) -> set[str]:
        return await AgentRepository(self.session, self.workspace_id).known_provider_ids(provider)

    async def set_audio(self, keys: dict[str, str]) -> None:
        """conversation id → blob key of its audio, now stored."""
        await self.conversations.set_audio(keys)

    # ------------------------------------------------------------- failures

    async def failures(self, connection_id: str, limit: int = 1000) -> list[str]:
        stmt = (
            self.scoped(select(SyncFailure.provider_conversation_id), SyncFailure)
            .where(SyncFailure.connection_id == connection_id)
            .order_by(SyncFailure.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def record_failures(self, connection_id: str, run_id: str, errors: dict[str, str]) -> None:
        if not errors:
            return
        stmt = self.scoped(select(SyncFailure), SyncFailure).where(
            SyncFailure.connection_id == connection_id, SyncFailure.provider_conversation_id.in_(list(errors))
        )
        existing = {f.provider_conversation_id: f for f in await self.get_all(stmt)}
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
                self.delete_where(
                    SyncFailure.connection_id == connection_id,
                    SyncFailure.provider_conversation_id.in_(list(provider_ids)),
                    target=SyncFailure,
                )
            )

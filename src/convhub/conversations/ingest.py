"""The one ingest path: every source writes conversations through here.

:func:`ingest_many` upserts normalized conversations idempotently on
(workspace, provider, provider conversation id):

* unknown → inserted with its turns and side-table rows (``created``);
* known with the same content → nothing is written (``unchanged``);
* known with different content → replaced in place, keeping convhub's id,
  its audio and locally set metadata keys (``updated``) — unless the incoming
  version is older than the stored one by the provider's clock, which never
  moves a conversation backwards (``unchanged``).

Agents named by provider id are found or created on the way. Chats started
here come through this path too, each under the id it was promised
(:func:`ingest` with ``conversation_id``). The service never commits; the
caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.agents.repository import AgentRepository
from convhub.conversations.repository import ConversationRepository
from convhub.conversations.schemas import ConversationIn, IngestOutcome, IngestResult
from convhub.errors import Conflict, Unprocessable
from convhub.kit.ids import new_id
from convhub.kit.time import utcnow

_HASH_EXCLUDE = {"has_audio", "has_user_audio", "has_response_audio"}


def content_hash(conversation: ConversationIn) -> str:
    # The raw payload is hashed with orjson: several times faster than pydantic's Any-typed path.
    digest = hashlib.sha256(conversation.model_dump_json(exclude=_HASH_EXCLUDE | {"raw"}).encode())
    digest.update(orjson.dumps(conversation.raw, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS))
    return digest.hexdigest()


async def ingest(
    session: AsyncSession, workspace_id: str, conversation: ConversationIn, *, conversation_id: str | None = None
) -> IngestResult:
    """Upsert one conversation. With ``conversation_id`` it must be new and takes that id (a chat's id is
    its provider id, and may be promised before it exists): one already known is a 409, and nothing is written."""
    new_ids = {conversation.provider_conversation_id: conversation_id} if conversation_id else None
    return (await ingest_many(session, workspace_id, [conversation], new_ids=new_ids))[0]


async def ingest_many(
    session: AsyncSession, workspace_id: str, conversations: Sequence[ConversationIn], *,
    new_ids: Mapping[str, str] | None = None,
) -> list[IngestResult]:
    """Upsert many conversations at once; results are in input order. ``new_ids`` (by provider conversation
    id) names conversations that must be new and the ids they take."""
    results: list[IngestResult | None] = [None] * len(conversations)
    by_provider: dict[str, list[int]] = {}
    for i, conv in enumerate(conversations):
        by_provider.setdefault(conv.provider, []).append(i)
    for provider, indexes in by_provider.items():
        batch = [conversations[i] for i in indexes]
        stored = await _ingest_provider_batch(session, workspace_id, provider, batch, new_ids or {})
        for i, result in zip(indexes, stored, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


async def _resolve_agents(
    session: AsyncSession, workspace_id: str, provider: str, batch: Sequence[ConversationIn]
) -> list[str]:
    agents = AgentRepository(session, workspace_id)
    native_refs = {c.agent.agent_id for c in batch if c.agent.agent_id}
    if native_refs:
        missing = native_refs - await agents.existing_ids(sorted(native_refs))
        if missing:
            raise Unprocessable(f"Unknown agent id(s): {', '.join(sorted(missing))}.", loc=("body", "agent_id"))
    names: dict[str, str | None] = {}
    for conv in batch:
        ref = conv.agent.provider_agent_id
        if not conv.agent.agent_id and ref:
            names[ref] = names.get(ref) or conv.agent.name
    if any(not c.agent.agent_id and not c.agent.provider_agent_id for c in batch):
        raise Unprocessable("Every conversation needs agent.agent_id or agent.provider_agent_id.", loc=("agent",))
    known = await agents.by_provider_ids(provider, sorted(names)) if names else {}
    now = utcnow()
    new_rows = [
        {"id": new_id("agt"), "workspace_id": workspace_id, "name": name or ref, "provider": provider,
         "provider_agent_id": ref, "config": {}, "public": False, "created_at": now, "updated_at": now}
        for ref, name in names.items() if ref not in known
    ]
    await agents.insert_many(new_rows)
    ids = {ref: agent.id for ref, agent in known.items()}
    ids.update((str(r["provider_agent_id"]), str(r["id"])) for r in new_rows)
    return [c.agent.agent_id or ids[c.agent.provider_agent_id or ""] for c in batch]


async def _ingest_provider_batch(
    session: AsyncSession, workspace_id: str, provider: str, batch: Sequence[ConversationIn],
    new_ids: Mapping[str, str],
) -> list[IngestResult]:
    repo = ConversationRepository(session, workspace_id)
    agent_ids = await _resolve_agents(session, workspace_id, provider, batch)
    existing = await repo.existing_by_provider_ids(provider, [c.provider_conversation_id for c in batch])
    if known := sorted(set(new_ids) & set(existing)):
        raise Conflict(f"Conversation(s) {', '.join(map(repr, known))} exist already.")

    results: list[IngestResult] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    children: dict[str, ConversationIn] = {}
    seen: dict[str, IngestResult] = {}  # the same conversation twice in one batch: the first wins
    now = utcnow()
    for conv, agent_id in zip(batch, agent_ids, strict=True):
        pid = conv.provider_conversation_id
        if pid in seen:
            results.append(IngestResult(conversation_id=seen[pid].conversation_id, outcome=IngestOutcome.unchanged))
            continue
        digest = content_hash(conv)
        row = _conversation_row(conv, workspace_id, agent_id, digest, now)
        if pid not in existing:
            row["id"] = new_ids.get(pid) or new_id("conv")
            row["created_at"] = now
            inserts.append(row)
            outcome = IngestOutcome.created
        else:
            conv_id, old_hash, old_version, old_metadata = existing[pid]
            stale = (
                old_version is not None
                and conv.source_updated_at is not None
                and conv.source_updated_at < old_version
            )
            if old_hash == digest or stale:
                seen[pid] = IngestResult(conversation_id=conv_id, outcome=IngestOutcome.unchanged)
                results.append(seen[pid])
                continue
            row["id"] = conv_id
            row["custom_metadata"] = {**old_metadata, **conv.metadata}
            updates.append(row)
            outcome = IngestOutcome.updated
        children[row["id"]] = conv
        seen[pid] = IngestResult(conversation_id=row["id"], outcome=outcome)
        results.append(seen[pid])

    await repo.insert_conversations(inserts)
    await repo.update_conversations(updates)
    await repo.clear_children([r["id"] for r in updates])
    await repo.insert_children(*_child_rows(children, workspace_id, now))
    await _link_transfers(repo, [*inserts, *updates])
    return results


TRANSFER_WINDOW = timedelta(minutes=10)


async def _link_transfers(repo: ConversationRepository, rows: Sequence[dict[str, Any]]) -> None:
    """Point each conversation that picked up a transferred call at the one that handed it over.

    A transfer is a conversation with ``transfer_to`` (the number it handed the
    caller to) and, for the same customer, a conversation answered on that number
    that starts between the first one's start and ten minutes after its end — on
    any provider, since an ElevenLabs agent may well transfer to a Retell line.
    """
    sources = [r for r in rows if r["transfer_to"] and r["customer_number"]]
    targets = [r for r in rows if r["agent_number"] and r["customer_number"]]
    if not sources and not targets:
        return
    stored = await repo.transfer_candidates(
        sorted({r["customer_number"] for r in [*sources, *targets]}),
        agent_numbers=sorted({r["transfer_to"] for r in sources}),
        transfer_numbers=sorted({r["agent_number"] for r in targets}),
    )
    everything = {r["id"]: r for r in stored} | {r["id"]: r for r in rows}
    handed = [r for r in everything.values() if r["transfer_to"] and r["customer_number"]]
    links: dict[str, str] = {}
    for target in sorted(everything.values(), key=lambda r: r["started_at"]):
        if not target["agent_number"] or target.get("transferred_from_id"):
            continue
        for source in handed:
            end = source["ended_at"] or source["started_at"]
            if (
                source["id"] != target["id"]
                and source["customer_number"] == target["customer_number"]
                and source["transfer_to"] == target["agent_number"]
                and source["started_at"] <= target["started_at"] <= end + TRANSFER_WINDOW
            ):
                links[target["id"]] = source["id"]
                break
    for target_id, source_id in links.items():
        await repo.set_fields(target_id, transferred_from_id=source_id)


def _conversation_row(
    conv: ConversationIn, workspace_id: str, agent_id: str, digest: str, now: Any
) -> dict[str, Any]:
    analysis = {
        "evaluation_results": [e.model_dump(mode="json") for e in conv.evaluation_results],
        "data_collection": [d.model_dump(mode="json") for d in conv.data_collection],
    }
    return {
        "workspace_id": workspace_id,
        "provider": conv.provider,
        "provider_conversation_id": conv.provider_conversation_id,
        "agent_id": agent_id,
        "channel": conv.channel,
        "direction": conv.direction.value if conv.direction else None,
        "status": conv.status.value,
        "provider_status": conv.provider_status,
        "entity_type": conv.entity_type.value,
        "user_id": conv.user_id,
        "customer_number": conv.customer_number,
        "agent_number": conv.agent_number,
        "started_at": conv.started_at,
        "ended_at": conv.ended_at,
        "duration_secs": conv.duration_secs,
        "message_count": len(conv.turns),
        "call_successful": conv.call_successful.value,
        "rating": conv.rating,
        "feedback_likes": conv.feedback.likes,
        "feedback_dislikes": conv.feedback.dislikes,
        "feedback_comment": conv.feedback.comment,
        "summary": conv.summary,
        "title": conv.title,
        "sentiment": conv.sentiment,
        "termination_reason": conv.termination_reason,
        "cost_cents": conv.cost_cents,
        "cost_raw": conv.cost_raw,
        "custom_metadata": dict(conv.metadata),
        "analysis": analysis,
        "has_user_audio": conv.has_user_audio,
        "has_response_audio": conv.has_response_audio,
        "content_hash": digest,
        "source_updated_at": conv.source_updated_at,
        "transfer_to": conv.transfer_to,
        "raw": conv.raw,
        "updated_at": now,
    }


def _data_value(value: Any) -> tuple[str | None, float | None]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        return ("true" if value else "false"), float(value)
    if isinstance(value, int | float):
        return (str(int(value)) if float(value).is_integer() else str(value)), float(value)
    if isinstance(value, str):
        return value, None
    return json.dumps(value, sort_keys=True), None


def _child_rows(
    children: dict[str, ConversationIn], workspace_id: str, now: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    turns: list[dict[str, Any]] = []
    evaluations: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    for conv_id, conv in children.items():
        base = {"conversation_id": conv_id, "workspace_id": workspace_id}
        tool_names: set[str] = set()
        for idx, turn in enumerate(conv.turns):
            turns.append({
                **base, "idx": idx, "role": turn.role.value, "message": turn.message,
                "time_in_call_secs": turn.time_in_call_secs, "tool_calls": turn.tool_calls,
                "tool_results": turn.tool_results, "feedback": turn.feedback, "rating": turn.rating,
                "interrupted": turn.interrupted, "source_medium": turn.source_medium,
                "llm_usage": turn.llm_usage, "extra": turn.extra, "created_at": now,
            })
            tool_names.update(str(call["tool_name"]) for call in turn.tool_calls if call.get("tool_name"))
        latest_eval = {e.criteria_id: e.result.value for e in conv.evaluation_results}
        evaluations.extend({**base, "criteria_id": k, "result": v} for k, v in latest_eval.items())
        latest_data = {d.data_collection_id: d.value for d in conv.data_collection}
        for field_id, value in latest_data.items():
            value_text, value_num = _data_value(value)
            data.append({**base, "data_collection_id": field_id, "value_text": value_text, "value_num": value_num})
        tools.extend({**base, "tool_name": name} for name in sorted(tool_names))
    return turns, evaluations, data, tools

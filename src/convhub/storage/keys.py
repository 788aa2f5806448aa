"""Blob keys convhub writes under, in one place."""

from __future__ import annotations

import hashlib


def provider_audio_key(workspace_id: str, provider: str, provider_conversation_id: str) -> str:
    """Where a provider conversation's recording is kept (sync and webhooks agree on it)."""
    digest = hashlib.sha256(provider_conversation_id.encode()).hexdigest()[:32]
    return f"{workspace_id}/audio/{provider}/{digest}.bin"

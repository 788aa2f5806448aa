"""Signed URLs and short-lived tokens that open a realtime conversation with an agent.

A server holding an API key asks for one (``GET /v1/convai/conversation/get-signed-url``
or ``…/token``) and hands it to a browser, which then connects without ever
seeing the key. Both are :class:`~convhub.kit.crypto.Signer` payloads under
purposes of their own, so a token is never accepted as a URL signature or the
other way round, and neither as anything else convhub signs.

A credential names the agent by convhub's id, and also by the id the caller
asked with when that was another (a provider's agent id): the signed URL
carries the caller's ``agent_id`` as it was passed, and either id is accepted
back.

Every credential carries a random ``nonce``. One that also carries a
``conversation_id`` is meant to be used once: the realtime endpoint records the
nonce (or the conversation id) when it accepts it and refuses it the second
time. Verification here is stateless, so it checks signature, expiry and agent
only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from convhub.kit.crypto import Signer
from convhub.kit.ids import new_id

SIGNED_URL_PURPOSE = "signed-url"
TOKEN_PURPOSE = "conversation-token"
CONVERSATION_PATH = "/v1/convai/conversation"


@dataclass(frozen=True)
class SignedConversation:
    """What a valid ``conversation_signature`` grants."""

    workspace_id: str
    agent_id: str
    conversation_id: str | None
    nonce: str
    expires_at: int  # Unix seconds

    @property
    def single_use(self) -> bool:
        return self.conversation_id is not None


@dataclass(frozen=True)
class IssuedToken:
    """A fresh conversation token and the id of the conversation it opens."""

    token: str
    conversation_id: str


@dataclass(frozen=True)
class ConversationToken:
    """What a valid conversation token grants; it always names the conversation it opens."""

    workspace_id: str
    agent_id: str
    conversation_id: str
    participant_name: str | None
    nonce: str
    expires_at: int  # Unix seconds


def _agent_claims(agent_id: str, agent_ref: str | None) -> dict[str, str]:
    claims = {"agent": agent_id}
    if agent_ref is not None and agent_ref != agent_id:
        claims["ref"] = agent_ref
    return claims


def _names_agent(payload: dict[str, Any], agent_ref: str) -> bool:
    return agent_ref in (payload.get("agent"), payload.get("ref"))


def sign_conversation(
    secret: str,
    *,
    workspace_id: str,
    agent_id: str,
    include_conversation_id: bool,
    ttl_secs: int,
    agent_ref: str | None = None,
    now: float | None = None,
) -> str:
    """A ``conversation_signature`` for ``agent_id`` (convhub's), also valid under ``agent_ref`` (the id the
    caller named the agent by); with a fresh conversation id when asked."""
    payload: dict[str, Any] = {
        "ws": workspace_id,
        **_agent_claims(agent_id, agent_ref),
        "nonce": secrets.token_urlsafe(12),
    }
    if include_conversation_id:
        payload["conv"] = new_id("conv")
    return Signer(secret, SIGNED_URL_PURPOSE).sign(payload, ttl_secs, now=now)


def sign_conversation_url(
    secret: str,
    *,
    ws_base_url: str,
    workspace_id: str,
    agent_id: str,
    include_conversation_id: bool,
    ttl_secs: int,
    agent_ref: str | None = None,
    now: float | None = None,
) -> str:
    """``<ws_base_url>/v1/convai/conversation?agent_id=…&conversation_signature=…``.

    ``ws_base_url`` is the scheme and host the client reaches convhub on, such as
    ``wss://convhub.example.com``. The URL's ``agent_id`` is ``agent_ref`` when given
    (the id the caller asked with), else ``agent_id``.
    """
    signature = sign_conversation(
        secret,
        workspace_id=workspace_id,
        agent_id=agent_id,
        include_conversation_id=include_conversation_id,
        ttl_secs=ttl_secs,
        agent_ref=agent_ref,
        now=now,
    )
    query = urlencode({"agent_id": agent_ref or agent_id, "conversation_signature": signature})
    return f"{ws_base_url.rstrip('/')}{CONVERSATION_PATH}?{query}"


def verify_conversation_signature(
    secret: str, signature: str, agent_id: str, *, now: float | None = None
) -> SignedConversation | None:
    """The grant of ``signature`` when it is genuine, unexpired and made for ``agent_id`` (either id it was
    signed under); else None. The grant names the agent by convhub's id."""
    payload = Signer(secret, SIGNED_URL_PURPOSE).verify(signature, now=now)
    if payload is None or not _names_agent(payload, agent_id):
        return None
    workspace_id, agent, nonce = payload.get("ws"), payload.get("agent"), payload.get("nonce")
    conversation_id = payload.get("conv")
    if not isinstance(workspace_id, str) or not isinstance(agent, str) or not isinstance(nonce, str):
        return None
    if conversation_id is not None and not isinstance(conversation_id, str):
        return None
    return SignedConversation(
        workspace_id=workspace_id,
        agent_id=agent,
        conversation_id=conversation_id,
        nonce=nonce,
        expires_at=int(payload["exp"]),
    )


def issue_conversation_token(
    secret: str,
    *,
    workspace_id: str,
    agent_id: str,
    participant_name: str | None,
    ttl_secs: int,
    agent_ref: str | None = None,
    now: float | None = None,
) -> IssuedToken:
    """A short-lived token that opens one new conversation with ``agent_id`` (also valid under ``agent_ref``),
    and that conversation's id."""
    conversation_id = new_id("conv")
    payload: dict[str, Any] = {
        "ws": workspace_id,
        **_agent_claims(agent_id, agent_ref),
        "conv": conversation_id,
        "nonce": secrets.token_urlsafe(12),
    }
    if participant_name is not None:
        payload["name"] = participant_name
    return IssuedToken(Signer(secret, TOKEN_PURPOSE).sign(payload, ttl_secs, now=now), conversation_id)


def verify_conversation_token(
    secret: str, token: str, *, agent_id: str | None = None, now: float | None = None
) -> ConversationToken | None:
    """The grant of ``token`` when genuine and unexpired (and for ``agent_id``, by either id it was issued
    under, when given); else None. The grant names the agent by convhub's id."""
    payload = Signer(secret, TOKEN_PURPOSE).verify(token, now=now)
    if payload is None:
        return None
    fields = {key: payload.get(key) for key in ("ws", "agent", "conv", "nonce")}
    if not all(isinstance(value, str) for value in fields.values()):
        return None
    name = payload.get("name")
    if name is not None and not isinstance(name, str):
        return None
    if agent_id is not None and not _names_agent(payload, agent_id):
        return None
    return ConversationToken(
        workspace_id=str(fields["ws"]),
        agent_id=str(fields["agent"]),
        conversation_id=str(fields["conv"]),
        participant_name=name,
        nonce=str(fields["nonce"]),
        expires_at=int(payload["exp"]),
    )

"""Which ids the dialect shows, decided without a server: ElevenLabs' own for its conversations, else convhub's."""

from __future__ import annotations

from convhub.elevenlabs_api import shape
from convhub.models import Agent, Conversation


def _conv(provider: str, raw: dict[str, object] | None = None) -> Conversation:
    return Conversation(id="conv_ours", provider=provider, provider_conversation_id="conv_theirs",
                        agent_id="agt_ours", raw=raw)


def test_an_elevenlabs_conversation_shows_elevenlabs_ids() -> None:
    mirror = Agent(id="agt_ours", name="Sam", provider="elevenlabs", provider_agent_id="agent_theirs")
    conv = _conv("elevenlabs")
    assert (shape.conversation_id(conv), shape.agent_id(conv, mirror)) == ("conv_theirs", "agent_theirs")


def test_without_a_mirrored_agent_the_stored_body_names_it() -> None:
    native = Agent(id="agt_ours", name="Helper", provider="convhub", provider_agent_id=None)
    conv = _conv("elevenlabs", raw={"agent_id": "agent_in_body"})
    assert shape.agent_id(conv, native) == "agent_in_body"
    assert shape.agent_id(conv, None) == "agent_in_body"
    assert shape.agent_id(_conv("elevenlabs", raw={}), native) == "agt_ours"


def test_other_conversations_show_convhub_ids() -> None:
    mirror = Agent(id="agt_ours", name="Rita", provider="retell", provider_agent_id="ag_retell")
    for provider in ("retell", "vapi", "convhub"):
        conv = _conv(provider, raw={"agent_id": "agent_in_body"})
        assert (shape.conversation_id(conv), shape.agent_id(conv, mirror)) == ("conv_ours", "agt_ours"), provider

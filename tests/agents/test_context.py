"""What an agent sees: its prompt, the conversation's metadata, and the newest history within its budget."""

from __future__ import annotations

from convhub.agents.backends.base import ChatMessage
from convhub.agents.context import build_messages
from tests.agents.conftest import make_agent


def test_the_system_prompt_comes_first_then_the_history_with_roles_mapped() -> None:
    agent = make_agent(config={"system_prompt": "You are the Acme support bot."})
    history = [("agent", "Hello! How can I help?"), ("user", "Where is my order?"),
               ("human_operator", "Let me check that for you."), ("tool", "lookup_order → shipped"),
               ("system", "call transferred"), ("user", "Thanks")]

    messages = build_messages(agent, history, {})

    assert messages == [
        ChatMessage("system", "You are the Acme support bot."),
        ChatMessage("assistant", "Hello! How can I help?"),
        ChatMessage("user", "Where is my order?"),
        ChatMessage("assistant", "Let me check that for you."),
        ChatMessage("user", "Thanks"),
    ]


def test_without_a_prompt_the_default_names_the_agent() -> None:
    messages = build_messages(make_agent(name="Support Sam"), [("user", "hi")], {})

    assert messages[0].role == "system"
    assert "Support Sam" in messages[0].content


def test_metadata_is_a_compact_json_system_message_when_there_is_any() -> None:
    agent = make_agent()
    metadata = {"plan": "pro", "customer": {"id": 42, "name": "Zoë"}}

    with_metadata = build_messages(agent, [("user", "hi")], metadata)
    without = build_messages(agent, [("user", "hi")], {})

    assert with_metadata[1] == ChatMessage(
        "system", 'Conversation metadata (JSON): {"customer":{"id":42,"name":"Zoë"},"plan":"pro"}'
    )
    assert [m.role for m in without] == ["system", "user"]


def test_the_budget_keeps_the_newest_turns() -> None:
    agent = make_agent(config={"context_budget_chars": 250})
    history = [("user" if n % 2 == 0 else "agent", f"message {n:02d} " + "." * 40) for n in range(20)]

    messages = build_messages(agent, history, {})[1:]

    kept = [m.content[:10] for m in messages]
    assert kept == ["message 16", "message 17", "message 18", "message 19"]  # 4 of 51 chars; a fifth makes 255
    assert sum(len(m.content) for m in messages) <= 250


def test_the_last_user_message_is_kept_even_beyond_the_budget() -> None:
    agent = make_agent(config={"context_budget_chars": 200})
    question = "Please summarise this: " + "lorem ipsum " * 50

    messages = build_messages(agent, [("agent", "Hi!"), ("user", "Earlier question"), ("user", question)], {})

    assert messages[1:] == [ChatMessage("user", question)]


def test_the_last_user_message_stays_when_newer_turns_fill_the_budget() -> None:
    agent = make_agent(config={"context_budget_chars": 300})
    history = [("user", "What is your refund policy?"), ("agent", "A" * 150), ("human_operator", "B" * 140)]

    messages = build_messages(agent, history, {})[1:]

    assert messages == [ChatMessage("user", "What is your refund policy?"), ChatMessage("assistant", "B" * 140)]


def test_the_default_budget_is_8000_characters() -> None:
    history = [("user", "x" * 1000)] * 12

    messages = build_messages(make_agent(), history, {})[1:]

    assert len(messages) == 8

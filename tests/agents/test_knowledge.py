"""The ``knowledge`` backend: the right passage of the right document, a fallback when nothing fits, word streaming."""

from __future__ import annotations

import pytest

from convhub.agents.backends.base import ChatMessage
from convhub.agents.backends.knowledge import (
    DEFAULT_FALLBACK_REPLY,
    KnowledgeBackend,
    KnowledgeIndex,
    SourceDocument,
    cached_index,
    remember_index,
    split_passages,
)

REFUNDS = SourceDocument("refunds.md", """# Refunds

Refunds are issued within 14 days of receiving the returned item. The money goes back to the original
payment method.

## Broken items

If an item arrives broken, send us a photo within a week and we replace it for free.
""")
SHIPPING = SourceDocument("shipping.md", """# Shipping

We ship to Germany, France and Italy. Delivery takes 3 to 5 working days.

## Express

Express shipping costs 9 euros and arrives the next working day.
""")
ACCOUNT = SourceDocument("account.txt", """To reset your password, open Settings and choose "Reset password".
A link is emailed to you and stays valid for one hour.

Two-factor authentication can be switched on under Settings > Security.""")

DOCS = [REFUNDS, SHIPPING, ACCOUNT]


def ask(*questions: str) -> list[ChatMessage]:
    """A conversation in which the user asked these, in order (the agent's replies in between)."""
    messages = [ChatMessage("system", "You are Helper.")]
    for question in questions:
        messages += [ChatMessage("user", question), ChatMessage("assistant", "(an earlier reply)")]
    return messages[:-1]


@pytest.fixture(scope="module")
def backend() -> KnowledgeBackend:
    return KnowledgeBackend(KnowledgeIndex(DOCS))


@pytest.mark.parametrize(
    ("question", "document", "passage_start"),
    [
        ("How long do refunds take?", "refunds.md", "Refunds are issued within 14 days"),
        ("My order arrived broken, what should I do?", "refunds.md", "If an item arrives broken"),
        ("I forgot my password", "account.txt", "To reset your password"),
        ("How do I turn on two-factor authentication?", "account.txt", "Two-factor authentication"),
        ("Do you deliver to Italy?", "shipping.md", "We ship to Germany, France and Italy"),
        ("What does express shipping cost?", "shipping.md", "Express shipping costs 9 euros"),
    ],
)
def test_the_best_passage_of_the_right_document_answers(
    backend: KnowledgeBackend, question: str, document: str, passage_start: str
) -> None:
    reply = backend.answer(ask(question))

    lead, best, *_ = reply.split("\n\n")
    assert lead == f"Here is what I found in {document}:"
    assert best.startswith(passage_start)


def test_the_reply_quotes_the_passage_whole(backend: KnowledgeBackend) -> None:
    reply = backend.answer(ask("I forgot my password"))

    assert reply == (
        "Here is what I found in account.txt:\n\n"
        'To reset your password, open Settings and choose "Reset password".\n'
        "A link is emailed to you and stays valid for one hour."
    )


@pytest.mark.parametrize("question", ["hi", "Thanks!", "What is the weather like in Lisbon today?", "?", ""])
def test_a_question_the_documents_do_not_cover_gets_the_fallback(backend: KnowledgeBackend, question: str) -> None:
    assert backend.answer(ask(question)) == DEFAULT_FALLBACK_REPLY


def test_the_fallback_reply_is_the_agents_own_when_configured() -> None:
    backend = KnowledgeBackend(KnowledgeIndex(DOCS), fallback_reply="Please call us on 0800 123 456.")

    assert backend.answer(ask("Can I bring my dog to the office?")) == "Please call us on 0800 123 456."


def test_an_agent_without_documents_or_a_question_falls_back() -> None:
    empty = KnowledgeBackend(KnowledgeIndex([]))
    backend = KnowledgeBackend(KnowledgeIndex(DOCS))

    assert empty.answer(ask("How long do refunds take?")) == DEFAULT_FALLBACK_REPLY
    assert backend.answer([ChatMessage("system", "You are Helper.")]) == DEFAULT_FALLBACK_REPLY


def test_the_last_question_counts_and_earlier_ones_help_a_follow_up(backend: KnowledgeBackend) -> None:
    switched = backend.answer(ask("How long do refunds take?", "And how do I reset my password?"))
    follow_up = backend.answer(ask("Do you ship to Germany?", "How many working days does it take?"))

    assert "account.txt" in switched.split("\n\n")[0]
    assert follow_up.split("\n\n")[1].startswith("We ship to Germany")


def test_replies_are_deterministic() -> None:
    first = KnowledgeBackend(KnowledgeIndex(DOCS)).answer(ask("refund for a broken item"))
    again = KnowledgeBackend(KnowledgeIndex(DOCS)).answer(ask("refund for a broken item"))

    assert first == again


def test_a_second_passage_joins_when_it_ranks_nearly_as_well() -> None:
    docs = [
        SourceDocument("a.md", "Opening hours: the Berlin store opens at 9."),
        SourceDocument("b.md", "Opening hours: the Munich store opens at 10."),
        SourceDocument("c.md", "Parking is free for customers."),
    ]

    reply = KnowledgeBackend(KnowledgeIndex(docs)).answer(ask("What are the store opening hours?"))

    assert reply == ("Here is what I found in a.md and b.md:\n\n"
                     "Opening hours: the Berlin store opens at 9.\n\n"
                     "Opening hours: the Munich store opens at 10.")


async def test_the_reply_streams_word_by_word_and_joins_back(backend: KnowledgeBackend) -> None:
    messages = ask("How long do refunds take?")

    deltas = [d async for d in backend.stream_reply(messages)]

    assert "".join(deltas) == backend.answer(messages)
    assert deltas[:4] == ["Here ", "is ", "what ", "I "]
    assert all(d.strip() and " " not in d.strip() for d in deltas)  # one word each
    assert len(deltas) == len(backend.answer(messages).split())


async def test_the_fallback_streams_too(backend: KnowledgeBackend) -> None:
    deltas = [d async for d in backend.stream_reply(ask("hello"))]

    assert "".join(deltas) == DEFAULT_FALLBACK_REPLY
    assert len(deltas) > 5


# ---------------------------------------------------------------- passages


def test_passages_follow_markdown_sections() -> None:
    passages = split_passages(REFUNDS)

    assert [(p.heading, p.text.split()[0]) for p in passages] == [("Refunds", "Refunds"), ("Broken items", "If")]
    assert all(p.document == "refunds.md" for p in passages)
    assert all("#" not in p.text for p in passages)


def test_long_text_is_cut_into_bounded_passages_at_sentence_ends() -> None:
    sentences = [f"Sentence number {n} talks about topic {n} at some length." for n in range(60)]
    document = SourceDocument("long.txt", " ".join(sentences) + "\n\n" + "x" * 2000)

    passages = split_passages(document, max_chars=300)

    assert all(len(p.text) <= 300 for p in passages)
    texts = [p.text for p in passages]
    assert all(t.endswith(".") for t in texts[:-7])  # cut at sentence ends, not mid-sentence
    assert " ".join(texts[:-7]) == " ".join(sentences)  # nothing lost, nothing repeated
    assert "".join(texts[-7:]).startswith("x" * 300)  # one endless word is still cut


def test_short_paragraphs_join_the_next_one_of_their_section() -> None:
    document = SourceDocument(
        "faq.md", "# FAQ\n\nShort one.\n\nShort two.\n\n```\ncode\n\nblock\n```\n\n# Other\n\nThree."
    )

    passages = split_passages(document)

    assert [(p.heading, p.text) for p in passages] == [
        ("FAQ", "Short one.\n\nShort two.\n\n```\ncode\n\nblock\n```"),
        ("Other", "Three."),
    ]


def test_indexes_are_cached_by_their_document_ids() -> None:
    index = KnowledgeIndex(DOCS)
    remember_index(("agt_cache", "doc_1", "doc_2"), index)

    assert cached_index(("agt_cache", "doc_1", "doc_2")) is index
    assert cached_index(("agt_cache", "doc_1")) is None

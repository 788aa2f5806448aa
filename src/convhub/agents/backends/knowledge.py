"""The ``knowledge`` backend: answers from the agent's own documents, with no model and no network.

It is the embedded default, so a fresh convhub can hold a useful chat with
nothing but a few text or markdown files. Documents are cut into passages
(paragraphs of bounded size within markdown sections, a very short one joined
by the next), ranked against the user's question with BM25 (``bm25s``, with
Snowball stemming and English stop words, so "refunds" finds "refund" and
"how do I" matches nothing), and the reply is a short lead-in followed by the
best passage or two, streamed word by word. A question that shares too little
with every passage gets the agent's fallback reply instead of a guess.
Everything here is deterministic: the same documents and question always give
the same reply.

Indexes are cached by the ids of the documents they were built from: documents
are never edited, only added or removed, so the id set identifies the content.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s  # type: ignore[import-untyped]
import numpy as np
import Stemmer  # type: ignore[import-not-found]
from bm25s.stopwords import STOPWORDS_EN_PLUS  # type: ignore[import-untyped]

from convhub.agents.backends.base import ChatMessage

DEFAULT_FALLBACK_REPLY = (
    "Sorry, I couldn't find anything about that in the documents I have. "
    "Could you rephrase the question, or ask about something else?"
)
MAX_PASSAGE_CHARS = 700
# A paragraph shorter than this (a list item, a one-liner) says too little alone: it takes the next one along.
MIN_PASSAGE_CHARS = 100
MAX_PASSAGES = 2
# A second passage joins the reply only when it ranks nearly as well as the best one.
SECOND_PASSAGE_RATIO = 0.9
# Earlier user messages help rank a follow-up ("and to Germany?") but weigh less than the question itself.
CONTEXT_WEIGHT = 0.5
CONTEXT_MESSAGES = 2
CACHE_SIZE = 64

# bm25s's English list (NLTK's) plus what people type around a question without it carrying meaning.
_CHAT_STOPWORDS = ("please", "tell", "could", "would", "can", "may", "might", "must", "shall", "also", "get",
                   "want", "need", "know", "like", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "yes",
                   "yeah", "hmm", "let", "us", "one")
STOPWORDS: list[str] = sorted({*STOPWORDS_EN_PLUS, *_CHAT_STOPWORDS})

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True, slots=True)
class Passage:
    document: str  # the document's name, for the reply's lead-in
    heading: str  # the markdown section it sits in ("" before any heading)
    text: str


@dataclass(frozen=True, slots=True)
class SourceDocument:
    name: str
    content: str


# ---------------------------------------------------------------- splitting


def _blocks(content: str) -> list[tuple[int, str, str]]:
    """(section number, heading, block) triples: paragraphs split at blank lines, code fences kept whole."""
    blocks: list[tuple[int, str, str]] = []
    section, heading = 0, ""
    lines: list[str] = []
    fenced = False

    def close() -> None:
        text = "\n".join(lines).strip()
        if text:
            blocks.append((section, heading, text))
        lines.clear()

    for line in content.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fenced:
            lines.append(line)
            if _FENCE.match(line):
                fenced = False
                close()
            continue
        if _FENCE.match(line):
            close()
            lines.append(line)
            fenced = True
        elif match := _HEADING.match(line):
            close()
            section, heading = section + 1, match.group(2)
        elif not line.strip() or _RULE.match(line):
            close()
        else:
            lines.append(line)
    close()
    return blocks


def _pieces(text: str, limit: int) -> list[str]:
    """``text`` cut at sentence ends (at spaces when a sentence alone is too long) into pieces ≤ ``limit``."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if len(sentence) <= limit:
            pieces.append(sentence)
            continue
        # A word longer than a passage (a URL, a hash) is cut into passage-sized chunks.
        chunks = [word[i:i + limit] for word in sentence.split() for i in range(0, len(word), limit)]
        pieces.extend(_pack(chunks, limit, " "))
    return _pack(pieces, limit, " ")


def _pack(pieces: Sequence[str], limit: int, joiner: str) -> list[str]:
    """Consecutive pieces joined while the result stays within ``limit``."""
    packed: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(joiner) + len(piece) > limit:
            packed.append(current)
            current = piece
        else:
            current = f"{current}{joiner}{piece}" if current else piece
    if current:
        packed.append(current)
    return packed


def split_passages(document: SourceDocument, max_chars: int = MAX_PASSAGE_CHARS) -> list[Passage]:
    """The document's passages: a paragraph each, never longer than ``max_chars`` (long ones are cut at
    sentence ends), a short one joined by the next of its section, none across a heading."""
    passages: list[Passage] = []
    for (_, heading), blocks in itertools.groupby(_blocks(document.content), key=lambda b: (b[0], b[1])):
        current = ""
        for piece in (p for _, _, block in blocks for p in _pieces(block, max_chars)):
            if current and len(current) < MIN_PASSAGE_CHARS and len(current) + 2 + len(piece) <= max_chars:
                current = f"{current}\n\n{piece}"
                continue
            if current:
                passages.append(Passage(document.name, heading, current))
            current = piece
        if current:
            passages.append(Passage(document.name, heading, current))
    return passages


# ---------------------------------------------------------------- ranking


_stemmer = Stemmer.Stemmer("english")
_stem_lock = threading.Lock()  # a PyStemmer object is not safe to share between threads


def _stem(words: list[str]) -> list[str]:
    with _stem_lock:
        stemmed: list[str] = _stemmer.stemWords(words)
    return stemmed


def terms(texts: list[str]) -> list[list[str]]:
    """Each text's search terms: lower-cased words of two or more characters, stop words out, stemmed."""
    tokenized: list[list[str]] = bm25s.tokenize(
        texts, stopwords=STOPWORDS, stemmer=_stem, return_ids=False, show_progress=False
    )
    return tokenized


class KnowledgeIndex:
    """The passages of a set of documents and their BM25 index."""

    def __init__(self, documents: Sequence[SourceDocument], max_passage_chars: int = MAX_PASSAGE_CHARS) -> None:
        self.passages = [p for d in documents for p in split_passages(d, max_passage_chars)]
        tokens = terms([f"{p.heading}\n{p.text}" for p in self.passages])
        self.passage_terms = [set(t) for t in tokens]
        self._retriever: Any = None
        if self.passages:
            self._retriever = bm25s.BM25()
            self._retriever.index(tokens, show_progress=False)

    def scores(self, query: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """BM25 score of every passage for the query terms (terms no passage has are ignored)."""
        if self._retriever is None:
            return np.zeros(len(self.passages))
        vocabulary = self._retriever.vocab_dict
        known = [term for term in query if term in vocabulary]
        if not known:
            return np.zeros(len(self.passages))
        return np.asarray(self._retriever.get_scores(known), dtype=np.float64)


_cache: OrderedDict[tuple[str, ...], KnowledgeIndex] = OrderedDict()
_cache_lock = threading.Lock()


def cached_index(key: tuple[str, ...]) -> KnowledgeIndex | None:
    """The index built earlier for these document ids, if it is still cached."""
    with _cache_lock:
        index = _cache.get(key)
        if index is not None:
            _cache.move_to_end(key)
        return index


def remember_index(key: tuple[str, ...], index: KnowledgeIndex) -> None:
    with _cache_lock:
        _cache[key] = index
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


# ---------------------------------------------------------------- the backend


def words(reply: str) -> list[str]:
    """The reply as stream deltas: each word with the whitespace after it, so they join back to the reply."""
    return _WORD.findall(reply)


class KnowledgeBackend:
    """Replies from the best matching passages of the agent's documents, or the fallback reply."""

    def __init__(
        self,
        index: KnowledgeIndex,
        *,
        fallback_reply: str | None = None,
        min_score: float = 0.0,
        min_coverage: float = 0.3,
        delay_secs: float = 0.0,
    ) -> None:
        """``min_score``: the BM25 score a passage must exceed; ``min_coverage``: the share of the
        question's terms it must contain. Either failing for every passage gives the fallback reply."""
        self.index = index
        self.fallback_reply = fallback_reply or DEFAULT_FALLBACK_REPLY
        self.min_score = min_score
        self.min_coverage = min_coverage
        self.delay_secs = delay_secs

    def answer(self, messages: Sequence[ChatMessage]) -> str:
        """The whole reply to the conversation's last user message."""
        asked = [m.content for m in messages if m.role == "user"]
        if not asked or not self.index.passages:
            return self.fallback_reply
        question, *context = terms([asked[-1], *asked[-1 - CONTEXT_MESSAGES:-1]])
        wanted = set(question)
        if not wanted:
            return self.fallback_reply
        earlier = [t for ts in context for t in ts if t not in wanted]
        direct = self.index.scores(question)
        ranked = direct + CONTEXT_WEIGHT * self.index.scores(earlier) if earlier else direct

        def relevant(i: int) -> bool:
            covered = len(wanted & self.index.passage_terms[i]) / len(wanted)
            return bool(direct[i] > self.min_score) and covered >= self.min_coverage

        # Stable order on ties: the earlier passage (document order) wins, so replies are deterministic.
        order = sorted(range(len(self.index.passages)), key=lambda i: (-float(ranked[i]), i))
        chosen = [i for i in order if relevant(i)][:MAX_PASSAGES]
        if not chosen:
            return self.fallback_reply
        best = float(ranked[chosen[0]])
        chosen = [chosen[0], *(i for i in chosen[1:] if float(ranked[i]) >= SECOND_PASSAGE_RATIO * best)]
        return self._compose([self.index.passages[i] for i in chosen])

    @staticmethod
    def _compose(passages: list[Passage]) -> str:
        names = list(dict.fromkeys(p.document for p in passages))
        lead = f"Here is what I found in {' and '.join(names)}:"
        return "\n\n".join([lead, *(p.text for p in passages)])

    async def stream_reply(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        for delta in words(self.answer(messages)):
            yield delta
            # Let other conversations run between words; no real wait unless configured.
            await asyncio.sleep(self.delay_secs)

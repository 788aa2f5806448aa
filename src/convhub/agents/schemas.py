"""Pydantic models of ``/v1/agents``: what a client may send and what it gets back.

A native agent has a backend (``knowledge`` or ``openai``) whose settings are
flat fields here and live in the agent's ``config`` JSON in the database. Which
fields apply depends on the backend, and sending one that does not apply is an
error rather than silently ignored. The ``openai`` key goes in and never comes
out: :class:`AgentRead` says only whether one is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from convhub.agents.documents import MAX_NAME_CHARS
from convhub.kit.validation import http_url, no_nul, non_blank, printable

Backend = Literal["knowledge", "openai"]
BACKENDS: tuple[str, ...] = ("knowledge", "openai")

MIN_CONTEXT_BUDGET = 200
MAX_CONTEXT_BUDGET = 1_000_000
MAX_PROMPT_CHARS = 20_000
MAX_REPLY_CHARS = 4000
MAX_SECRET = 2000

# Fields by the backend they configure; the rest (name, public) apply to every native agent.
COMMON_FIELDS = ("system_prompt", "context_budget_chars")
BACKEND_FIELDS: dict[str, tuple[str, ...]] = {
    "knowledge": ("fallback_reply",),
    "openai": ("base_url", "model", "api_key", "temperature", "max_tokens"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {"knowledge": (), "openai": ("base_url", "model")}


Name = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(non_blank), AfterValidator(printable)]
Prompt = Annotated[str, Field(max_length=MAX_PROMPT_CHARS), AfterValidator(non_blank), AfterValidator(no_nul)]
Reply = Annotated[str, Field(max_length=MAX_REPLY_CHARS), AfterValidator(non_blank), AfterValidator(no_nul)]
Budget = Annotated[int, Field(ge=MIN_CONTEXT_BUDGET, le=MAX_CONTEXT_BUDGET)]
BaseUrl = Annotated[str, Field(max_length=500), AfterValidator(http_url("http://localhost:11434/v1"))]
Model = Annotated[str, Field(max_length=200), AfterValidator(non_blank), AfterValidator(printable)]
Secret = Annotated[str, Field(max_length=MAX_SECRET), AfterValidator(non_blank), AfterValidator(printable)]
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
MaxTokens = Annotated[int, Field(ge=1, le=1_000_000)]

_DESCRIPTIONS = {
    "system_prompt": "What the agent is told before every conversation; null: a short default naming the agent.",
    "context_budget_chars": "How many characters of recent history the agent sees (the newest turns that fit; "
    "the user's last message always). Null: 8000.",
    "fallback_reply": "knowledge only: the reply when no passage of the documents matches; null: a default.",
    "base_url": "openai only: the endpoint's base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 "
    "(requests go to {base_url}/chat/completions).",
    "model": "openai only: the model name the endpoint knows, e.g. gpt-4o-mini or llama3.1.",
    "api_key": "openai only: sent as a bearer token. Stored encrypted; never returned.",
    "temperature": "openai only: sampling temperature, 0 to 2; null: the endpoint's default.",
    "max_tokens": "openai only: the longest reply in tokens; null: the endpoint's default.",
}


def kind(backend: str) -> str:
    """Article and backend, for messages: "a knowledge agent", "an openai agent"."""
    return f"{'an' if backend[:1] in 'aeiou' else 'a'} {backend} agent"


def missing_message(backend: str, fields: list[str]) -> str:
    return f"{kind(backend)} needs {' and '.join(fields)}"


def misplaced_fields(backend: str, sent: set[str]) -> list[str]:
    """The fields in ``sent`` that configure another backend than ``backend``."""
    return sorted(f for other, fields in BACKEND_FIELDS.items() if other != backend for f in fields if f in sent)


def misplaced_message(backend: str, fields: list[str]) -> str:
    owner = {f: other for other, owned in BACKEND_FIELDS.items() for f in owned}
    listed = ", ".join(f"{f} ({owner[f]} agents only)" for f in fields)
    return f"not used by {kind(backend)}: {listed}"


class AgentCreate(BaseModel):
    """A native agent convhub runs. ``openai`` agents need ``base_url`` and ``model``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    backend: Backend = Field("knowledge", description="knowledge: answers from its documents, no model needed; "
                             "openai: any OpenAI-compatible chat completions endpoint.")
    public: bool = Field(False, description="Anyone may open a realtime conversation with it, without a signed URL.")
    system_prompt: Prompt | None = Field(None, description=_DESCRIPTIONS["system_prompt"])
    context_budget_chars: Budget | None = Field(None, description=_DESCRIPTIONS["context_budget_chars"])
    fallback_reply: Reply | None = Field(None, description=_DESCRIPTIONS["fallback_reply"])
    base_url: BaseUrl | None = Field(None, description=_DESCRIPTIONS["base_url"])
    model: Model | None = Field(None, description=_DESCRIPTIONS["model"])
    api_key: Secret | None = Field(None, description=_DESCRIPTIONS["api_key"])
    temperature: Temperature | None = Field(None, description=_DESCRIPTIONS["temperature"])
    max_tokens: MaxTokens | None = Field(None, description=_DESCRIPTIONS["max_tokens"])

    @model_validator(mode="after")
    def _fits_backend(self) -> AgentCreate:
        sent = {f for f in self.model_fields_set if getattr(self, f) is not None}
        if wrong := misplaced_fields(self.backend, sent):
            raise ValueError(misplaced_message(self.backend, wrong))
        missing = [f for f in REQUIRED_FIELDS[self.backend] if f not in sent]
        if missing:
            raise ValueError(missing_message(self.backend, missing))
        return self


class AgentUpdate(BaseModel):
    """PATCH body: only the fields sent change; ``null`` restores a default or removes the key.

    Changing ``backend`` drops the settings of the old one (documents stay); an
    ``openai`` agent must end up with ``base_url`` and ``model``.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    backend: Backend | None = None
    public: bool | None = None
    system_prompt: Prompt | None = Field(None, description=_DESCRIPTIONS["system_prompt"])
    context_budget_chars: Budget | None = Field(None, description=_DESCRIPTIONS["context_budget_chars"])
    fallback_reply: Reply | None = Field(None, description=_DESCRIPTIONS["fallback_reply"])
    base_url: BaseUrl | None = Field(None, description=_DESCRIPTIONS["base_url"])
    model: Model | None = Field(None, description=_DESCRIPTIONS["model"])
    api_key: Secret | None = Field(None, description=_DESCRIPTIONS["api_key"])
    temperature: Temperature | None = Field(None, description=_DESCRIPTIONS["temperature"])
    max_tokens: MaxTokens | None = Field(None, description=_DESCRIPTIONS["max_tokens"])

    @field_validator("name", "backend", "public", "base_url", "model")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Defaults are not validated, so None here was sent explicitly.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its current value")
        return value


class AgentRead(BaseModel):
    id: str
    name: str
    provider: str = Field(description='"convhub" for agents convhub runs; otherwise the provider it mirrors.')
    provider_agent_id: str | None = Field(description="The agent's id at its provider (mirrors only).")
    backend: str | None = Field(description="knowledge or openai; null for a provider's agent.")
    public: bool
    system_prompt: str | None
    context_budget_chars: int | None = Field(description="Null: the default, 8000 (null for mirrors).")
    fallback_reply: str | None
    base_url: str | None
    model: str | None
    has_api_key: bool
    temperature: float | None
    max_tokens: int | None
    document_count: int
    created_at: datetime
    updated_at: datetime


class AgentPage(BaseModel):
    data: list[AgentRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    has_more: bool


class DocumentCreate(BaseModel):
    """A text or markdown document for a knowledge agent, sent as JSON."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="How the document is called in replies, e.g. refunds.md.")
    content: str = Field(description="The text (UTF-8, markdown welcome), at most 2 MB.")


class DocumentRead(BaseModel):
    id: str
    agent_id: str
    name: str
    chars: int = Field(description="The document's length in characters.")
    preview: str = Field(description="The document's first characters.")
    created_at: datetime


class DocumentList(BaseModel):
    data: list[DocumentRead]

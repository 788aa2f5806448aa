"""The convhub Python SDK.

    from convhub.client import Client, NotFoundError

    with Client() as client:  # CONVHUB_API_KEY / CONVHUB_BASE_URL from the environment
        for conversation in client.conversations.list(call_successful="success"):
            print(conversation.id, conversation.duration_secs)

        chat = client.conversations.create(agent_id)
        with client.messages.stream(chat.id, "Hello!") as reply:
            for delta in reply:
                print(delta.content, end="", flush=True)

Needs only httpx and pydantic; it never imports the server.
"""

from ._agents import AgentFields, Agents, AsyncAgents, DocumentSource
from ._client import AsyncClient, Client
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ._events import AsyncEvents, AsyncEventStream, Events, EventStream
from ._messages import AsyncMessages, AsyncMessageStream, Messages, MessageStream
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from ._resources import AsyncConversations, ConversationFilters, Conversations
from .types import (
    Agent,
    ChatConversation,
    Conversation,
    ConversationAnalytics,
    ConversationDetail,
    ConversationFlow,
    DataCollection,
    Document,
    EvaluationResult,
    Event,
    Feedback,
    Message,
    MessageDelta,
    MessageStatistics,
    QualityMetrics,
    StreamDone,
    Turn,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentFields",
    "Agents",
    "AsyncAgents",
    "AsyncClient",
    "AsyncConversations",
    "AsyncEventStream",
    "AsyncEvents",
    "AsyncMessageStream",
    "AsyncMessages",
    "AsyncPage",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "ChatConversation",
    "Client",
    "ConflictError",
    "Conversation",
    "ConversationAnalytics",
    "ConversationDetail",
    "ConversationFilters",
    "ConversationFlow",
    "Conversations",
    "DataCollection",
    "Document",
    "DocumentSource",
    "EvaluationResult",
    "Event",
    "EventStream",
    "Events",
    "Feedback",
    "InternalServerError",
    "Message",
    "MessageDelta",
    "MessageStatistics",
    "MessageStream",
    "Messages",
    "NotFoundError",
    "PermissionDeniedError",
    "QualityMetrics",
    "RateLimitError",
    "StreamDone",
    "SyncPage",
    "Turn",
    "UnprocessableEntityError",
]

"""The convhub Python SDK.

    from convhub.client import Client, NotFoundError

    with Client() as client:  # CONVHUB_API_KEY / CONVHUB_BASE_URL from the environment
        for conversation in client.conversations.list(call_successful="success"):
            print(conversation.id, conversation.duration_secs)

Needs only httpx and pydantic; it never imports the server.
"""

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
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from ._resources import AsyncConversations, ConversationFilters, Conversations
from .types import Conversation, ConversationDetail, DataCollection, EvaluationResult, Feedback, Turn

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncConversations",
    "AsyncPage",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Conversation",
    "ConversationDetail",
    "ConversationFilters",
    "Conversations",
    "DataCollection",
    "EvaluationResult",
    "Feedback",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SyncPage",
    "Turn",
    "UnprocessableEntityError",
]

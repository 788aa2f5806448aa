"""Every ORM model, imported here so the metadata is complete for migrations."""

from convhub.models.agent import NATIVE, Agent, AgentDocument
from convhub.models.audit import AuditLog
from convhub.models.base import Base
from convhub.models.conversation import Conversation, DataCollectionValue, EvaluationResult, ToolUsage, Turn
from convhub.models.provider import ProviderConnection, SyncFailure, SyncFingerprint, SyncRun, WebhookEvent
from convhub.models.workspace import ApiKey, Workspace

__all__ = [
    "NATIVE",
    "Agent",
    "AgentDocument",
    "ApiKey",
    "AuditLog",
    "Base",
    "Conversation",
    "DataCollectionValue",
    "EvaluationResult",
    "ProviderConnection",
    "SyncFailure",
    "SyncFingerprint",
    "SyncRun",
    "ToolUsage",
    "Turn",
    "WebhookEvent",
    "Workspace",
]

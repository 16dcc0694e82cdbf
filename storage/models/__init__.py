"""Typed SQLAlchemy models, one per module, re-exported here."""

from storage.models._agent import Agent
from storage.models._base import (
    OPEN_STATUSES,
    AuthorKind,
    Base,
    ConversationStatus,
    Direction,
    HandoffReason,
    HandoffStatus,
    JobStatus,
    OutboxStatus,
    Resolution,
    SurveyStatus,
    utcnow,
)
from storage.models._conversation import Conversation
from storage.models._customer import Customer
from storage.models._handoff import Handoff
from storage.models._job import Job
from storage.models._message import Message
from storage.models._outbox import OutboxItem
from storage.models._processed_event import ProcessedEvent
from storage.models._survey import Survey

__all__ = [
    "OPEN_STATUSES",
    "Agent",
    "AuthorKind",
    "Base",
    "Conversation",
    "ConversationStatus",
    "Customer",
    "Direction",
    "Handoff",
    "HandoffReason",
    "HandoffStatus",
    "Job",
    "JobStatus",
    "Message",
    "OutboxItem",
    "OutboxStatus",
    "ProcessedEvent",
    "Resolution",
    "Survey",
    "SurveyStatus",
    "utcnow",
]

"""Request and response bodies of the management API (wire-compatible with the
open-source Svix server; see ``base`` for the wire rules every model follows).

Everything is re-exported here: ``from hookgate.api.schemas import EndpointIn``.
Responses must be dumped with ``model_dump(mode="json", by_alias=True)`` and
without ``exclude_none``.
"""

from hookgate.api.schemas.application import ApplicationIn, ApplicationOut, ApplicationPatch
from hookgate.api.schemas.attempt import EndpointMessageOut, MessageAttemptOut, MessageEndpointOut
from hookgate.api.schemas.auth import (
    ApplicationTokenExpireIn,
    AppPortalAccessIn,
    AppPortalAccessOut,
)
from hookgate.api.schemas.common import (
    EmptyResponse,
    HttpErrorOut,
    HTTPValidationError,
    ListResponse,
    ValidationErrorItem,
)
from hookgate.api.schemas.endpoint import (
    EndpointHeadersIn,
    EndpointHeadersOut,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointSecretOut,
    EndpointSecretRotateIn,
    EndpointStats,
    EndpointUpdate,
    RecoverIn,
    RecoverOut,
)
from hookgate.api.schemas.enums import (
    BackgroundTaskStatus,
    BackgroundTaskType,
    MessageAttemptTriggerType,
    MessageStatus,
    MessageStatusText,
    Ordering,
    StatusCodeClass,
)
from hookgate.api.schemas.event_type import (
    EventExampleIn,
    EventTypeIn,
    EventTypeOut,
    EventTypePatch,
    EventTypeUpdate,
)
from hookgate.api.schemas.ingest import (
    InboundRequestOut,
    IngestSourceOut,
    ReplayOut,
    RotateTokenOut,
)
from hookgate.api.schemas.message import MessageIn, MessageOut

__all__ = [
    "AppPortalAccessIn",
    "AppPortalAccessOut",
    "ApplicationIn",
    "ApplicationOut",
    "ApplicationPatch",
    "ApplicationTokenExpireIn",
    "BackgroundTaskStatus",
    "BackgroundTaskType",
    "EmptyResponse",
    "EndpointHeadersIn",
    "EndpointHeadersOut",
    "EndpointHeadersPatchIn",
    "EndpointIn",
    "EndpointMessageOut",
    "EndpointOut",
    "EndpointPatch",
    "EndpointSecretOut",
    "EndpointSecretRotateIn",
    "EndpointStats",
    "EndpointUpdate",
    "EventExampleIn",
    "EventTypeIn",
    "EventTypeOut",
    "EventTypePatch",
    "EventTypeUpdate",
    "HTTPValidationError",
    "HttpErrorOut",
    "InboundRequestOut",
    "IngestSourceOut",
    "ListResponse",
    "MessageAttemptOut",
    "MessageAttemptTriggerType",
    "MessageEndpointOut",
    "MessageIn",
    "MessageOut",
    "MessageStatus",
    "MessageStatusText",
    "Ordering",
    "RecoverIn",
    "RecoverOut",
    "ReplayOut",
    "RotateTokenOut",
    "StatusCodeClass",
    "ValidationErrorItem",
]

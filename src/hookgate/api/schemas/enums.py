"""Enumerations used on the wire.

Integer enums (``MessageStatus``, ``MessageAttemptTriggerType``,
``StatusCodeClass``) serialize as numbers, string enums as their values.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class MessageStatus(IntEnum):
    """Delivery status of a message to an endpoint, or of one attempt."""

    SUCCESS = 0
    PENDING = 1
    FAIL = 2
    SENDING = 3

    @property
    def text(self) -> MessageStatusText:
        """The matching ``statusText`` value."""
        return MessageStatusText[self.name]


class MessageStatusText(StrEnum):
    """``MessageStatus`` spelled out, sent next to it as ``statusText``."""

    SUCCESS = "success"
    PENDING = "pending"
    FAIL = "fail"
    SENDING = "sending"


class MessageAttemptTriggerType(IntEnum):
    """Why an attempt was made: by the retry schedule or by a manual resend."""

    SCHEDULED = 0
    MANUAL = 1


class StatusCodeClass(IntEnum):
    """Class of the HTTP status an attempt got (0 when there was no response)."""

    CODE_NONE = 0
    CODE_1XX = 100
    CODE_2XX = 200
    CODE_3XX = 300
    CODE_4XX = 400
    CODE_5XX = 500


class Ordering(StrEnum):
    """Sort order of a listing."""

    ASCENDING = "ascending"
    DESCENDING = "descending"


class BackgroundTaskStatus(StrEnum):
    """State of a background task. The OSS doc lists only ``running``; the SDK
    also knows ``finished`` and ``failed``."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class BackgroundTaskType(StrEnum):
    """Kind of background task."""

    ENDPOINT_RECOVER = "endpoint.recover"

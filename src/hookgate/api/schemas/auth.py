"""Consumer app portal access (``/api/v1/auth/...``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt

from hookgate.api.schemas.application import ApplicationIn
from hookgate.api.schemas.base import FeatureFlags, RequestModel, ResponseModel, null_means
from hookgate.core.portal import DEFAULT_EXPIRY_S, MIN_EXPIRY_S, Capability


class AppPortalAccessIn(RequestModel):
    """Request for a portal login link; ``application``, when given, creates
    the application if it does not exist yet."""

    application: ApplicationIn | None = None
    feature_flags: Annotated[FeatureFlags, null_means(list)] = Field(default_factory=list)
    #: The portal shows everything and changes nothing.
    read_only: StrictBool | None = None
    #: What the portal may do; all capabilities when omitted (``ViewBase`` is always granted).
    capabilities: list[Capability] | None = None
    #: Seconds the link (and the portal sessions opened with it) stay valid.
    expiry: StrictInt | None = Field(None, ge=MIN_EXPIRY_S, le=DEFAULT_EXPIRY_S)
    #: A label ``expire-all`` can select this token by.
    session_id: str | None = Field(None, max_length=256)


class AppPortalAccessOut(ResponseModel):
    """A portal login link (``url``) and the token embedded in it."""

    url: str
    token: str


class ApplicationTokenExpireIn(RequestModel):
    """Expire the application's portal tokens (all of them, or those made with
    one of ``session_ids``) in ``expiry`` seconds (now when omitted)."""

    expiry: StrictInt | None = Field(None, ge=0, le=DEFAULT_EXPIRY_S)
    session_ids: list[str] | None = None

"""Consumer app portal access (``POST /api/v1/auth/app-portal-access/{app_id}/``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hookgate.api.schemas.application import ApplicationIn
from hookgate.api.schemas.base import FeatureFlags, RequestModel, ResponseModel, null_means


class AppPortalAccessIn(RequestModel):
    """Request for a portal login link; ``application``, when given, creates
    the application if it does not exist yet."""

    application: ApplicationIn | None = None
    feature_flags: Annotated[FeatureFlags, null_means(list)] = Field(default_factory=list)


class AppPortalAccessOut(ResponseModel):
    """A portal login link (``url``) and the token embedded in it."""

    url: str
    token: str

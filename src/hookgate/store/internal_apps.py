"""Internal applications: applications Hookgate keeps for itself, which no
customer's id or uid can name (only code holds an ``Internal`` reference)."""

from __future__ import annotations

from dataclasses import dataclass

#: The internal application whose endpoints are the operational webhook
#: endpoints (``store.operational``). No customer-facing lookup finds it.
OPERATIONAL_APP_ID = "app_hookgate_operational"


@dataclass(frozen=True, slots=True)
class Internal:
    """A reference to an internal application, which only code (never a
    customer's id or uid) can make."""

    id: str


OPERATIONAL = Internal(OPERATIONAL_APP_ID)

#: How store functions name an application: a customer's id or uid, or an
#: internal application.
AppRef = str | Internal

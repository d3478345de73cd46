"""Verifying inbound webhooks: provider schemes as data, one pure engine.

::

    VerificationError                     every rejection (never carries a secret)
     ├── MissingHeader(name)              a required header is absent or empty
     ├── MalformedHeader(name, why)       a header is present but cannot be parsed
     ├── MalformedBody(why)               the body cannot be looked into (JSON too deep)
     ├── BadSignature                     no signature matches any configured secret
     ├── StaleTimestamp(age, tolerance)   authentic, but outside the freshness window
     └── WrongCredentials                 shared token / Basic / bearer does not match

``verify(PRESETS["github"], body=..., headers=..., secrets=[...], now=time.time())``
returns a ``Verified`` or raises one of the above. No I/O; stdlib plus
``cryptography`` for Ed25519 (Telnyx).

``decide`` (``decide.py``) is the receive core on top of it, shared by the
toolkit (``hookgate.receive``) and the server (``/in``): verify, locate the
event id and type, spot Slack's ``url_verification``, and map every failure
to one status and code (``Accepted`` / ``Challenge`` / ``Refused``).
"""

from .decide import Accepted, Challenge, Decision, Refused, Reply, decide, examine, refusal
from .engine import Verified, locate, verify
from .errors import (
    BadSignature,
    MalformedBody,
    MalformedHeader,
    MissingHeader,
    StaleTimestamp,
    VerificationError,
    WrongCredentials,
)
from .presets import PRESETS, generic_hmac, token_scheme
from .scheme import (
    Algorithm,
    Encoding,
    FromHeader,
    FromJson,
    KeyFormat,
    Locator,
    Method,
    Scheme,
    SignatureFormat,
)

__all__ = [
    "PRESETS",
    "Accepted",
    "Algorithm",
    "BadSignature",
    "Challenge",
    "Decision",
    "Encoding",
    "FromHeader",
    "FromJson",
    "KeyFormat",
    "Locator",
    "MalformedBody",
    "MalformedHeader",
    "Method",
    "MissingHeader",
    "Refused",
    "Reply",
    "Scheme",
    "SignatureFormat",
    "StaleTimestamp",
    "VerificationError",
    "Verified",
    "WrongCredentials",
    "decide",
    "examine",
    "generic_hmac",
    "locate",
    "refusal",
    "token_scheme",
    "verify",
]

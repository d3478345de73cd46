"""Why an inbound request was rejected: one exception hierarchy.

::

    VerificationError                     every rejection (never carries a secret)
     ├── MissingHeader(name)              a required header is absent or empty
     ├── MalformedHeader(name, why)       a header is present but cannot be parsed
     ├── MalformedBody(why)               the body cannot be looked into (JSON too deep)
     ├── BadSignature                     no signature matches any configured secret
     ├── StaleTimestamp(age, tolerance)   authentic, but outside the freshness window
     └── WrongCredentials                 shared token / Basic / bearer does not match

Messages say exactly what is wrong and name the header involved; they never
include a secret, an expected signature or a received credential, so they are
safe to log and to return to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence


class VerificationError(Exception):
    """The request is not proven to come from the provider."""


class MissingHeader(VerificationError):
    """A header the scheme needs is absent (or empty).

    ``name`` is the header looked for; ``alternatives`` any other headers that
    would also have been accepted (e.g. the legacy ``X-Hub-Signature``).
    """

    def __init__(self, name: str, alternatives: Sequence[str] = ()) -> None:
        self.name = name
        self.alternatives = tuple(alternatives)
        others = "".join(f" or {alt}" for alt in self.alternatives)
        super().__init__(f"missing header {name}{others}")


class MalformedHeader(VerificationError):
    """A header is present but its value cannot be parsed; ``why`` says how."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        self.why = why
        super().__init__(f"malformed header {name}: {why}")


class MalformedBody(VerificationError):
    """The body must be read (for an event id or type) but cannot be: it is
    JSON nested deeper than ``core.jsondepth.MAX_DEPTH``; ``why`` says so."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"malformed body: {why}")


class BadSignature(VerificationError):
    """The signature(s) parsed fine but none matches the body under any secret."""


class StaleTimestamp(VerificationError):
    """The signature is valid but the timestamp is outside the tolerance.

    ``age`` is ``now - timestamp`` in seconds: positive when the request is
    too old (a replay), negative when it claims to come from the future.
    """

    def __init__(self, age: float, tolerance: float) -> None:
        self.age = age
        self.tolerance = tolerance
        when = f"signed {age:.0f} s ago" if age >= 0 else f"signed {-age:.0f} s in the future"
        super().__init__(f"timestamp outside the tolerance: {when}, tolerance {tolerance:g} s")


class WrongCredentials(VerificationError):
    """A shared token, bearer token or Basic credential matches no secret."""

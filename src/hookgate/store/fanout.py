"""An in-process cache of what message fan-out reads in every accept batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from hookgate.store.records import Endpoint


@dataclass(slots=True)
class FanoutCache:
    """Application ids by reference (id or uid; None = no such application)
    and enabled endpoints by application id, valid for one configuration
    generation of the database."""

    generation: int = -1
    app_ids: dict[str, str | None] = field(default_factory=dict)
    endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)

    def sync(self, generation: int) -> None:
        """Forget everything if the configuration changed since it was filled."""
        if generation != self.generation:
            self.app_ids.clear()
            self.endpoints.clear()
            self.generation = generation

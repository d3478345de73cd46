"""How many deliveries of one endpoint the engine's claims may leave leased:
the concurrency cap where several processes deliver, a lane's hold where
the embedded mode's one dispatcher enforces the cap itself."""

from __future__ import annotations

from pathlib import Path

from hookgate.config import Settings
from hookgate.delivery.engine import dispatch_settings, endpoint_lease_cap


def test_workers_sharing_a_database_are_capped_by_their_leases(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, endpoint_concurrency=7)
    assert endpoint_lease_cap(settings, single_process=False) == 7


def test_the_embedded_dispatcher_leases_up_to_a_lanes_hold(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, endpoint_concurrency=7)
    hold = dispatch_settings(settings).endpoint_hold
    assert hold > settings.endpoint_concurrency
    assert endpoint_lease_cap(settings, single_process=True) == hold

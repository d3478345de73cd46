"""The database gauges of ``/metrics`` (``Metrics.refresh_database_gauges``)
on SQLite and PostgreSQL: they count what the database holds, and frequent
scrapes are served from the last read instead of reading again."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hookgate.metrics import Metrics
from hookgate.store.database import Database
from tests.integration.conftest import make_app, make_endpoint


def gauges(metrics: Metrics) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
        if sample.name in ("hookgate_endpoints_disabled", "hookgate_deliveries_pending")
    }


async def test_gauges_count_the_database_and_are_reread_only_when_stale(db: Database) -> None:
    app = await make_app(db)
    await make_endpoint(db, app.id, url="https://example.com/a", disabled=True)
    cached = Metrics(state_max_age=3600)
    fresh = Metrics(state_max_age=0)

    await cached.refresh_database_gauges(db)
    await fresh.refresh_database_gauges(db)
    expected = {"hookgate_endpoints_disabled": 1.0, "hookgate_deliveries_pending": 0.0}
    assert gauges(cached) == gauges(fresh) == expected

    await make_endpoint(db, app.id, url="https://example.com/b", disabled=True)
    await cached.refresh_database_gauges(db)
    await fresh.refresh_database_gauges(db)
    assert gauges(cached)["hookgate_endpoints_disabled"] == 1  # served from the last read
    assert gauges(fresh)["hookgate_endpoints_disabled"] == 2

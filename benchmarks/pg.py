"""Throw-away PostgreSQL databases for the ``--postgres`` benchmark mode.

Every database is created fresh (``hg_bench_<random>``) from a connection to the
maintenance database ``test`` and dropped ``WITH (FORCE)`` when the block ends,
whatever happened inside it (``benchmarks.run`` turns SIGTERM/SIGINT/SIGHUP into
``SystemExit``, so those unwind through here too).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from collections.abc import Iterator

import asyncpg

from benchmarks.procs import PhaseError, cpu_seconds

HOST = "127.0.0.1"
PORT = 5432
USER = "root"
MAINTENANCE_DB = "test"


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(host=HOST, port=PORT, user=USER, database=MAINTENANCE_DB)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _backend_pids(name: str) -> list[int]:
    conn = await asyncpg.connect(host=HOST, port=PORT, user=USER, database=MAINTENANCE_DB)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def url_of(name: str) -> str:
    return f"postgresql://{USER}@{HOST}:{PORT}/{name}"


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """Create ``hg_bench_<random>``, yield its name, always drop it afterwards."""
    name = "hg_bench_" + secrets.token_hex(6)
    try:
        asyncio.run(_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise PhaseError(f"cannot create database {name} on {HOST}:{PORT}: {exc}") from exc
    try:
        yield name
    finally:
        try:
            asyncio.run(_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"[bench] could not drop database {name}: {exc}", file=sys.stderr)


def backends_cpu(name: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend now connected to ``name``
    (read from /proc; the server runs on this machine)."""
    usage: dict[int, float] = {}
    for pid in asyncio.run(_backend_pids(name)):
        with contextlib.suppress(OSError, ValueError, IndexError):
            usage[pid] = cpu_seconds(pid)
    return usage


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two ``backends_cpu`` readings (backends that exited in between
    are missed; backends that appeared count in full)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

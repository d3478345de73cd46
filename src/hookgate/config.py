"""Hookgate's settings: one object, read from ``HOOKGATE_*`` environment variables.

Everything has a default that runs the embedded single-process mode:
SQLite in ``./hookgate-data``, API and workers in one process on port 8071.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hookgate.core.endpoint_health import DEFAULT_DISABLE_AFTER_DAYS
from hookgate.core.netpolicy import IPNetwork, parse_subnets
from hookgate.core.retry import DEFAULT_RETRY_SCHEDULE, RetryPolicy, parse_schedule
from hookgate.core.secretbox import parse_keys


class Settings(BaseSettings):
    """Runtime configuration. Field ``foo_bar`` is read from ``HOOKGATE_FOO_BAR``."""

    model_config = SettingsConfigDict(env_prefix="HOOKGATE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8071, ge=0, le=65535)
    data_dir: Path = Path("./hookgate-data")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite at <data_dir>/hookgate.db"
    )
    admin_token: str | None = Field(None, description="Accept this admin API token as well")
    metrics_token: SecretStr | None = Field(
        None,
        description=(
            "Bearer token GET /metrics requires (401 without it); unset: /metrics is open."
            " The admin token is neither needed nor accepted there"
        ),
    )
    public_url: str | None = Field(None, description="Externally visible base URL")
    forwarded_allow_ips: str = Field(
        "",
        description=(
            "Proxies whose X-Forwarded-For/-Proto are believed on every route but /in"
            " (comma list of addresses or networks, '*' = all; default: none). /in"
            " requests believe only their source's trustedProxies."
        ),
    )

    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Keys encrypting stored secrets, comma-separated, newest first (new secrets use"
            " the first, reading tries all); required on PostgreSQL, generated into"
            " <data_dir>/secret.key on SQLite"
        ),
    )

    session_hours: float = Field(
        12.0, gt=0, description="Hours a dashboard login lasts (logging out ends it sooner)"
    )

    # HTTPS.
    tls_cert: FilePath | None = Field(
        None, description="PEM certificate (chain) to serve HTTPS with; needs tls_key"
    )
    tls_key: FilePath | None = Field(None, description="PEM private key of tls_cert")
    endpoint_https_only: bool = Field(
        False, description="Refuse plain-http endpoint and destination URLs (422)"
    )

    # Database (PostgreSQL).
    db_pool_size: int = Field(10, ge=1, description="Connections kept per process")
    db_statement_timeout: float = Field(
        30.0, ge=0, description="Seconds before a statement is cancelled; 0 = never"
    )

    # Delivery.
    retry_schedule: str = ",".join(f"{s:g}" for s in DEFAULT_RETRY_SCHEDULE)
    retry_jitter: float = Field(0.2, ge=0, le=1)
    allowed_subnets: str = ""
    request_timeout: float = Field(15.0, gt=0)
    max_response_bytes: int = Field(16 * 1024, ge=0)
    http_client: Literal["aiohttp", "reqwest"] = Field(
        "aiohttp",
        description=(
            "Outbound HTTP client for deliveries: aiohttp, or reqwest (pyreqwest, Rust;"
            " same address policy, caps, timeouts and error reports)"
        ),
    )
    send_in_child_process: bool | None = Field(
        None,
        description=(
            "Run deliveries' HTTP work in a process of its own next to the dispatcher"
            " (same client and rules); unset: when this process may use 2 or more CPUs"
        ),
    )
    endpoint_concurrency: int = Field(32, ge=1)
    max_in_flight: int = Field(1000, ge=1)
    lease_seconds: float = Field(60.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)
    claim_batch_size: int = Field(500, ge=1)
    slow_down_seconds: float = Field(5.0, ge=0)
    disable_after_days: float = Field(
        DEFAULT_DISABLE_AFTER_DAYS,
        ge=0,
        description=(
            "Disable an endpoint once every attempt to it has failed for this many days"
            " (no success in between); 0 = never"
        ),
    )

    # Accept path.
    max_payload_bytes: int = Field(1024 * 1024, ge=1)

    # Request heads, on every route (``api.http_limits``).
    max_header_bytes: int = Field(
        64 * 1024, ge=1024, description="Request line plus headers; longer heads get 431"
    )
    max_headers: int = Field(100, ge=1, description="Header lines; more get 431")
    header_timeout: float = Field(
        15.0, gt=0, description="Seconds to send the request head; slower clients get 408"
    )
    accept_batch_size: int = Field(1000, ge=1)
    sqlite_synchronous: str = Field("FULL", pattern="^(?i:OFF|NORMAL|FULL|EXTRA)$")

    # Inbound (``/in/...``).
    inbound_retention_days: float = Field(
        30.0, ge=0, description="Days received requests are kept; 0 = forever"
    )

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())
        return value

    @field_validator("allowed_subnets")
    @classmethod
    def _check_subnets(cls, value: str) -> str:
        parse_subnets(value)
        return value

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(schedule=parse_schedule(self.retry_schedule), jitter=self.retry_jitter)

    @cached_property
    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        return parse_subnets(self.allowed_subnets)

    @property
    def sends_in_child_process(self) -> bool:
        """Whether deliveries' HTTP work runs in a child process: as set, or
        else when this process may run on more than one CPU (the dispatcher's
        event loop then has the sending off its core)."""
        if self.send_in_child_process is not None:
            return self.send_in_child_process
        return len(os.sched_getaffinity(0)) > 1

    @property
    def resolved_database_url(self) -> str:
        """The database URL in SQLAlchemy async form."""
        if self.database_url:
            return to_async_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hookgate.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def to_async_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``sqlite:///`` URLs and pick the async driver."""
    for plain, asynchronous in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return asynchronous + url[len(plain) :]
    return url

"""The ``hookgate`` command line."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import ssl
from pathlib import Path
from typing import IO, Annotated

import typer

from hookgate.cli import bins as bins_cli
from hookgate.cli import listen as listen_cli
from hookgate.cli import secrets as secrets_cli
from hookgate.cli import send as send_cli
from hookgate.cli import sources as source_cli
from hookgate.cli import tail as tail_cli
from hookgate.cli import tokens as token_cli
from hookgate.cli import trigger as trigger_cli
from hookgate.cli import verify as verify_cli
from hookgate.cli.common import console, err_console, run_with_database, settings_from
from hookgate.config import Settings
from hookgate.core.clock import now_ms
from hookgate.delivery.engine import Engine
from hookgate.store import tokens
from hookgate.store.database import Database, display_url
from hookgate.store.secret_key import secure_sqlite_files

app = typer.Typer(
    name="hookgate",
    help="Hookgate: a self-hosted webhook gateway. Send, receive and debug webhooks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
token_app.command("list")(token_cli.token_list)
token_app.command("revoke")(token_cli.token_revoke)
app.add_typer(source_cli.app, name="source")
app.add_typer(bins_cli.app, name="bin")
app.add_typer(secrets_cli.app, name="secrets")
app.command("trigger")(trigger_cli.trigger)
app.command("send")(send_cli.send)
app.command("verify")(verify_cli.verify_command)
app.command("tail")(tail_cli.tail)
app.command("listen")(listen_cli.listen)


def _lock_data_dir(settings: Settings) -> IO[str]:
    """Hold an exclusive lock on the data directory for the process lifetime,
    so two embedded servers never share one SQLite database."""
    secure_sqlite_files(settings)
    path = settings.data_dir / "hookgate.lock"
    handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        err_console.print(
            f"[red]Another hookgate process is using {settings.data_dir}[/red] "
            "(stop it, or pass a different --data-dir)."
        )
        raise typer.Exit(1) from None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


async def _first_start_token(settings: Settings, db: Database) -> str | None:
    """On first start (no token stored, none configured) create an admin token."""
    if settings.admin_token or await tokens.count(db) > 0:
        return None
    return await tokens.create(db, "admin (first start)", now_ms())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8071).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the embedded SQLite database lives.")
    ] = None,
    worker: Annotated[bool, typer.Option(help="Deliver webhooks in this process too.")] = True,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate (chain): serve HTTPS. Needs --tls-key.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Run the management API and the delivery workers in one process."""
    settings = settings_from(data_dir, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
    _check_tls(settings)
    lock = _lock_data_dir(settings) if settings.is_sqlite else None
    _configure_logging()
    new_token = run_with_database(settings, lambda db: _first_start_token(settings, db), wait=True)
    where = (
        f"data: {settings.data_dir}"
        if settings.is_sqlite
        else f"database: {display_url(settings.resolved_database_url)}"
    )
    scheme = "https" if settings.tls_cert else "http"
    console.print(f"Hookgate listening on {scheme}://{settings.host}:{settings.port}  ({where})")
    if new_token:
        console.print(f"Admin API token (shown once, store it now): {new_token}", soft_wrap=True)
    # The web stack is imported only where it is served (workers start faster).
    import uvicorn

    from hookgate.api.app import create_app
    from hookgate.api.forwarded import ForwardedHeaders
    from hookgate.api.http_limits import bounded_protocol

    try:
        uvicorn.run(
            ForwardedHeaders(
                create_app(settings, run_worker=worker, freeze_heap=True),
                settings.forwarded_allow_ips,
            ),
            host=settings.host,
            port=settings.port,
            # ``ForwardedHeaders`` applies them, leaving ``/in`` to each source.
            proxy_headers=False,
            http=bounded_protocol(
                max_head_bytes=settings.max_header_bytes,
                max_headers=settings.max_headers,
                head_timeout=settings.header_timeout,
            ),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=15,
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
        )
    finally:
        if lock is not None:
            lock.close()


def _check_tls(settings: Settings) -> None:
    """End the command with one clear line unless the TLS settings are
    absent or a certificate and key that belong together."""
    if settings.tls_cert is None and settings.tls_key is None:
        return
    if settings.tls_cert is None or settings.tls_key is None:
        err_console.print(
            "[red]--tls-cert and --tls-key (HOOKGATE_TLS_CERT, HOOKGATE_TLS_KEY)"
            " must be given together.[/red]"
        )
        raise typer.Exit(2)
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (ssl.SSLError, ValueError) as exc:
        err_console.print(f"[red]Cannot use the TLS certificate and key:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Concurrent deliveries in this process (default 1000).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="The server's data directory.")] = None,
) -> None:
    """Deliver webhooks without serving the API. On PostgreSQL run as many
    workers as you like, on any machine; SIGTERM stops one gracefully."""
    settings = settings_from(data_dir, max_in_flight=concurrency)
    lock = _lock_data_dir(settings) if settings.is_sqlite else None
    _configure_logging()

    async def run(db: Database) -> None:
        engine = Engine(settings, db, run_worker=True)
        await engine.start(sole_process=db.single_process)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        console.print(f"Hookgate worker delivering from {db.display_url}")
        await stop.wait()
        console.print("Stopping: finishing in-flight deliveries...")
        await engine.stop()

    try:
        run_with_database(settings, run, wait=True)
    finally:
        if lock is not None:
            lock.close()


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def migrate(
    data_dir: Annotated[Path | None, typer.Option(help="The server's data directory.")] = None,
) -> None:
    """Create or upgrade the database schema (HOOKGATE_DATABASE_URL, or SQLite)."""
    settings = settings_from(data_dir)

    async def nothing(_: Database) -> None:
        return None

    run_with_database(settings, nothing)
    console.print(f"Schema is up to date ({display_url(settings.resolved_database_url)}).")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A label for the token.")] = "api",
    data_dir: Annotated[Path | None, typer.Option(help="The server's data directory.")] = None,
) -> None:
    """Create an API token and print it (it is stored hashed, shown once)."""
    settings = settings_from(data_dir)

    token = run_with_database(settings, lambda db: tokens.create(db, name, now_ms()))
    console.print(token, soft_wrap=True)


if __name__ == "__main__":
    app()

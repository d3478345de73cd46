"""``hookgate secrets``: the key that encrypts stored secrets.

``generate-key`` prints a new key for ``HOOKGATE_SECRET_KEY``. To rotate:
put the new key first (``HOOKGATE_SECRET_KEY="new,old"``) on every process,
run ``rotate-key`` (it re-encrypts every stored secret under the first key,
in batches, while servers keep running), then drop the old key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hookgate.cli.common import console, run_with_database, settings_from
from hookgate.core.secretbox import generate_key
from hookgate.store import reseal

app = typer.Typer(help="Manage the key that encrypts stored secrets.", no_args_is_help=True)


@app.command("generate-key")
def generate() -> None:
    """Print a new random key (for HOOKGATE_SECRET_KEY)."""
    console.print(generate_key(), soft_wrap=True)


@app.command("rotate-key")
def rotate(
    batch: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = reseal.DEFAULT_BATCH,
    data_dir: Annotated[Path | None, typer.Option(help="The server's data directory.")] = None,
) -> None:
    """Re-encrypt every stored secret with the first key of HOOKGATE_SECRET_KEY."""
    settings = settings_from(data_dir)
    counts = run_with_database(settings, lambda db: reseal.reseal_all(db, batch=batch))
    console.print(
        f"Re-encrypted the secrets of {counts.endpoints} endpoint(s) and {counts.sources}"
        f" source(s), and {counts.responses} stored response(s), with the first key;"
        " keys after it are no longer needed.",
        soft_wrap=True,
    )

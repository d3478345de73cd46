"""The operator's secret key for this process, and the files that hold
secrets on disk.

``prepare_storage(settings)`` (called by ``open_database``) makes the data
directory private and installs the process's ``SecretBox``:

- keys come from ``HOOKGATE_SECRET_KEY`` (comma list, newest first);
- on the embedded SQLite mode, the data directory's ``secret.key`` (mode
  0600) is read as the last key; with no key configured and no file yet, a
  key is generated into it on first start;
- on PostgreSQL a key must be configured: every API and worker process, on
  any machine, must share it, so none is generated and starting without one
  fails with a message saying how to make one (``SecretKeyError``).

The store seals and opens secrets with ``current()``. A process that never
calls ``prepare_storage`` (tests on throwaway databases) gets an ephemeral
key, with a warning: what it seals cannot be opened by another process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from hookgate.config import Settings
from hookgate.core.secretbox import SecretBox, SecretKeyError, generate_key, parse_keys

log = logging.getLogger(__name__)

#: The generated key of the embedded mode, inside the data directory.
KEY_FILE = "secret.key"
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600

_installed: SecretBox | None = None


def install(box: SecretBox) -> None:
    """Make ``box`` the one the store seals and opens secrets with."""
    global _installed
    _installed = box


def current() -> SecretBox:
    """The installed box (an ephemeral one, with a warning, if none is)."""
    global _installed
    if _installed is None:
        log.warning(
            "no secret key installed: using an ephemeral key; secrets stored now"
            " cannot be read by another process"
        )
        _installed = SecretBox([generate_key()])
    return _installed


def prepare_storage(settings: Settings) -> None:
    """Make the embedded mode's files private and install the configured key.
    Raises ``SecretKeyError`` for a malformed or missing key."""
    if settings.is_sqlite:
        secure_sqlite_files(settings)
    install(load(settings))


def load(settings: Settings) -> SecretBox:
    """The ``SecretBox`` ``settings`` configure (see the module docstring)."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else ""
    keys = parse_keys(configured)
    if settings.is_sqlite:
        stored = _read_or_create_key_file(settings.data_dir / KEY_FILE, create=not keys)
        if stored is not None and stored not in keys:
            keys.append(stored)
    if not keys:
        raise SecretKeyError(
            "HOOKGATE_SECRET_KEY is required with PostgreSQL (every API and worker process"
            " must share it); create one with `hookgate secrets generate-key`"
        )
    return SecretBox(keys)


def _read_or_create_key_file(path: Path, *, create: bool) -> str | None:
    """The key in ``path``; with ``create``, a new one written there (0600)
    if the file does not exist. None if there is none."""
    if create:
        key = generate_key()
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            log.info("generated a secret key in %s (keep a copy: secrets need it)", path)
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    os.chmod(path, _PRIVATE_FILE)
    try:
        (key,) = parse_keys(text)
    except (SecretKeyError, ValueError):
        raise SecretKeyError(f"{path} does not hold one valid secret key") from None
    return key


def secure_sqlite_files(settings: Settings) -> None:
    """Create the data directory 0700 and the SQLite database file 0600
    before SQLite does (SQLite gives its ``-wal`` and ``-shm`` files the
    database file's mode), tightening existing ones."""
    _private_dir(settings.data_dir)
    path = sqlite_path(settings.resolved_database_url)
    if path is None:
        return
    if not path.parent.exists():
        _private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, _PRIVATE_FILE))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path.parent / name, _PRIVATE_FILE)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, _PRIVATE_DIR)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)

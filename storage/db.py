"""Engines and schema migrations: any SQLAlchemy URL, with SQLite set up the way it should be.

SQLite gets WAL journaling (readers never block the writer), a busy timeout (a second process
waits instead of failing with "database is locked"), foreign keys on, synchronous=NORMAL (durable
against an application crash, which is what WAL needs), and secure_delete so deleted rows are
zeroed in the file. Python's sqlite3 module is told to keep out of transaction control and
SQLAlchemy emits BEGIN itself (the recipe from SQLAlchemy's SQLite docs), so savepoints and DDL
are really transactional; the writer begins with BEGIN IMMEDIATE so it takes the write lock up
front instead of failing to upgrade a read lock halfway through.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, make_url, pool, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from .errors import ConfigError, SchemaError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_BUSY_TIMEOUT_MS = 10_000
# The one default place of the data, for the app and every command line (they used to disagree).
DB_FILE = "spot.sqlite3"
DEFAULT_DATA_DIR = "data"
SPACE_DATA_DIR = "/data"  # a Space's persistent volume, when it has one


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`./data`, or `/data` on a Hugging Face Space (SPACE_ID set) that has a persistent volume."""
    env = os.environ if environ is None else environ
    on_space = bool(env.get("SPACE_ID")) and Path(SPACE_DATA_DIR).is_dir()
    return Path(SPACE_DATA_DIR if on_space else DEFAULT_DATA_DIR)


def default_url(data_dir: str | Path) -> str:
    """The SQLite database the app and the CLIs use when no URL is given: `<data_dir>/spot.sqlite3`."""
    return f"sqlite:///{(Path(data_dir).expanduser() / DB_FILE).resolve()}"


def parse_url(url: str | URL) -> URL:
    """Parse a database URL; a plain `postgresql://` URL is taken to mean the psycopg 3 driver."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise ConfigError(f"not a database URL: {str(url)[:200]!r} "
                          "(expected e.g. sqlite:///data/spot.db or postgresql://user:pw@host/db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database or ""
        if db in ("", ":memory:") or "mode=memory" in str(parsed.query):
            raise ConfigError("the store needs a SQLite file (sqlite:///path/to/spot.db); "
                              "an in-memory database cannot be shared by the writer and readers")
    return parsed


def safe_url(url: URL) -> str:
    """The URL with any password masked, for messages and logs."""
    return url.render_as_string(hide_password=True)


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database or ""
    if db.startswith("file:"):
        return None  # URI filename; SQLite resolves it
    return Path(db)


def _setup_sqlite(engine: Engine, busy_timeout_ms: int, begin: str, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cur.execute("PRAGMA secure_delete = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def make_engine(url: URL, *, role: str, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for one role: "writer" (one connection, the single writer thread), "reader"
    (a pool for the UI's reads) or "migrate" (short-lived; foreign keys off while tables are
    rebuilt, then checked)."""
    kwargs: dict[str, Any] = {"pool_pre_ping": url.get_backend_name() != "sqlite"}
    if role == "writer":
        kwargs.update(pool_size=1, max_overflow=0)
    elif role == "migrate":
        kwargs.update(poolclass=pool.NullPool)
        kwargs.pop("pool_pre_ping")
    elif role == "reader":
        kwargs.update(pool_size=8, max_overflow=8)
    else:
        raise ValueError(role)
    sqlite_path = _sqlite_file(url)
    if sqlite_path is not None and sqlite_path.parent and not sqlite_path.parent.exists():
        try:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the folder for the database {sqlite_path}: {err.strerror}") from None
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ImportError) as err:
        raise ConfigError(f"no driver for database URL {safe_url(url)}: {err}") from None
    if url.get_backend_name() == "sqlite":
        begin = "BEGIN IMMEDIATE" if role in ("writer", "migrate") else "BEGIN"
        _setup_sqlite(engine, busy_timeout_ms, begin, foreign_keys=role != "migrate")
    return engine


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    # configparser interpolation: a '%' in the install path must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: URL, target: str = "head", *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> str:
    """Bring the database schema to `target` (default: the newest revision); return the revision.

    Runs in one transaction (SQLite and PostgreSQL both have transactional DDL), so a crash midway
    leaves the old schema. On SQLite foreign keys are off during the migration, as SQLite's own
    ALTER TABLE procedure requires, and `PRAGMA foreign_key_check` must come back empty before
    the commit.
    """
    engine = make_engine(url, role="migrate", busy_timeout_ms=busy_timeout_ms)
    script = ScriptDirectory.from_config(alembic_config())
    try:
        with engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None:
                try:
                    script.get_revision(current)
                except Exception:
                    raise SchemaError(
                        f"the database is at schema revision {current!r}, which this version of the "
                        f"app does not know (newest known: {script.get_current_head()!r}); "
                        "upgrade the app instead of opening a newer database with it") from None
            command.upgrade(alembic_config(conn), target)
            if conn.dialect.name == "sqlite":
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if bad:
                    raise SchemaError(f"migration left rows with broken foreign keys: {bad[:5]}")
            revision = MigrationContext.configure(conn).get_current_revision()
    except CommandError as err:
        raise SchemaError(f"schema migration failed: {err}") from None
    except DBAPIError as err:
        raise ConfigError(describe_db_error(url, err)) from None
    finally:
        engine.dispose()
    return revision or ""


def describe_db_error(url: URL, err: DBAPIError) -> str:
    """A one-line human explanation of why the database could not be used."""
    orig = str(getattr(err, "orig", err)).strip().splitlines()
    detail = orig[0] if orig else type(err).__name__
    if "file is not a database" in detail:
        return f"{safe_url(url)} is not a SQLite database (file is not a database)"
    if "unable to open database file" in detail:
        return f"cannot open the SQLite file of {safe_url(url)} (missing folder or no permission)"
    return f"cannot use the database {safe_url(url)}: {detail}"


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))

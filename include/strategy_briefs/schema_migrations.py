"""The warehouse schema's migrations: numbered SQL files applied once, by yoyo-migrations.

Rules (one function each):
- `pending`: every `migrations/*.sql` is a versioned migration, applied once in file-name
  order by yoyo, which records it in `public._yoyo_migration`; a new numbered file is picked
  up by the next migrate, and one already recorded is never run again.
- `changed`: the sha256 of each file is recorded when it is applied
  (`public.schema_migration_sha256`; yoyo itself records only a hash of the file's name); a
  file whose content differs from its record is refused, by name. A change to the schema is
  a new numbered file.
- `unknown`: a migration recorded as applied whose file is gone (the warehouse was migrated
  by a newer release) is refused too: this code does not know that schema.
- `run_repeatable`: `migrations/repeatable/roles.sql` before the numbered files and
  `grants.sql` after them run on every migrate and are never recorded: roles and grants are
  re-asserted each time (a role widened by hand is narrowed again, a new table is granted).
- `apply_naming_the_file`: a file whose SQL fails is named with the database's reason; its
  transaction is rolled back, so it stays pending; the files before it in the same migrate
  stay applied, the ones after it wait.
- `migrator_lock`: one migrate at a time per database. A session advisory lock, released by
  the server when the process dies, rather than yoyo's lock table, which a killed migrate
  would leave locked.
- `require_current`: a DAG run only checks: it writes nothing and, when the schema is not
  current, fails naming the files and `strategy-briefs warehouse migrate`.

The numbered files 001-007 were written for the old runner, which re-ran every file on
every DAG run, so each is idempotent (`if not exists`, guarded `do` blocks): a warehouse
built by that runner is migrated by yoyo's first run without harm, and recorded. Files
from 008 on run once and need not be idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.hashing import file_sha256
from strategy_briefs.warehouse import MIGRATIONS_DIR, WarehouseParams, connect

log = logging.getLogger(__name__)

# Inside a migrations folder: run before and after its numbered files.
BEFORE_MIGRATIONS = Path("repeatable/roles.sql")
AFTER_MIGRATIONS = Path("repeatable/grants.sql")
MIGRATE_COMMAND = "strategy-briefs warehouse migrate"
SHA_TABLE = "public.schema_migration_sha256"
_LOCK_KEY = "strategy_briefs.migrate"
_APPLIED_IDS_SQL = (
    "select migration_id from public._yoyo_migration order by applied_at_utc, migration_id"
)
_RECORDED_SHA_SQL = f"select migration_id, sha256 from {SHA_TABLE}"


class MigrationError(RuntimeError):
    """A migrate or a check that cannot go on; the message names the file(s)."""


class SchemaNotCurrent(MigrationError):
    """The warehouse's schema is not the one this code's migrations describe."""


class MigrationFailed(MigrationError):
    """A migration file's SQL failed; its transaction was rolled back."""


@dataclass(frozen=True)
class MigrationFile:
    """One numbered file in `migrations/`: yoyo's id is its name without `.sql`."""

    migration_id: str
    path: Path
    sha256: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class AppliedMigration:
    """What the warehouse recorded: yoyo's row, and our content hash (None: not recorded)."""

    migration_id: str
    sha256: str | None


@dataclass(frozen=True)
class SchemaState:
    """The numbered files compared with the warehouse's records."""

    pending: tuple[MigrationFile, ...]
    changed: tuple[MigrationFile, ...]
    unknown: tuple[str, ...]
    unrecorded: tuple[MigrationFile, ...]  # applied, but no content hash (see `migrate`)

    @property
    def is_current(self) -> bool:
        return not (self.pending or self.changed or self.unknown or self.unrecorded)


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[MigrationFile]:
    """The numbered files, in yoyo's order (file name); `repeatable/` is not among them."""
    files = []
    for migration in _yoyo_migrations(directory):
        path = Path(migration.path)
        digest = file_sha256(path)
        files.append(MigrationFile(migration.id, path, digest))
    return files


def _yoyo_migrations(directory: Path):
    from yoyo import read_migrations

    return read_migrations(str(directory))


# ---------------------------------------------------------------- reading the records


def applied_migrations(params: WarehouseParams) -> list[AppliedMigration]:
    """yoyo's applied migrations with their recorded hashes; empty on a warehouse never
    migrated by yoyo. Read-only: the DAG's check must not create yoyo's tables."""
    with connect(params) as conn:
        has_yoyo, has_sha = conn.execute(
            "select to_regclass('public._yoyo_migration') is not null, to_regclass(%s) is not null",
            (SHA_TABLE,),
        ).fetchone()
        if not has_yoyo:
            return []
        ids = [row[0] for row in conn.execute(_APPLIED_IDS_SQL)]
        hashes = dict(conn.execute(_RECORDED_SHA_SQL).fetchall()) if has_sha else {}
    return [AppliedMigration(migration_id, hashes.get(migration_id)) for migration_id in ids]


def schema_state(params: WarehouseParams, files: list[MigrationFile]) -> SchemaState:
    """The files compared with what the warehouse recorded."""
    applied = {a.migration_id: a for a in applied_migrations(params)}
    return SchemaState(
        pending=tuple(pending(files, applied)),
        changed=tuple(changed(files, applied)),
        unknown=tuple(unknown(files, applied)),
        unrecorded=tuple(
            f for f in files if f.migration_id in applied and not applied[f.migration_id].sha256
        ),
    )


def pending(
    files: list[MigrationFile], applied: dict[str, AppliedMigration]
) -> list[MigrationFile]:
    """Files yoyo has not recorded: the next migrate applies them."""
    return [f for f in files if f.migration_id not in applied]


def changed(
    files: list[MigrationFile], applied: dict[str, AppliedMigration]
) -> list[MigrationFile]:
    """Applied files whose content is not what was applied."""
    return [
        f
        for f in files
        if f.migration_id in applied
        and applied[f.migration_id].sha256 is not None
        and applied[f.migration_id].sha256 != f.sha256
    ]


def unknown(files: list[MigrationFile], applied: dict[str, AppliedMigration]) -> list[str]:
    """Applied migrations this code has no file for."""
    known = {f.migration_id for f in files}
    return [migration_id for migration_id in applied if migration_id not in known]


# ---------------------------------------------------------------- refusing


def refusal(state: SchemaState, directory: Path) -> str | None:
    """Why a migrate must not go on (changed or unknown migrations), or None."""
    reasons = [
        f"{f.filename} has changed since it was applied to this warehouse (sha256 now"
        f" {f.sha256[:12]}…): an applied migration is never edited; restore it and put the"
        " change in a new numbered file"
        for f in state.changed
    ]
    reasons += [
        f"{migration_id} was applied to this warehouse but {migration_id}.sql is not in"
        f" {directory}: the warehouse was migrated by a newer release"
        for migration_id in state.unknown
    ]
    return "; ".join(reasons) or None


def require_current(params: WarehouseParams, directory: Path = MIGRATIONS_DIR) -> None:
    """For DAG runs: raise `SchemaNotCurrent` unless every file is applied and unchanged."""
    state = schema_state(params, migration_files(directory))
    if state.is_current:
        return
    problem = refusal(state, directory)
    if problem is None:
        problem = "; ".join(
            f"{what}: {', '.join(f.filename for f in files)}"
            for what, files in (
                ("not applied", state.pending),
                ("applied but its sha256 not recorded", state.unrecorded),
            )
            if files
        )
    raise SchemaNotCurrent(
        f"warehouse {params.dbname} schema is not current ({problem}); run `{MIGRATE_COMMAND}`"
    )


# ---------------------------------------------------------------- migrating


def migrate(params: WarehouseParams, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Roles, then the pending numbered files (each once), then grants. Returns the file
    names applied now; raises `SchemaNotCurrent` (and applies nothing) if one was changed."""
    with migrator_lock(params):
        files = migration_files(directory)
        state = schema_state(params, files)
        problem = refusal(state, directory)
        if problem is not None:
            raise SchemaNotCurrent(f"warehouse {params.dbname}: {problem}")
        backend = _backend(params)
        try:
            run_repeatable(backend, directory / BEFORE_MIGRATIONS)
            _ensure_sha_table(params)
            record_unrecorded(params, state)
            applied = apply_pending(backend, params, directory, files)
            run_repeatable(backend, directory / AFTER_MIGRATIONS)
        finally:
            backend.connection.close()
    return applied


def record_unrecorded(params: WarehouseParams, state: SchemaState) -> None:
    """yoyo marked these but the process stopped before their hash was written: the file
    here is the one applied, as far as anyone can know now."""
    for migration_file in state.unrecorded:
        log.warning("%s: recording the hash of an applied migration", migration_file.filename)
        _record_sha(params, migration_file)


@contextmanager
def migrator_lock(params: WarehouseParams) -> Iterator[None]:
    """Held on a connection of its own for the whole migrate."""
    with connect(params, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (_LOCK_KEY,))


def apply_pending(
    backend, params: WarehouseParams, directory: Path, files: list[MigrationFile]
) -> list[str]:
    """yoyo applies each unrecorded file in its own transaction; then its hash is recorded."""
    by_id = {f.migration_id: f for f in files}
    applied = []
    for migration in backend.to_apply(_yoyo_migrations(directory)):
        apply_naming_the_file(backend, migration)
        _record_sha(params, by_id[migration.id])
        applied.append(by_id[migration.id].filename)
    return applied


def run_repeatable(backend, path: Path) -> None:
    """One repeatable file in one transaction, through yoyo (logged, never marked)."""
    from yoyo.migrations import Migration

    migration = Migration(f"repeatable/{path.stem}", str(path), str(path.parent))
    apply_naming_the_file(backend, migration, mark=False)


def apply_naming_the_file(backend, migration, *, mark: bool = True) -> None:
    """yoyo's apply, with a failure named by file; yoyo rolled the file's transaction back,
    so a numbered file stays pending."""
    try:
        backend.apply_one(migration, mark=mark)
    except backend.DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise MigrationFailed(
            f"{Path(migration.path).name} failed, nothing of it applied: {first_line}"
        ) from error


def _backend(params: WarehouseParams):
    from yoyo import get_backend

    # `+psycopg`: yoyo's psycopg 3 backend, the driver the rest of the package uses.
    return get_backend(params.url().replace("postgresql://", "postgresql+psycopg://", 1))


def _ensure_sha_table(params: WarehouseParams) -> None:
    with connect(params) as conn:
        conn.execute(
            f"create table if not exists {SHA_TABLE} ("
            " migration_id text primary key,"
            " sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),"
            " recorded_at timestamptz not null default now())"
        )


def _record_sha(params: WarehouseParams, migration_file: MigrationFile) -> None:
    with connect(params) as conn:
        conn.execute(
            f"insert into {SHA_TABLE} (migration_id, sha256) values (%s, %s)"
            " on conflict (migration_id) do update set sha256 = excluded.sha256,"
            " recorded_at = now()",
            (migration_file.migration_id, migration_file.sha256),
        )

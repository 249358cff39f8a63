"""A PostgreSQL server of the test's own, to stop and start (the machine's shared server on
5432 serves every other test and must never be stopped).

The distribution's PostgreSQL 15 binaries, a data directory in a temporary folder, trust
authentication on 127.0.0.1 and a free port. The server runs as the `postgres` system user
when the tests run as root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.warehouse import WarehouseParams
from strategy_briefs_demo.sink import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass(frozen=True)
class PrivatePostgres:
    folder: Path
    port: int

    @property
    def params(self) -> WarehouseParams:
        return WarehouseParams("127.0.0.1", self.port, "postgres", "", "postgres")

    def _run(self, *argv: str) -> None:
        command = [str(BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: every session is ended, open transactions are rolled back."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    folder = Path(tempfile.mkdtemp(prefix="sb-private-pg-"))
    folder.chmod(0o777)  # the server's user writes its socket and log here
    server = PrivatePostgres(folder, free_port())
    server._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "-A", "trust")
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(folder, ignore_errors=True)

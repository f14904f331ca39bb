"""A PostgreSQL server of its own for tests and benchmarks: initdb and pg_ctl as the
``postgres`` user when run as root (PostgreSQL refuses to run as root), on a Unix socket in a
temporary folder, with no TCP listener; stopped by the PID in ``postmaster.pid``."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg


class PgServerError(RuntimeError):
    """The server could not be started; the message holds the end of its log."""


def bin_dir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


@dataclass
class PgServer:
    """One PostgreSQL cluster on a Unix socket; ``admin_url`` reaches it as superuser."""

    bin_dir: Path
    root: Path
    as_postgres: bool
    _databases: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}"

    def _run(self, *argv: str) -> None:
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        # The superuser by trust (tests only); every other role by password, so that a wrong
        # password is refused as it would be on a real server.
        (self.data / "pg_hba.conf").write_text(
            "local all postgres trust\nlocal all all scram-sha-256\n"
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c wal_recycle=off -c max_connections=100 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return None
        return int(pid_file.read_text().split("\n", 1)[0])

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID; waits until it has gone."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        for _ in range(600):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def new_database(self) -> str:
        name = f"chain_{os.getpid()}_{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


def start_server() -> PgServer | None:
    """A new cluster, started; None when PostgreSQL is not installed. PgServerError when it
    is installed but does not start."""
    found = bin_dir()
    if found is None:
        return None
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="raiten-pg-"))
    root.chmod(0o755)
    server = PgServer(found, root, as_postgres)
    (root / "sock").mkdir()
    if as_postgres:
        shutil.chown(root, "postgres")
        shutil.chown(root / "sock", "postgres")
    try:
        server.init()
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        log = root / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else getattr(exc, "stderr", b"")
        shutil.rmtree(root, ignore_errors=True)
        raise PgServerError(f"PostgreSQL did not start: {exc}: {detail!r}") from exc
    return server


def remove_server(server: PgServer) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)

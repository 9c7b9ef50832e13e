"""A PostgreSQL primary with a synchronous streaming standby: two new servers from this machine's
PostgreSQL binaries, in a new directory under /tmp (the server's user must reach it, which
pytest's own tmp_path does not allow), on free loopback ports. The machine's own
server is not touched. For the failover drill (tests/production/test_failover.py)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .stack import free_port, wait_for


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are needed for the failover drill")
    return Path(found[-1]).parent


class PgPair:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dispatch-pgpair-"))
        self.bin = _bin_dir()
        self.primary_port, self.standby_port = free_port(), free_port()
        self.primary, self.standby = self.root / "primary", self.root / "standby"

    def url(self, database: str) -> str:
        """libpq's host list: whichever of the two takes writes (README, 'PostgreSQL with a standby')."""
        return (
            f"postgresql+psycopg://postgres@/{database}?host=127.0.0.1:{self.primary_port}"
            f"&host=127.0.0.1:{self.standby_port}&target_session_attrs=read-write&connect_timeout=3"
        )

    def _run(self, tool: str, *args: str, timeout_s: float = 60) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}")

    def _psql(self, port: int, sql: str) -> str:
        return subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-Atc", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()

    def start(self, database: str) -> PgPair:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.primary), "-A", "trust", "-U", "postgres")
        with (self.primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nwal_level = replica\nmax_wal_senders = 4\n"
            )
        with (self.primary / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self._run("pg_ctl", "-D", str(self.primary), "-l", str(self.root / "primary.log"), "-w", "start")
        self._psql(self.primary_port, f'CREATE DATABASE "{database}"')
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(self.standby),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        with (self.standby / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.standby_port}\n")
        self._run("pg_ctl", "-D", str(self.standby), "-l", str(self.root / "standby.log"), "-w", "start")
        # Synchronous from now on (not before: commits would wait for a standby not yet there):
        # a commit returns only once the standby has it.
        self._psql(self.primary_port, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        self._psql(self.primary_port, "SELECT pg_reload_conf()")
        synchronous = wait_for(
            lambda: self._psql(self.primary_port, "SELECT sync_state FROM pg_stat_replication") == "sync", 30, 0.2
        )
        if not synchronous:
            raise RuntimeError("the standby did not become synchronous")
        return self

    def crash_primary(self) -> None:
        """As a machine dying: no shutdown checkpoint, connections cut."""
        self._run("pg_ctl", "-D", str(self.primary), "-m", "immediate", "stop")

    def promote_standby(self) -> None:
        self._run("pg_ctl", "-D", str(self.standby), "-w", "promote")

    def stop(self) -> None:
        for data in (self.primary, self.standby):
            if (data / "postmaster.pid").exists():
                try:
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
                except RuntimeError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)

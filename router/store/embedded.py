"""A private PostgreSQL cluster in the data directory: the embedded default.

With no database URL configured, router runs its own server from the PostgreSQL
binaries installed on the machine (DESIGN.md section 3). The cluster is created
once, with a generated password kept beside it, and reused on later starts. It
listens on 127.0.0.1 only and has no unix socket. Root may not run PostgreSQL, so
as root every server program runs as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO
from urllib.parse import quote

import structlog
from structlog.typing import FilteringBoundLogger

from router.errors import ConfigError, PostgresNotFound, Unavailable

SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
VERSIONED_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"
ROLE = "router"
DATABASE = "router"
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60
# pg_ctl waits START_TIMEOUT_SECONDS itself; this bounds a hung program around it.
PROGRAM_TIMEOUT_SECONDS = START_TIMEOUT_SECONDS + 30
# With a port picked at random, another process may take it before the server binds.
PORT_ATTEMPTS = 3

NOT_FOUND_MESSAGE = (
    "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found on PATH, "
    "through `pg_config --bindir`, or under /usr/lib/postgresql/*/bin. Install "
    "PostgreSQL 13 or newer (for example `apt-get install -y postgresql` on "
    "Debian/Ubuntu), or set ROUTER_DATABASE_URL to an existing server."
)


def find_server_binaries(
    *,
    path_env: str | None = None,
    pg_config: str | None = None,
    glob_root: Path | None = None,
) -> Path:
    """Return the directory holding initdb, pg_ctl and postgres.

    Looks on ``path_env`` (default: $PATH), then at ``pg_config --bindir`` (default:
    the pg_config found on that path), then in ``glob_root/*/bin`` (default:
    /usr/lib/postgresql), highest major version first. Raises PostgresNotFound.
    """
    search_path = os.environ.get("PATH", os.defpath) if path_env is None else path_env
    root = VERSIONED_ROOT if glob_root is None else glob_root
    for candidate in _candidate_dirs(search_path, pg_config, root):
        if all(_is_program(candidate / name) for name in SERVER_PROGRAMS):
            return candidate
    raise PostgresNotFound(NOT_FOUND_MESSAGE)


def _candidate_dirs(search_path: str, pg_config: str | None, root: Path) -> Iterator[Path]:
    pg_ctl = shutil.which("pg_ctl", path=search_path)
    if pg_ctl:
        # A symlink farm (/usr/local/bin) may lack createdb, psql...: prefer the real home.
        yield Path(pg_ctl).resolve().parent
        yield Path(pg_ctl).parent
    config = shutil.which("pg_config", path=search_path) if pg_config is None else pg_config
    if config:
        yield from _pg_config_bindir(config)
    yield from sorted(root.glob("*/bin"), key=_major_version, reverse=True)


def _pg_config_bindir(pg_config: str) -> Iterator[Path]:
    try:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return
    if result.returncode == 0 and result.stdout.strip():
        yield Path(result.stdout.strip())


def _major_version(bindir: Path) -> tuple[int, ...]:
    """(15,) for .../15/bin, (9, 6) for .../9.6/bin; names that are not versions sort last."""
    try:
        return tuple(int(part) for part in bindir.parent.name.split("."))
    except ValueError:
        return (-1,)


def _is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True, slots=True)
class _ServerUser:
    """Who runs the server programs: ourselves, or an unprivileged user when we are root."""

    name: str | None
    uid: int
    gid: int
    runuser: str = ""

    def command(self, argv: list[str]) -> list[str]:
        """The argv that runs ``argv`` as this user."""
        if self.name is None:
            return argv
        return [self.runuser, "-u", self.name, "--", *argv]

    def give(self, path: Path) -> None:
        """Make ``path`` owned by this user (a no-op when that is us)."""
        if self.name is not None:
            os.chown(path, self.uid, self.gid)

    def first_closed_directory(self, directory: Path) -> Path | None:
        """The first directory on the way to ``directory`` this user may not enter, if any."""
        if self.name is None or self._may_enter(directory):
            return None
        for step in [*reversed(directory.parents), directory]:
            if not self._may_enter(step):
                return step
        return directory

    def _may_enter(self, directory: Path) -> bool:
        # os.access answers for us, not for another user: ask as that user.
        argv = self.command(["test", "-x", str(directory)])
        return subprocess.run(argv, cwd="/", check=False).returncode == 0


def _server_user() -> _ServerUser:
    if os.geteuid() != 0:
        return _ServerUser(name=None, uid=os.geteuid(), gid=os.getegid())
    runuser = shutil.which("runuser")
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        entry = None
    if entry is None or runuser is None:
        missing = "runuser program" if entry else f"{SERVER_USER!r} user"
        raise ConfigError(
            f"PostgreSQL refuses to run as root, and there is no {missing} to run it as "
            f"{SERVER_USER!r}. Install PostgreSQL from your distribution (it creates that "
            "user), run router as an unprivileged user, or set ROUTER_DATABASE_URL."
        )
    return _ServerUser(SERVER_USER, entry.pw_uid, entry.pw_gid, runuser)


class EmbeddedPostgres:
    """A private PostgreSQL cluster in ``data_dir/pgdata``, listening on 127.0.0.1 only.

    ``start()`` creates the cluster on first use and returns an asyncpg DSN. A server
    already running on the cluster (another router sharing the data directory) is
    reused, not restarted; ``stop()`` stops the server when its last user leaves.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        log: FilteringBoundLogger | None = None,
        server_settings: Sequence[str] = (),
    ) -> None:
        """`server_settings` are extra `name=value` server settings (tests turn
        durability off with them; a service keeps the defaults)."""
        self.server_settings = tuple(server_settings)
        self.data_dir = data_dir.resolve()
        self.port = port
        self._log: FilteringBoundLogger = log or structlog.get_logger(__name__)
        self._dsn: str | None = None
        self._membership: TextIO | None = None  # holds a shared flock while we use the server
        self._stop_argv: list[str] = []

    @property
    def pgdata(self) -> Path:
        """The cluster directory."""
        return self.data_dir / "pgdata"

    @property
    def password_file(self) -> Path:
        """The generated password of the ``router`` role (mode 0600)."""
        return self.data_dir / "pg_password"

    @property
    def log_file(self) -> Path:
        """Where the server writes its log."""
        return self.data_dir / "postgres.log"

    @property
    def _start_lock(self) -> Path:
        return self.data_dir / "pgdata.lock"

    @property
    def dsn(self) -> str:
        """The DSN returned by the last ``start()``."""
        if self._dsn is None:
            raise Unavailable(f"The embedded PostgreSQL in {self.pgdata} is not started.")
        return self._dsn

    def start(self) -> str:
        """Start the server (creating the cluster on first use) and return its DSN.

        A server already running on the cluster is reused as it is, on its own port.
        """
        if self._dsn is not None and self.is_running():
            return self._dsn
        bindir, user = self._prepare()
        with _exclusive(self._start_lock):
            port = _clear_stale_lock(self.pgdata)
            if port is not None:
                self._log.info("embedded_postgres_reused", port=port, pgdata=str(self.pgdata))
            elif not self.pgdata.exists():
                self._create_cluster(bindir, user)
            port = port or self._launch(bindir, user)
            if self._membership is None:
                self._membership = _join(self.data_dir / "pgdata.users")
        self._stop_argv = user.command(_pg_ctl(bindir, "stop", self.pgdata, "-m", "fast"))
        return self._remember(port)

    def stop(self) -> None:
        """Leave the server, fast-shutting it down if no one else uses it; safe to repeat.

        Routers sharing a data directory keep the server up for each other: the last
        started EmbeddedPostgres on the cluster, in any process, to stop stops it.
        """
        membership, self._membership, self._dsn = self._membership, None, None
        if membership is None:
            return
        with _exclusive(self._start_lock), membership:
            if _is_last(membership) and self.is_running():
                self._pg_ctl_stop()

    def _pg_ctl_stop(self) -> None:
        result = _run(self._stop_argv, what="pg_ctl stop", check=False)
        if result.returncode != 0 and self.is_running():
            raise Unavailable(f"pg_ctl stop failed for {self.pgdata}: {result.stderr.strip()}")
        self._log.info("embedded_postgres_stopped", pgdata=str(self.pgdata))

    def is_running(self) -> bool:
        """Whether a server is running on this cluster, whoever started it."""
        lock = _read_lock_file(self.pgdata)
        return lock is not None and _is_postgres(lock[0])

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare(self) -> tuple[Path, _ServerUser]:
        bindir = find_server_binaries()
        user = _server_user()
        with contextlib.suppress(FileExistsError):  # another router may be making it too
            self.data_dir.mkdir(mode=0o700, parents=True)
            user.give(self.data_dir)
        closed = user.first_closed_directory(self.data_dir)
        if closed is not None:
            raise _closed_directory_error(closed, user)
        if user.name is not None:
            self._log.info("embedded_postgres_as_user", user=user.name, reason="running as root")
        return bindir, user

    def _create_cluster(self, bindir: Path, user: _ServerUser) -> None:
        """initdb into a scratch directory renamed when complete: pgdata is never half made."""
        began = time.monotonic()
        scratch = self.data_dir / "pgdata.init"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        user.give(scratch)
        _write_secret(self.password_file, secrets.token_urlsafe(24), user)
        _run(user.command(_initdb_argv(bindir, scratch, self.password_file)), what="initdb")
        _create_database(bindir, user, scratch)
        scratch.rename(self.pgdata)
        seconds = round(time.monotonic() - began, 2)
        self._log.info("embedded_postgres_created", pgdata=str(self.pgdata), seconds=seconds)

    def _launch(self, bindir: Path, user: _ServerUser) -> int:
        _touch(self.log_file, user)
        failure = ""
        for _ in range(1 if self.port else PORT_ATTEMPTS):
            port = self.port or _free_port()
            failure = self._pg_ctl_start(bindir, user, port)
            if not failure:
                self._log.info("embedded_postgres_started", port=port, pgdata=str(self.pgdata))
                return port
            if "could not bind" not in failure:
                break
        raise Unavailable(
            f"The embedded PostgreSQL in {self.pgdata} did not start: {failure} "
            f"(full log: {self.log_file})"
        )

    def _pg_ctl_start(self, bindir: Path, user: _ServerUser, port: int) -> str:
        """Start on ``port``; return "" or what went wrong, from pg_ctl and the server log."""
        log_offset = self.log_file.stat().st_size
        options = " ".join(
            [f"-c listen_addresses={HOST} -c unix_socket_directories='' -p {port}"]
            + [f"-c {setting}" for setting in self.server_settings]
        )
        argv = _pg_ctl(bindir, "start", self.pgdata, "-l", str(self.log_file), "-o", options)
        result = _run(user.command(argv), what="pg_ctl start", check=False)
        if result.returncode == 0:
            return ""
        with self.log_file.open(errors="replace") as log:
            log.seek(log_offset)
            server_says = " | ".join(log.read().strip().splitlines()[-5:])
        return f"{result.stderr.strip()} {server_says}".strip()

    def _remember(self, port: int) -> str:
        password = _read_secret(self.password_file, self.pgdata)
        self._dsn = f"postgresql://{ROLE}:{quote(password, safe='')}@{HOST}:{port}/{DATABASE}"
        return self._dsn


def default_dsn_or_embedded(
    database_url: str, data_dir: Path
) -> tuple[str, EmbeddedPostgres | None]:
    """Return ``database_url`` when set; else start an embedded cluster (the caller stops it)."""
    if database_url:
        return database_url, None
    embedded = EmbeddedPostgres(data_dir)
    return embedded.start(), embedded


def _pg_ctl(bindir: Path, action: str, pgdata: Path, *options: str) -> list[str]:
    timeout = str(START_TIMEOUT_SECONDS)
    return [str(bindir / "pg_ctl"), action, "-w", "-t", timeout, "-D", str(pgdata), *options]


def _initdb_argv(bindir: Path, pgdata: Path, password_file: Path) -> list[str]:
    initdb = str(bindir / "initdb")
    argv = [initdb, "-D", str(pgdata), "-U", ROLE, f"--pwfile={password_file}"]
    # Locale C: always available, whatever the machine's locales; UTF8 still holds any text.
    argv += ["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"]
    if "--no-instructions" in _run([initdb, "--help"], what="initdb --help").stdout:
        argv.append("--no-instructions")
    return argv


def _create_database(bindir: Path, user: _ServerUser, pgdata: Path) -> None:
    """CREATE DATABASE in single-user mode: no server, port or password needed yet."""
    argv = user.command([str(bindir / "postgres"), "--single", "-D", str(pgdata), "postgres"])
    result = _run(argv, what="CREATE DATABASE", stdin=f"CREATE DATABASE {DATABASE}\n")
    # Single-user mode exits 0 even when the statement fails: read what it said.
    if "ERROR:" in result.stderr or "FATAL:" in result.stderr:
        raise Unavailable(f"CREATE DATABASE {DATABASE} failed: {result.stderr.strip()}")


def _run(
    argv: list[str], *, what: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            argv,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd="/",  # the server user may not be allowed into our working directory
            timeout=PROGRAM_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"{what} could not run: {error}") from error
    if check and result.returncode != 0:
        said = result.stderr.strip() or result.stdout.strip()
        raise Unavailable(f"{what} failed with exit status {result.returncode}: {said}")
    return result


def _read_lock_file(pgdata: Path) -> tuple[int, int] | None:
    """(pid, port) from postmaster.pid, or None when there is none or it is unreadable."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), int(lines[3])
    except (OSError, IndexError, ValueError):
        return None


def _clear_stale_lock(pgdata: Path) -> int | None:
    """The port of a server running on the cluster; else drop a lock naming a non-server.

    pg_ctl copes with a lock whose process is gone, but not with one whose pid now
    belongs to a zombie or to another program (a container restart reuses pids).
    """
    lock = _read_lock_file(pgdata)
    if lock is None:
        return None
    pid, port = lock
    if _is_postgres(pid):
        return port
    if _process_exists(pid):
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
    return None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_postgres(pid: int) -> bool:
    """Whether ``pid`` is a live PostgreSQL process; when /proc cannot tell, any live one is."""
    if not _process_exists(pid):
        return False
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        command = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return True  # no /proc (macOS) or hidden: never take a live server's lock for stale
    return state != "Z" and (b"postgres" in command or b"postmaster" in command)


def _write_secret(path: Path, secret: str, user: _ServerUser) -> None:
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    user.give(path)  # initdb, running as that user, reads it


def _read_secret(path: Path, pgdata: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"The password of the embedded cluster {pgdata} is missing ({path}). Restore "
            f"that file, or remove {pgdata} to create a new, empty cluster."
        ) from None


def _touch(path: Path, user: _ServerUser) -> None:
    """Create ``path`` for the server user, who may not create files in the data directory."""
    path.touch(mode=0o600, exist_ok=True)
    user.give(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialize starts and stops on one data directory (one creates, others reuse)."""
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _join(users_path: Path) -> TextIO:
    """Hold a shared lock on ``users_path`` while we use the server.

    The kernel drops it when the process dies, so a crashed router never keeps the
    server from being stopped by the last router still using it.
    """
    membership = users_path.open("a")
    fcntl.flock(membership, fcntl.LOCK_SH)
    return membership


def _is_last(membership: TextIO) -> bool:
    """Whether no one else holds the users lock (call under the start lock)."""
    try:
        fcntl.flock(membership, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _closed_directory_error(closed: Path, user: _ServerUser) -> ConfigError:
    return ConfigError(
        f"The embedded PostgreSQL runs as user {user.name!r} because root may not run it, "
        f"and that user cannot enter {closed}. Set ROUTER_DATA_DIR to a directory it can "
        "reach (for example under /var/lib or /tmp), allow it in (chmod o+x on that "
        "directory), or set ROUTER_DATABASE_URL to an existing server.",
        param="ROUTER_DATA_DIR",
    )

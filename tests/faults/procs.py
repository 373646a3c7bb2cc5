"""Processes the fault tests start, break and stop themselves.

A fault test never breaks the machine's shared PostgreSQL or Redis: it starts what it breaks
(its own ``redis-server`` on a free port, its own Celery worker, its own gunicorn) and every
process here is stopped when the test ends, killed if it does not stop in time. Waiting is
always for an event (a log line, a port that answers, a PING), never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(os.environ.get("VENV", ROOT / ".venv")) / "bin"
if not VENV_BIN.is_absolute():
    VENV_BIN = ROOT / VENV_BIN

# How long a process may take to come up on a loaded two-core machine.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class ProcessFailed(AssertionError):
    """A process did not reach the state the test waited for; carries its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused_port() -> int:
    """A port that refuses connections: bound by nobody. For 'the database is unreachable'."""
    return free_port()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def readable(line: str) -> str:
    """A JSON log line (workers and web log JSON, core.request_log) as its level and message, so
    the tests read a worker's output as text whether or not a prefix (honcho's) comes first."""
    prefix, brace, rest = line.partition("{")
    if not brace or not line.endswith("}"):
        return line
    try:
        record = json.loads(brace + rest)
    except ValueError:
        return line
    if not isinstance(record, dict) or "message" not in record:
        return line
    return f"{prefix}{record.get('level', '')} {record['message']}"


def wait_until(predicate: Callable[[], object], *, timeout: float = START_TIMEOUT, what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``.

    Polling a condition the test cares about is waiting for the event itself, not a sleep
    standing in for it; the interval only bounds how soon we notice."""
    deadline = time.monotonic() + timeout
    interval = 0.02
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise ProcessFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


class ManagedProcess:
    """A child process whose output is collected line by line, so a test can wait for a line."""

    name = "process"

    def __init__(self, cmd: list[str], *, env: Mapping[str, str], cwd: Path = ROOT) -> None:
        self.cmd = cmd
        self.env = dict(env)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None

    # --- life cycle --------------------------------------------------------------------------
    def spawn(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is already running"
        self.process = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # A process group of its own: SIGKILL reaches the pool children too, and Ctrl-C in
            # the terminal running pytest does not reach it twice.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            with self._changed:
                self.lines.append(readable(raw.decode(errors="replace").rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL, the process and everything it started; returns once it is gone."""
        if self.process is None:
            return
        self.signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)
        self._join_reader()

    def terminate(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (a warm shutdown), SIGKILL if it has not stopped within ``timeout``."""
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)
        # Children left in the group (a pool child) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self._join_reader()

    stop = terminate

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)

    # --- output ------------------------------------------------------------------------------
    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def tail(self, lines: int = 60) -> str:
        with self._changed:
            return "\n".join(self.lines[-lines:])

    def wait_for_line(self, pattern: str, *, timeout: float = START_TIMEOUT, after: int = 0) -> str:
        """The first output line from index ``after`` on that matches the regular expression
        ``pattern``; fails with the process's output if it exits or the time runs out first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        index = after
        with self._changed:
            while True:
                while index < len(self.lines):
                    if regex.search(self.lines[index]):
                        return self.lines[index]
                    index += 1
                if not self.running() and (self._reader is None or not self._reader.is_alive()):
                    raise ProcessFailed(f"{self.name} exited before printing /{pattern}/:\n{self.tail()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ProcessFailed(f"{self.name} did not print /{pattern}/ in {timeout:.0f} s:\n{self.tail()}")
                self._changed.wait(timeout=min(remaining, 0.5))

    def mark(self) -> int:
        """A position in the output; pass it as ``after`` to wait only for newer lines."""
        with self._changed:
            return len(self.lines)


class RedisServer(ManagedProcess):
    """A ``redis-server`` of the test's own on a free port: no persistence, so a restart is empty
    unless the test says otherwise, exactly like the production settings of docker-compose."""

    name = "redis-server"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="tidbok-redis-")
        binary = shutil.which("redis-server") or "redis-server"
        cmd = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        cmd += ["--dir", self.dir, "--daemonize", "no"]
        super().__init__(cmd, env=os.environ)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> RedisServer:
        """Start (again, on the same port) and return once it answers PING."""
        self.spawn()
        wait_until(self.ping, what=f"redis-server on port {self.port} to answer PING")
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """A clean shutdown; returns once the port refuses connections."""
        self.terminate(timeout)
        wait_until(lambda: not port_open(self.port), timeout=timeout, what="redis-server's port to close")

    def kill(self) -> None:
        super().kill()
        wait_until(lambda: not port_open(self.port), timeout=STOP_TIMEOUT, what="redis-server's port to close")

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers (a hung server)."""
        self.signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal_group(signal.SIGCONT)

    def cleanup(self) -> None:
        self.thaw()
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def database_url(settings_dict: Mapping[str, object]) -> str:
    """A DATABASE_URL for another process that reaches the same database as ``settings_dict``
    (pass ``django.db.connection.settings_dict``: under pytest-django that is test_<name>)."""
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def app_env(
    *,
    database: str,
    redis: str,
    queue: str,
    email_backend: str = "django.core.mail.backends.locmem.EmailBackend",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a Tidbok process (web, worker or beat) in production mode."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": email_backend,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "test-only-secret-key-not-for-production",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        # A fresh connection per request/task: a terminated backend is never reused by accident.
        "DB_CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra or {})
    return env


class CeleryWorker(ManagedProcess):
    """``celery -A tidbok worker`` as production runs it (prefork unless told otherwise)."""

    name = "celery worker"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        pool: str = "solo",
        args: Iterable[str] = (),
        hostname: str | None = None,
        lean: bool = True,
    ) -> None:
        # The node name (celery@<host> by default in production); unique, so a ping reaches only it.
        self.hostname = hostname or f"fault-{uuid.uuid4().hex[:8]}@%h"
        cmd = [str(VENV_BIN / "celery"), "-A", "tidbok", "worker", f"--pool={pool}", "--loglevel=INFO"]
        cmd += ["-n", self.hostname]
        # Without the start-up handshake with other workers and their event chatter it is ready
        # sooner; lean=False runs exactly the worker command production runs.
        cmd += ["--without-mingle", "--without-gossip"] if lean else []
        cmd += list(args)
        super().__init__(cmd, env=env)

    def start(self, timeout: float = START_TIMEOUT) -> CeleryWorker:
        """Start and return once the worker has connected to the broker and says it is ready."""
        mark = self.mark()
        self.spawn()
        self.wait_for_line(r"\bready\.$", timeout=timeout, after=mark)
        return self

    def wait_for_task(self, task_name: str, *, timeout: float = START_TIMEOUT, after: int = 0) -> str:
        """The log line of ``task_name`` finishing successfully."""
        return self.wait_for_line(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded", timeout=timeout, after=after)


class CeleryBeat(ManagedProcess):
    name = "celery beat"

    def __init__(self, env: Mapping[str, str], *, schedule: Path) -> None:
        cmd = [str(VENV_BIN / "celery"), "-A", "tidbok", "beat", "--loglevel=INFO", "--schedule", str(schedule)]
        super().__init__(cmd, env=env)

    def start(self, timeout: float = START_TIMEOUT) -> CeleryBeat:
        mark = self.mark()
        self.spawn()
        self.wait_for_line(r"beat: Starting", timeout=timeout, after=mark)
        return self


def http_get(url: str, *, timeout: float = 10.0, headers: Mapping[str, str] | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET, also for 4xx/5xx answers; raises OSError if nothing answers."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class WebServer(ManagedProcess):
    """gunicorn serving ``tidbok.wsgi`` on a free port, in production settings."""

    name = "gunicorn"

    def __init__(self, env: Mapping[str, str], *, workers: int = 1, threads: int = 1) -> None:
        self.port = free_port()
        cmd = [str(VENV_BIN / "gunicorn"), "tidbok.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        cmd += ["--workers", str(workers), "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5"]
        env = {"ALLOWED_HOSTS": "127.0.0.1,localhost", **env}
        self.host = env["ALLOWED_HOSTS"].split(",")[0].strip().lstrip(".")
        super().__init__(cmd, env=env)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs) -> tuple[int, dict, bytes]:
        return http_get(self.base_url + path, **kwargs)

    def _healthy(self) -> bool:
        if not self.running():
            raise ProcessFailed(f"gunicorn exited:\n{self.tail()}")
        try:
            # As a TLS-terminating proxy asks, so that SECURE_SSL_REDIRECT does not answer instead.
            headers = {"Host": self.host, "X-Forwarded-Proto": "https"}
            return self.get("/healthz/", timeout=2, headers=headers)[0] == 200
        except OSError:
            return False

    def start(self, timeout: float = START_TIMEOUT) -> WebServer:
        self.spawn()
        wait_until(self._healthy, timeout=timeout, what=f"gunicorn on port {self.port} to answer /healthz/")
        return self


class TcpProxy:
    """A TCP forwarder on a port of its own in front of a real server (PostgreSQL): ``stop()``
    drops every connection through it and makes the port refuse new ones, as a server that went
    away does; ``start()`` takes the same port again. The app under test is pointed at the proxy,
    so the shared server itself is never touched."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Refuse new connections and cut the open ones; returns once the port refuses."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        wait_until(lambda: not port_open(self.port), timeout=STOP_TIMEOUT, what="the proxy's port to refuse")


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may contain spaces; the parent pid follows it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[tuple[int, str]] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            try:
                cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            found.append((child, cmdline.strip()))
            stack.append(child)
    return found

"""Start a ``registry: local`` plugin as CloudQuery does, relay its JSON logs, stop it.

Plugins are started on a unix socket, as CloudQuery starts them. Some cannot serve on one
(those built on CloudQuery's Python SDK bind only TCP): the failure is seen in their output as
soon as they print it, and they are started again on loopback TCP; the executable is then
started on TCP directly for the rest of the process.

A plugin process does not outlive the process that started it. Killed with SIGKILL (or by the
OOM killer), syncline cannot stop its plugins itself, and an orphaned plugin would serve on,
holding what it opened: a DuckDB destination's file lock, for one, which makes the re-run
fail. On Linux the kernel sends the plugin SIGTERM when its parent dies (the parent-death
signal); as that signal follows the thread that started the child, not the process, every
plugin is started from one thread that lives as long as the process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path

from syncline.plugin.errors import PluginInitError

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}


# Executables that could not serve on a unix socket, by real path.
_TCP_ONLY: set[str] = set()

_PR_SET_PDEATHSIG = 1
# Exit code of a plugin that could not be executed (as a shell reports it).
_CANNOT_EXECUTE = 127

# Run by a fresh interpreter in the plugin's process, before it becomes the plugin: asks the
# kernel for SIGTERM when the process that started it dies, leaves if that process is gone
# already (no signal would come), puts back the signals Python ignores, then executes the
# plugin in its place (same pid). Not Popen's ``preexec_fn``: that makes Popen fork instead
# of vfork, which runs gRPC's fork handlers in the child; with gRPC in use, they restart its
# poller thread there, which aborts the child before it executes anything once Popen has
# closed the descriptors the child does not keep (grpcio 1.81 and later).
_BECOME_PLUGIN = f"""\
import ctypes, os, signal, sys
ctypes.CDLL(None).prctl({_PR_SET_PDEATHSIG}, {int(signal.SIGTERM)})
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ"):
    if hasattr(signal, name):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as e:
    print(f"cannot start {{sys.argv[2]}}: {{e.strerror}}", file=sys.stderr, flush=True)
    os._exit({_CANNOT_EXECUTE})
"""


def _with_parent_death_signal(cmd: list[str]) -> list[str]:
    """``cmd``, started so that the kernel sends it SIGTERM when this process dies (Linux
    only; elsewhere ``cmd`` as it is)."""
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-I", "-S", "-c", _BECOME_PLUGIN, str(os.getpid()), *cmd]


_Job = tuple[list[str], "Future[subprocess.Popen[str]]"]


class _Spawner:
    """Starts processes from one daemon thread that lives as long as the process."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child has no such thread

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] | None = None

    def popen(self, cmd: list[str]) -> subprocess.Popen[str]:
        with self._lock:
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                threading.Thread(
                    target=self._serve, args=(self._jobs,), name="plugin-spawner", daemon=True
                ).start()
            jobs = self._jobs
        done: Future[subprocess.Popen[str]] = Future()
        jobs.put((cmd, done))
        return done.result()

    @staticmethod
    def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
        while True:
            cmd, done = jobs.get()
            try:
                done.set_result(
                    subprocess.Popen(
                        _with_parent_death_signal(cmd),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                        errors="replace",
                    )
                )
            except BaseException as e:  # reported on the caller's thread
                done.set_exception(e)


_spawner = _Spawner()


def _refuses_unix(line: str, socket_path: str) -> bool:
    """A line saying the plugin failed to bind our socket (gRPC's port error or the SDK's)."""
    low = line.lower()
    return socket_path in line and "fail" in low and ("bind" in low or "add port" in low)


class PluginProcess:
    def __init__(self, kind: str, name: str, path: str, log_level: str = "info") -> None:
        self.kind, self.name, self.path = kind, name, path
        self.log = logging.getLogger(f"syncline.plugin.{name}")
        self.errors = 0
        self.warnings = 0
        self._tail: deque[str] = deque(maxlen=20)
        self.log_level = log_level
        self._dir = tempfile.mkdtemp(prefix="syncline-plugin-")
        self.socket = str(Path(self._dir) / "plugin.sock")
        self._refused = threading.Event()  # the plugin said it cannot bind the socket
        if os.path.realpath(path) in _TCP_ONLY:
            self._spawn_tcp()
        else:
            self.address = f"unix://{self.socket}"
            self._spawn("unix", self.socket)

    def _spawn(self, network: str, address: str) -> None:
        cmd = [
            self.path, "serve", "--network", network, "--address", address,
            "--log-format", "json", "--log-level", self.log_level, "--no-sentry",
        ]  # fmt: skip
        try:
            self.proc = _spawner.popen(cmd)
        except OSError as e:
            raise PluginInitError(
                f"{self.kind} plugin {self.name}: cannot start {self.path}: {e.strerror}"
            ) from e
        self.log.debug(
            "plugin process started",
            extra={"kind": self.kind, "plugin": self.name, "pid": self.proc.pid, "path": self.path},
        )
        self._relays = [
            threading.Thread(target=self._relay, args=(stream,), daemon=True)
            for stream in (self.proc.stdout, self.proc.stderr)
        ]
        for t in self._relays:
            t.start()

    def _spawn_tcp(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        self._spawn("tcp", self.address)

    def _retry_on_tcp(self) -> bool:
        """Start the plugin again on TCP if it could not bind the unix socket."""
        if not self.address.startswith("unix://"):
            return False
        if not (self._refused.is_set() or "bind" in self.last_lines().lower()):
            return False
        self._end()  # it is exiting: no need to wait for it
        _TCP_ONLY.add(os.path.realpath(self.path))
        self._tail.clear()
        self._spawn_tcp()
        self.log.warning(
            "%s plugin %s could not serve on a unix socket; started it on TCP %s",
            self.kind,
            self.name,
            self.address,
        )
        return True

    def _relay(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            line = line.rstrip("\n")
            if not line:
                continue
            self._tail.append(line)
            if _refuses_unix(line, self.socket):
                self._refused.set()
            try:
                entry = json.loads(line)
                level = _LEVELS.get(str(entry.get("level", "info")).lower(), logging.INFO)
                message = entry.get("message") or entry.get("msg") or line
                extra = {
                    k: v for k, v in entry.items() if k not in ("level", "message", "msg", "time")
                }
                text = f"{message} {json.dumps(extra)}" if extra else str(message)
            except (ValueError, AttributeError):
                level, text = logging.INFO, line
            if level >= logging.ERROR:
                self.errors += 1
            elif level >= logging.WARNING:
                self.warnings += 1
            self.log.log(level, "%s plugin %s: %s", self.kind, self.name, text)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        # gRPC is imported here, not with the module: a process can be started before the
        # engine and its libraries are imported, and import alongside it.
        from syncline.grpc.transport import answers, open_channel

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._refused.is_set() and self._retry_on_tcp():
                continue
            code = self.proc.poll()
            if code is not None:
                for t in self._relays:
                    t.join(timeout=2)
                if self._retry_on_tcp():
                    continue
                if code == _CANNOT_EXECUTE and self.last_lines().startswith(": cannot start "):
                    raise PluginInitError(f"{self.kind} plugin {self.name}{self.last_lines()}")
                raise PluginInitError(
                    f"{self.kind} plugin {self.name} exited with code {code} before serving"
                    + self.last_lines()
                )
            if not self.address.startswith("unix://") or os.path.exists(self.socket):
                channel = open_channel(self.address)
                try:
                    if answers(channel, timeout_s=1):
                        return
                finally:
                    channel.close()
            time.sleep(0.05)
        self.stop()
        raise PluginInitError(
            f"{self.kind} plugin {self.name} did not start serving within {timeout_s:.0f}s"
            + self.last_lines()
        )

    def last_lines(self) -> str:
        return (": " + " | ".join(self._tail)) if self._tail else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self._end()
        with contextlib.suppress(OSError):
            os.unlink(self.socket)
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)

    def _end(self) -> None:
        """Stop the process and its log relays."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._relays:
            t.join(timeout=2)

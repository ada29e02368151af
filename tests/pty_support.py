"""Running the installed ``do-images`` as people do: as a process, and on a real
pseudo-terminal of a given width."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("do-images")
ENV = {
    key: value
    for key, value in os.environ.items()
    if key not in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "COLUMNS", "LINES")
}
POSIX = pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals and flock are POSIX")


def script(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the script with stdin empty; its exit status and what it printed."""
    return subprocess.run(
        [str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env or ENV,
        timeout=60,
        check=False,
    )


# ------------------------------------------------------------- a real terminal


def in_terminal(columns: int, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the script with stdout and stderr on a pseudo-terminal ``columns`` wide;
    return its exit status and everything the terminal received."""
    code, received, _ = on_terminal(columns, *argv, env=env)
    return code, received


def on_terminal(
    columns: int, *argv: str, env: dict[str, str] | None = None, stderr_apart: bool = False
) -> tuple[int, str, str]:
    """Run the script with stdout (and stderr, unless ``stderr_apart``) on a
    pseudo-terminal ``columns`` wide; return its exit status, what the terminal
    received and, with ``stderr_apart``, what went to stderr (a pipe)."""
    terminal = Terminal(columns, *argv, env=env, stderr_apart=stderr_apart)
    return terminal.finish()


class Terminal:
    """The script running on a pseudo-terminal ``columns`` wide, read as it writes: wait
    for some text, send it a signal (Ctrl-C is SIGINT), then read it to its end."""

    def __init__(
        self,
        columns: int,
        *argv: str,
        env: dict[str, str] | None = None,
        stderr_apart: bool = False,
    ) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.process = subprocess.Popen(
            [str(SCRIPT), *argv],
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE if stderr_apart else slave,
            env=env or ENV,
            close_fds=True,
        )
        os.close(slave)
        self.received = bytearray()

    @property
    def text(self) -> str:
        """Everything the terminal received so far (``\r\n`` read as ``\n``)."""
        return self.received.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def _read(self, timeout: float) -> bool:
        """Read what is there within ``timeout`` seconds; whether the other side is open."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the other side closed
            return False
        self.received += chunk
        return bool(chunk)

    def wait_for(self, wanted: str, timeout: float = 30) -> str:
        """Read until ``wanted`` has been received (or the script ended); the text so far."""
        while wanted not in self.text and self._read(timeout):
            pass
        return self.text

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the script."""
        self.process.send_signal(signum)

    def finish(self) -> tuple[int, str, str]:
        """Read to the end; the exit status, the terminal's text and the piped stderr."""
        try:
            while self._read(30):
                pass
        finally:
            os.close(self.master)
            code = self.process.wait(timeout=30)
        errors = ""
        if self.process.stderr is not None:
            errors = self.process.stderr.read().decode("utf-8")
            self.process.stderr.close()
        return code, self.text, errors

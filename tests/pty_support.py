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
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [str(SCRIPT), *argv],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE if stderr_apart else slave,
        env=env or ENV,
        close_fds=True,
    )
    os.close(slave)
    received = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
        code = process.wait(timeout=30)
    errors = process.stderr.read().decode("utf-8") if process.stderr is not None else ""
    if process.stderr is not None:
        process.stderr.close()
    return code, received.decode("utf-8").replace("\r\n", "\n"), errors

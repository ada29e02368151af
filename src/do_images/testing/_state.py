"""A sandbox's state in a JSON file, so it outlives the process (``Sandbox(state=PATH)``).

The file is replaced atomically (written beside it, flushed, then renamed over it),
so a reader sees the old state or the new one, never half of one. Where the platform
has ``fcntl`` (not Windows), every request holds an exclusive lock on ``PATH.lock``
while it reads the file, changes the state and writes it back, so two processes sharing one file
apply their requests one after the other and neither loses the other's change. A
file that is not JSON, or JSON that is not a sandbox state, is an error: it is never
silently replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FORMAT = "do-images sandbox state"
VERSION = 1


class SandboxStateError(ValueError):
    """The state file cannot be used: not JSON, not a sandbox state, or unreadable."""

    __module__ = "do_images.testing"  # its public path, for tracebacks and pickle


class StateFile:
    """One state file: read, locked, written atomically; knows whether it changed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int, int] | None = None
        self._key: str | None = None

    def __repr__(self) -> str:
        return f"<StateFile {str(self.path)!r}>"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock (a no-op where there is no ``fcntl``)."""
        if sys.platform == "win32":  # pragma: no cover - no cross-process lock there
            yield
            return
        import fcntl

        try:
            handle = open(f"{self.path}.lock", "a+b")  # noqa: SIM115 - held across the yield
        except OSError as exc:
            raise SandboxStateError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def changed(self) -> bool:
        """Whether the file differs from what was last read or written here."""
        return self._signature() != self._seen

    def read(self) -> dict[str, Any] | None:
        """The state in the file; ``None`` if there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._seen = None
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise SandboxStateError(f"cannot read sandbox state {self.path}: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SandboxStateError(
                f"{self.path} is not a sandbox state file (not JSON: {exc}); "
                "it was left as it is: pass another path or remove it"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SandboxStateError(
                f'{self.path} is not a sandbox state file (no "format": {FORMAT!r}); '
                "it was left as it is: pass another path or remove it"
            )
        if data.get("version") != VERSION:
            raise SandboxStateError(
                f"{self.path} is a sandbox state of version {data.get('version')!r}; "
                f"this do-images reads version {VERSION}"
            )
        self._seen = self._signature()
        self._key = _key(data)
        return data

    def write(self, data: dict[str, Any], *, clock: float, saved_at: float) -> None:
        """Replace the file with ``data`` and the moment it was written (atomically).

        ``data`` is serialised once, in ASCII (a lone surrogate a client sent, which
        UTF-8 cannot encode, is kept as its JSON escape): that text is both what is
        compared, so nothing is written when it is what this file last held (the clock
        and ``saved_at`` alone moving, as a realtime sandbox's do, change nothing), and
        the body of the file, with the format, version, ``clock`` and ``saved_at`` put in
        front.
        """
        body = json.dumps(data, indent=1, ensure_ascii=True)
        if body == self._key and not self.changed():
            return
        head = (
            f'{{\n "format": {json.dumps(FORMAT)},\n "version": {VERSION},\n'
            f' "clock": {float(clock)!r},\n "saved_at": {float(saved_at)!r},'
        )
        self._replace(head + body[1:])
        self._key = body
        self._seen = self._signature()

    def _replace(self, text: str) -> None:
        directory = self.path.parent
        try:
            handle, temporary = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=directory
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(text)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            raise SandboxStateError(f"cannot write sandbox state {self.path}: {exc}") from None


KEPT = ("start", "elapsed", "world")
"""The keys a write compares; the rest (format, version, clock, saved_at) say when."""


def _key(data: dict[str, Any]) -> str:
    # What a write of the same state would serialise, so an unchanged state is not
    # written back after a read.
    return json.dumps({k: data[k] for k in KEPT if k in data}, indent=1, ensure_ascii=True)

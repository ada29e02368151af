"""What a local disk image is, by its content: the check ``import_file`` makes first.

Only the head of a file is read, and a compressed file is decompressed only as far as
the headers need (64 KiB of it). The magic numbers are qemu's block drivers' and
file(1)'s:

- compression: gzip ``1f 8b``, bzip2 ``BZh``; refused: xz ``fd 37 7a 58 5a 00``, zstd
  ``28 b5 2f fd``, zip ``50 4b 03 04``;
- qcow2 ``QFI\\xfb`` (version at 4, backing file offset at 8, virtual size at 24, all
  big-endian); VHDX ``vhdxfile``; VMDK sparse extent ``KDMV`` (capacity in sectors at 12,
  little-endian; a text descriptor is refused); VDI ``7f 10 da be`` at 0x40 (disk size
  at 0x170); raw with an MBR (``55 aa`` at 510) or a GPT (``EFI PART`` at 512);
- refused: tar and OVA (``ustar`` at 257), ISO 9660 (``CD001`` at 32769, looked for
  before the MBR: hybrid ISOs carry both).
"""

from __future__ import annotations

import bz2
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from ._errors import ImageFileError

HEAD = 64 * 1024
"""How much of the (decompressed) start of a file the check reads."""
MAX_VIRTUAL_SIZE = 100 * 10**9
"""DigitalOcean imports images of at most 100 GB (10⁹ bytes each)."""

_RECOMPRESS = "recompress the raw or qcow2 file with gzip (gzip -k disk.qcow2) and import that"


@dataclass(frozen=True)
class ImageFile:
    """What a checked image file holds."""

    path: Path
    size: int
    """Bytes on disk (what is uploaded)."""
    format: str
    """``raw``, ``qcow2``, ``vhdx``, ``vmdk`` or ``vdi``."""
    compression: str | None
    """``gzip``, ``bzip2`` or ``None``."""
    virtual_size: int | None
    """The disk's size where the format records it (for raw, uncompressed: the file's)."""
    mtime_ns: int = 0
    """The file's modification time when it was checked, in nanoseconds."""
    inode: int = 0
    """The file's inode when it was checked (a file replaced by another has another)."""

    def changed(self) -> bool:
        """Whether the file is no longer the one checked: its size, modification time or
        inode differs now (or it cannot be looked at)."""
        try:
            now = self.path.stat()
        except OSError:
            return True
        return (now.st_size, now.st_mtime_ns, now.st_ino) != (self.size, self.mtime_ns, self.inode)

    @property
    def extension(self) -> str:
        """The extension the importer recognises: ``.qcow2.gz``, ``.img``, ``.vhdx`` …"""
        base = {"raw": ".img"}.get(self.format, f".{self.format}")
        return base + {"gzip": ".gz", "bzip2": ".bz2", None: ""}[self.compression]


def _inflate(head: bytes, compression: str) -> bytes:
    """Up to ``HEAD`` bytes of what ``head`` decompresses to (a truncated stream is fine)."""
    try:
        if compression == "gzip":
            return zlib.decompressobj(wbits=31).decompress(head, HEAD)
        return bz2.BZ2Decompressor().decompress(head, HEAD)
    except (zlib.error, OSError, ValueError, EOFError) as exc:
        raise ValueError(f"its {compression} stream is damaged ({exc})") from None


def _head(path: Path, compression: str | None) -> bytes:
    """The first ``HEAD`` bytes of the content; of a compressed file, of what it holds."""
    with path.open("rb") as stream:
        if compression is None:
            return stream.read(HEAD)
        # Compressed data is seldom much smaller than 1:64 at the start of a disk.
        data = b""
        decompressor: zlib._Decompress | bz2.BZ2Decompressor
        if compression == "gzip":
            decompressor = zlib.decompressobj(wbits=31)
        else:
            decompressor = bz2.BZ2Decompressor()
        while len(data) < HEAD:
            chunk = stream.read(256 * 1024)
            if not chunk:
                break
            try:
                data += decompressor.decompress(chunk, HEAD - len(data))
            except (zlib.error, OSError, ValueError, EOFError) as exc:
                raise ValueError(f"its {compression} stream is damaged ({exc})") from None
            if getattr(decompressor, "eof", False):
                break
        return data


def compression_of(head: bytes) -> str | None:
    """``gzip``, ``bzip2`` or ``None``; ``ValueError`` naming a compression DigitalOcean
    refuses, and what to do."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        raise ValueError(f"it is xz-compressed, which DigitalOcean cannot import: {_RECOMPRESS}")
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise ValueError(f"it is zstd-compressed, which DigitalOcean cannot import: {_RECOMPRESS}")
    if head.startswith(b"PK\x03\x04"):
        raise ValueError(
            f"it is a zip archive, which DigitalOcean cannot import: unzip it and {_RECOMPRESS}"
        )
    return None


def format_of(head: bytes, compression: str | None = None) -> tuple[str, int | None]:
    """The disk format of a (decompressed) head and its virtual size if recorded, or
    ``ValueError`` saying what it is instead and how to fix it."""
    if head.startswith(b"QFI\xfb"):
        return _qcow2(head)
    if head.startswith(b"vhdxfile"):
        return "vhdx", None
    if head.startswith(b"KDMV"):
        return "vmdk", struct.unpack_from("<Q", head, 12)[0] * 512 if len(head) >= 20 else None
    if head.startswith(b"# Disk DescriptorFile") or head.startswith(b"# Disk Descriptor"):
        raise ValueError(
            "it is a VMDK text descriptor: its data is in other files (extents); convert "
            "it to one file first (qemu-img convert -O qcow2 disk.vmdk disk.qcow2)"
        )
    if head[0x40:0x44] == b"\x7f\x10\xda\xbe":
        return "vdi", struct.unpack_from("<Q", head, 0x170)[0] if len(head) >= 0x178 else None
    if head[257:262] == b"ustar":
        raise ValueError(
            "it is a tar archive (an OVA is one): DigitalOcean imports the disk inside, not "
            f"the archive: extract the disk image and {_RECOMPRESS}"
        )
    if head[32769:32774] == b"CD001":
        raise ValueError(
            "it is an ISO 9660 installer image, not a disk image: install to a disk "
            "(raw or qcow2) and import that"
        )
    if head[512:520] == b"EFI PART" or head[510:512] == b"\x55\xaa":
        return "raw", None
    what = "compressed data" if compression else "data"
    raise ValueError(
        f"its {what} is not a disk image DigitalOcean imports (raw with an MBR or GPT, "
        "qcow2, VHDX, VMDK or VDI)"
    )


def _qcow2(head: bytes) -> tuple[str, int | None]:
    if len(head) < 32:
        raise ValueError("its qcow2 header is cut short")
    version, backing_offset, _, _, size = struct.unpack_from(">IQIIQ", head, 4)
    if version not in (2, 3):
        raise ValueError(f"it is qcow2 version {version}; DigitalOcean imports versions 2 and 3")
    if backing_offset != 0:
        raise ValueError(
            "it is a qcow2 overlay with a backing file: the disk is incomplete without it; "
            "flatten it first (qemu-img convert -O qcow2 overlay.qcow2 full.qcow2)"
        )
    return "qcow2", size


def sniff(head: bytes) -> tuple[str, str | None, int | None]:
    """Format, compression and virtual size of the start of a file (compressed or not);
    ``ValueError`` for anything DigitalOcean would refuse."""
    compression = compression_of(head)
    inner = head if compression is None else _inflate(head, compression)
    if compression is not None:
        compression_of(inner)  # xz inside gzip is no better
    disk, size = format_of(inner, compression)
    return disk, compression, size


def check_image_file(path: str | os.PathLike[str]) -> ImageFile:
    """Check a local image file before anything is sent: ``ImageFileError`` (a
    ``ValueError``) naming the file and the fix if DigitalOcean would refuse it."""
    where = Path(path)
    try:
        seen = where.stat()
        size = seen.st_size
        if not where.is_file():
            raise ImageFileError(where, "it is not a regular file")
        with where.open("rb") as stream:
            magic = stream.read(8)
    except OSError as exc:
        raise ImageFileError(where, f"it cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise ImageFileError(where, "it is empty")
    try:
        compression = compression_of(magic)
        inner = _head(where, compression)
        if compression is not None:
            compression_of(inner)  # xz inside gzip is no better
        disk, virtual = format_of(inner, compression)
    except ValueError as exc:
        raise ImageFileError(where, str(exc)) from None
    if disk == "raw" and compression is None:
        virtual = size
    if virtual is not None and virtual > MAX_VIRTUAL_SIZE:
        raise ImageFileError(
            where,
            f"its virtual size is {virtual / 10**9:.1f} GB; DigitalOcean imports at most "
            "100 GB: shrink the disk (or its partitions) first",
        )
    return ImageFile(where, size, disk, compression, virtual, seen.st_mtime_ns, seen.st_ino)

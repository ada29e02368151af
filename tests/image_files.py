"""Small disk image files for the import tests: headers are all a check reads."""

from __future__ import annotations

import bz2
import gzip
import io
import struct
import tarfile
import zipfile
from pathlib import Path

MiB = 1024 * 1024


def raw_mbr(size: int = 2 * MiB) -> bytes:
    data = bytearray(size)
    data[510:512] = b"\x55\xaa"
    return bytes(data)


def raw_gpt(size: int = 2 * MiB) -> bytes:
    data = bytearray(size)
    data[512:520] = b"EFI PART"
    return bytes(data)


def qcow2(virtual: int = 10 * 10**9, version: int = 3, backing: int = 0) -> bytes:
    header = b"QFI\xfb" + struct.pack(">IQIIQ", version, backing, 0, 16, virtual)
    return header + bytes(64 * 1024 - len(header))


def vhdx() -> bytes:
    return b"vhdxfile" + bytes(64 * 1024)


def vmdk(capacity_sectors: int = 20_971_520) -> bytes:
    header = b"KDMV" + struct.pack("<II", 1, 3) + struct.pack("<Q", capacity_sectors)
    return header + bytes(64 * 1024)


def vmdk_descriptor() -> bytes:
    return b'# Disk DescriptorFile\nversion=1\nRW 41943040 SPARSE "disk-s001.vmdk"\n'


def vdi(disk_size: int = 8 * 10**9) -> bytes:
    data = bytearray(64 * 1024)
    data[0:40] = b"<<< Oracle VM VirtualBox Disk Image >>>\n"
    data[0x40:0x44] = b"\x7f\x10\xda\xbe"
    data[0x170:0x178] = struct.pack("<Q", disk_size)
    return bytes(data)


def iso_hybrid() -> bytes:
    data = bytearray(64 * 1024)
    data[510:512] = b"\x55\xaa"  # hybrid: an MBR as well
    data[32769:32774] = b"CD001"
    return bytes(data)


def tar_of(inner: bytes, name: str = "disk.vmdk") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(inner)
        archive.addfile(info, io.BytesIO(inner))
    return out.getvalue()


def zip_of(inner: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("disk.img", inner)
    return out.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def bz(data: bytes) -> bytes:
    return bz2.compress(data, compresslevel=1)


XZ = b"\xfd7zXZ\x00\x00\x04" + bytes(64)
ZSTD = b"\x28\xb5\x2f\xfd" + bytes(64)


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def sparse_raw(directory: Path, name: str, size: int) -> Path:
    """A raw disk of ``size`` bytes with an MBR, sparse on disk."""
    path = directory / name
    with path.open("wb") as stream:
        stream.truncate(size)
        stream.seek(510)
        stream.write(b"\x55\xaa")
    return path

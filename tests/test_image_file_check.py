"""Nothing is uploaded that DigitalOcean would refuse: formats by content, with the fix."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from do_images import ImageFileError
from do_images._imagefile import check_image_file
from image_files import (
    XZ,
    ZSTD,
    bz,
    gz,
    iso_hybrid,
    qcow2,
    raw_gpt,
    raw_mbr,
    sparse_raw,
    tar_of,
    vdi,
    vhdx,
    vmdk,
    vmdk_descriptor,
    write,
    zip_of,
)

ACCEPTED: dict[str, tuple[Callable[[], bytes], str, str | None, int | None, str]] = {
    "raw-mbr": (raw_mbr, "raw", None, 2 * 1024 * 1024, ".img"),
    "raw-gpt": (raw_gpt, "raw", None, 2 * 1024 * 1024, ".img"),
    "raw-mbr.gz": (lambda: gz(raw_mbr()), "raw", "gzip", None, ".img.gz"),
    "raw-gpt.bz2": (lambda: bz(raw_gpt()), "raw", "bzip2", None, ".img.bz2"),
    "qcow2-v3": (qcow2, "qcow2", None, 10 * 10**9, ".qcow2"),
    "qcow2-v2": (lambda: qcow2(version=2), "qcow2", None, 10 * 10**9, ".qcow2"),
    "qcow2.gz": (lambda: gz(qcow2()), "qcow2", "gzip", 10 * 10**9, ".qcow2.gz"),
    "qcow2.bz2": (lambda: bz(qcow2()), "qcow2", "bzip2", 10 * 10**9, ".qcow2.bz2"),
    "vhdx": (vhdx, "vhdx", None, None, ".vhdx"),
    "vmdk": (vmdk, "vmdk", None, 20_971_520 * 512, ".vmdk"),
    "vdi": (vdi, "vdi", None, 8 * 10**9, ".vdi"),
    "vdi.gz": (lambda: gz(vdi()), "vdi", "gzip", 8 * 10**9, ".vdi.gz"),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_formats(tmp_path: Path, case: str) -> None:
    """Each accepted format and compression is recognised by content, whatever the file's suffix."""
    make, disk, compression, virtual, extension = ACCEPTED[case]
    # A misleading name: the content decides, never the suffix.
    found = check_image_file(write(tmp_path, "disk.iso", make()))
    assert (found.format, found.compression, found.virtual_size, found.extension) == (
        disk,
        compression,
        virtual,
        extension,
    )


REFUSED: dict[str, tuple[Callable[[], bytes], str]] = {
    "xz": (lambda: XZ, "xz-compressed.*recompress .* with gzip"),
    "zstd": (lambda: ZSTD, "zstd-compressed.*gzip"),
    "zip": (lambda: zip_of(raw_mbr()), "zip archive.*unzip it"),
    "ova-tar": (lambda: tar_of(vmdk()), "tar archive \\(an OVA is one\\).*extract the disk"),
    "tar.gz": (lambda: gz(tar_of(raw_mbr())), "tar archive"),
    "xz-in-gzip": (lambda: gz(XZ), "xz-compressed"),
    "iso-hybrid": (iso_hybrid, "ISO 9660 installer image"),
    "qcow2-backing": (lambda: qcow2(backing=4096), "backing file.*qemu-img convert"),
    "qcow2-v4": (lambda: qcow2(version=4), "qcow2 version 4"),
    "qcow2-too-big": (
        lambda: qcow2(virtual=101 * 10**9),
        "virtual size is 101.0 GB.*at most 100 GB",
    ),
    "vmdk-descriptor": (vmdk_descriptor, "VMDK text descriptor.*other files"),
    "vdi-too-big": (lambda: vdi(disk_size=200 * 10**9), "200.0 GB"),
    "random": (lambda: bytes(range(256)) * 400, "not a disk image DigitalOcean imports"),
    "gzip-of-random": (lambda: gz(bytes(range(256)) * 400), "compressed data is not a disk image"),
    "damaged-gzip": (lambda: b"\x1f\x8b\x08\x00" + b"\xff" * 100, "gzip stream is damaged"),
    "empty": (lambda: b"", "it is empty"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_with_the_fix(tmp_path: Path, case: str) -> None:
    """Each refused file raises ``ImageFileError`` (a ``ValueError``) naming path and fix."""
    make, message = REFUSED[case]
    path = write(tmp_path, "disk.qcow2.gz", make())
    with pytest.raises(ImageFileError, match=message) as caught:
        check_image_file(path)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert isinstance(caught.value, ValueError)


def test_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    """A missing path says it cannot be read; a directory says it is not a regular file."""
    with pytest.raises(ImageFileError, match="cannot be read"):
        check_image_file(tmp_path / "absent.img")
    with pytest.raises(ImageFileError, match="not a regular file"):
        check_image_file(tmp_path)


def test_a_raw_file_over_100_gb_is_refused_by_its_size(tmp_path: Path) -> None:
    """A raw image one byte over 100 GB is refused by its size."""
    path = sparse_raw(tmp_path, "big.img", 100 * 10**9 + 1)
    with pytest.raises(ImageFileError, match="at most 100 GB"):
        check_image_file(path)


def test_only_the_head_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Of a 1 GiB disk (raw, and gzip-compressed) only the first few hundred KiB are read."""
    read: list[int] = []
    opened = Path.open

    class Counting:
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def read(self, size: int = -1) -> bytes:
            data: bytes = self.stream.read(size)
            read.append(len(data))
            return data

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

    def counting_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        stream = opened(self, mode, *args, **kwargs)
        return Counting(stream) if "b" in mode else stream

    big = sparse_raw(tmp_path, "disk.img", 1 << 30)
    zeros = gzip.compress(bytes(16 << 20), compresslevel=1)
    packed = tmp_path / "disk.img.gz"  # 64 gzip members: 1 GiB once decompressed
    packed.write_bytes(gzip.compress(raw_mbr(16 << 20), compresslevel=1) + zeros * 63)
    assert packed.stat().st_size > 1 << 20
    monkeypatch.setattr(Path, "open", counting_open)
    assert check_image_file(big).format == "raw"
    assert sum(read) <= 64 * 1024 + 8
    read.clear()
    assert check_image_file(packed).compression == "gzip"
    assert sum(read) <= 512 * 1024

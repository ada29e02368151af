"""Uploading an image to an S3 server on loopback: ``import_file``'s upload against boto3's
``upload_file`` with its defaults, the same file, interleaved rounds, each in a process of
its own so peak memory is its own.

moto's server mode stands in for Spaces (on 127.0.0.1). Reported: the median wall time of
each, their ratio, the peak RSS growth of each (over the process after its imports), and
the median time of the format check on the same file.

    python benchmarks/upload.py                    # a 1 GiB file, 5 rounds
    python benchmarks/upload.py --mib 16 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACCESS, SECRET = "AKIABENCHMARK000001", "benchmark-secret"

CHILD = """
import json, os, sys, threading, time
mode, endpoint, bucket, path = sys.argv[1:5]
import boto3
from do_images import SpacesTarget
from do_images._imagefile import check_image_file
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * page

before, peak, done = rss(), [0], threading.Event()

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.005)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
if mode != "plain":  # the file is read for its digests before the upload, as import_file does
    target = SpacesTarget(bucket, "us-east-1", endpoint=endpoint,
                          access_key="ACCESS_KEY", secret_key="SECRET_KEY")
    uploader, image = target.uploader(), check_image_file(path)
    digests = uploader.digests(image)
started = time.perf_counter()
if mode == "plain":
    boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="ACCESS_KEY", aws_secret_access_key="SECRET_KEY",
    ).upload_file(path, bucket, "plain.img")
else:
    uploader.upload(image, "sdk.img", digests=digests, public=False, resume=False,
                    on_progress=None)
seconds = time.perf_counter() - started
done.set()
sampler.join()
print(json.dumps({"seconds": seconds, "growth_mib": (peak[0] - before) / 2**20}))
""".replace("ACCESS_KEY", ACCESS).replace("SECRET_KEY", SECRET)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def one(mode: str, endpoint: str, bucket: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, endpoint, bucket, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mib", type=int, default=1024, help="the file's size in MiB")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    args = parser.parse_args(argv)
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's access log

    from do_images._imagefile import check_image_file
    from do_images._spaces import PART_SIZE, PARTS_IN_FLIGHT

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS,
            aws_secret_access_key=SECRET,
        ).create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "disk.img"
            with path.open("wb") as stream:  # a raw disk with an MBR, written out in full
                block = bytes(range(256)) * 4096
                for _ in range(args.mib):
                    stream.write(block)
                stream.seek(510)
                stream.write(b"\x55\xaa")
            checks = []
            for _ in range(max(5, args.rounds)):
                started = time.perf_counter()
                check_image_file(path)
                checks.append(time.perf_counter() - started)
            runs: dict[str, list[dict[str, float]]] = {"plain": [], "sdk": []}
            for _ in range(args.rounds):
                for mode in ("plain", "sdk"):
                    runs[mode].append(one(mode, endpoint, "bench", path))
    finally:
        server.stop()
    median = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
    growth = {m: max(r["growth_mib"] for r in rs) for m, rs in runs.items()}
    bound = PARTS_IN_FLIGHT * PART_SIZE / 2**20 + 64
    print("| case | median | peak RSS growth | ratio | target | met |")
    print("|---|---:|---:|---:|---:|:-:|")
    print(
        f"| upload {args.mib} MiB: boto3 upload_file | {median['plain']:.2f} s | "
        f"{growth['plain']:.0f} MiB |  |  |  |"
    )
    ratio = median["sdk"] / median["plain"]
    print(
        f"| upload {args.mib} MiB: import_file's upload | {median['sdk']:.2f} s | "
        f"{growth['sdk']:.0f} MiB | {ratio:.2f}x | ≤ 1.10x, RSS ≤ {bound:.0f} MiB | "
        f"{'yes' if ratio <= 1.1 and growth['sdk'] <= bound else 'no'} |"
    )
    check_ms = statistics.median(checks) * 1000
    print(
        f"| format check of the {args.mib} MiB file | {check_ms:.2f} ms |  |  | < 10 ms | "
        f"{'yes' if check_ms < 10 else 'no'} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The sandbox's importer: what DigitalOcean does with an import URL, for loopback URLs.

It fetches the head of the image with a ranged GET and sniffs it with the same check as
``import_file``. ``World`` decides which imports are fetched; this module only fetches.
"""

from __future__ import annotations

import httpx

_UNREACHABLE = (
    "We were unable to download your image from the URL you provided ({why}). Please "
    "make sure it is reachable from the Internet and try again."
)
_NOT_AN_IMAGE = (
    "The file at the URL you provided is not an image we can import ({why}). Supported "
    "formats are raw, qcow2, vhdx, vdi and vmdk, optionally compressed with gzip or bzip2."
)
_COMPRESSION = (
    "The file at the URL you provided uses a compression we cannot read ({why}). "
    "Supported compression formats are gzip and bzip2."
)


def fetch_failure(url: str) -> str | None:
    """Fetch the head of a loopback image as the importer does (a ranged GET) and sniff
    it: ``None`` when DigitalOcean would import it, else its ``error_message``."""
    from .._imagefile import sniff

    # A transport, not a client: httpx.Client logs each request's URL at INFO, and an
    # import URL is often presigned (a secret).
    request = httpx.Request("GET", url, headers={"Range": "bytes=0-65535"})
    request.extensions["timeout"] = httpx.Timeout(5.0).as_dict()
    try:
        with httpx.HTTPTransport() as transport:
            response = transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
    except httpx.HTTPError as exc:
        return _UNREACHABLE.format(why=type(exc).__name__)
    if response.status_code not in (200, 206):
        return _UNREACHABLE.format(why=f"HTTP {response.status_code}")
    try:
        sniff(response.content)
    except ValueError as exc:
        why = str(exc).split(":")[0]
        compressed = "compressed" in why or "zip archive" in why
        return (_COMPRESSION if compressed else _NOT_AN_IMAGE).format(why=why)
    return None

"""The optional extras: what each installs, and the one way to say that one is missing.

The package is on no index, so a message cannot say ``pip install 'do-images[tls]'``:
it names the package the extra installs (on the index) and the extra, for a checkout.
"""

from __future__ import annotations

EXTRAS: dict[str, str] = {
    "aiohttp": "httpx-aiohttp>=0.2",
    "completion": "argcomplete>=3.5",
    "spaces": "boto3>=1.34",
    "tls": "trustme>=1.0",
}
"""Each extra of ``pyproject.toml`` and the requirement it adds."""


def needs_extra(what: str, extra: str) -> str:
    """``what needs boto3, the spaces extra: pip install 'boto3>=1.34' (in a checkout:
    pip install '.[spaces]')``: what is missing and how to install it."""
    requirement = EXTRAS[extra]
    package = requirement.split(">=")[0]
    return (
        f"{what} needs {package}, the {extra} extra: pip install '{requirement}' "
        f"(in a checkout: pip install '.[{extra}]')"
    )

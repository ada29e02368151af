"""Testing helpers: ``Sandbox``, an offline DigitalOcean Images API.

>>> from do_images.testing import Sandbox
>>> sandbox = Sandbox()
>>> with sandbox.client() as do:
...     image = do.image.info("ubuntu-24-04-x64")
>>> image.distribution
'Ubuntu'
"""

from ._sandbox import (
    SANDBOX_BASE_URL,
    SANDBOX_TOKEN,
    Sandbox,
    SandboxAccount,
    SandboxRequest,
    SandboxTransfer,
)
from ._state import SandboxStateError
from ._transport import AsyncSandboxTransport, SandboxTransport

__all__ = [
    "SANDBOX_BASE_URL",
    "SANDBOX_TOKEN",
    "AsyncSandboxTransport",
    "Sandbox",
    "SandboxAccount",
    "SandboxRequest",
    "SandboxStateError",
    "SandboxTransfer",
    "SandboxTransport",
]

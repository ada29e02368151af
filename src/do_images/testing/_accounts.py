"""What the sandbox tells of its accounts: ``SandboxAccount`` (who one is, and clients
that act as it) and ``SandboxTransfer`` (an image's transfer between them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._client import AsyncClient, Client


class _Clients(Protocol):
    """What an account needs of its sandbox: clients that act as a token."""

    def client(self, *, token: str = ...) -> Client: ...

    def async_client(self, *, token: str = ...) -> AsyncClient: ...


@dataclass(frozen=True)
class SandboxTransfer:
    """An account transfer as the sandbox holds it (``Sandbox.account_transfers``)."""

    id: int
    image_id: int
    sender: str
    """The account that started it."""
    recipient_email: str | None
    recipient_team: str | None
    state: str
    """``pending``, ``accepted``, ``cancelled`` or ``declined``."""


class SandboxAccount:
    """One account of a sandbox (``Sandbox.account(name)``): who it is, and clients
    that act as it."""

    __slots__ = ("_sandbox", "email", "name", "team", "token")

    def __init__(self, sandbox: _Clients, name: str, email: str, team: str, token: str) -> None:
        self._sandbox = sandbox
        self.name = name
        """The account's name in the sandbox."""
        self.email = email
        """Its email address: ``transfer_to_account(..., email=account.email)``."""
        self.team = team
        """Its team UUID: a transfer to it is accepted at once."""
        self.token = token
        """The bearer token that acts as this account (in-process and over ``serve()``)."""

    def __repr__(self) -> str:
        return f"<SandboxAccount {self.name!r} email={self.email!r}>"

    def client(self, **kwargs: Any) -> Client:
        """A ``Client`` acting as this account (``Sandbox.client``'s options)."""
        return self._sandbox.client(token=self.token, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """An ``AsyncClient`` acting as this account (``Sandbox.async_client``'s options)."""
        return self._sandbox.async_client(token=self.token, **kwargs)

"""https for a served sandbox: a throwaway certificate authority, made by ``trustme``.

The authority's private key stays in this process's memory; only its certificate (public)
is written out, for clients to trust. Nothing touches the system's trust store.
"""

from __future__ import annotations

import os
import ssl

from .._extras import needs_extra

NEEDS_TRUSTME = needs_extra("serving https", "tls")

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
"""The names the served certificate is valid for."""


def server_context(ca_file: str | os.PathLike[str]) -> ssl.SSLContext:
    """A server-side TLS context with a certificate for the loopback names, signed by a
    certificate authority made now; that authority's certificate (PEM) goes to ``ca_file``.

    Raises ``ImportError`` naming the extra to install when ``trustme`` is missing, and
    ``OSError`` when ``ca_file`` cannot be written.
    """
    try:
        import trustme
    except ImportError:
        raise ImportError(NEEDS_TRUSTME, name="trustme") from None
    authority = trustme.CA(organization_name="do-images sandbox")
    certificate = authority.issue_cert(*LOOPBACK_NAMES)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.set_alpn_protocols(["http/1.1"])
    # The key and chain pass through a private temporary file (trustme's way; the
    # standard library loads a chain from files only), removed at once.
    certificate.configure_cert(context)
    authority.cert_pem.write_to_path(os.fspath(ca_file))
    return context

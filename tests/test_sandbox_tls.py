"""``Sandbox.serve(tls=True)``: the sandbox over https on loopback, trusted through the
certificate authority it writes out, with everything the served sandbox does over http."""

from __future__ import annotations

import _thread
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from do_images import APIConnectionError, Client, RateLimitError
from do_images.testing import Sandbox
from support import SANDBOX_START

SNAPSHOT = 180040001
TOKEN = "dop_v1_served"


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    """Where the served sandbox writes its certificate authority's certificate."""
    return tmp_path / "ca.pem"


@pytest.fixture
def served(sandbox: Sandbox, ca_file: Path) -> Iterator[str]:
    """The spec-checked ``sandbox`` over https; its base URL."""
    with sandbox.serve(tls=True, ca_file=ca_file) as base_url:
        yield base_url


def trusting(ca_file: Path) -> ssl.SSLContext:
    """A client-side context that trusts only the served sandbox's authority."""
    return ssl.create_default_context(cafile=str(ca_file))


def client(sandbox: Sandbox, base_url: str, ca_file: Path, **kwargs: object) -> Client:
    """A ``Client`` over https that trusts ``ca_file``; its waits advance the sandbox clock."""
    return Client(
        TOKEN,
        base_url=base_url,
        transport=httpx.HTTPTransport(verify=trusting(ca_file)),
        sleep=sandbox.advance,
        clock=sandbox.clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_serve_tls_yields_an_https_loopback_url_and_writes_the_ca(
    served: str, ca_file: Path
) -> None:
    """The base URL is ``https://127.0.0.1:PORT``; ``ca_file`` holds one certificate and
    no private key (the authority's key never leaves the process)."""
    url = httpx.URL(served)
    assert (url.scheme, url.host) == ("https", "127.0.0.1")
    assert url.port
    pem = ca_file.read_text()
    assert pem.count("-----BEGIN CERTIFICATE-----") == 1
    assert "PRIVATE KEY" not in pem


def test_client_trusts_the_ca_through_ssl_cert_file(
    sandbox: Sandbox, served: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SSL_CERT_FILE`` pointing at the written certificate is all a default ``Client``
    needs: no ``verify=False``, no client option."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with Client(TOKEN, base_url=served) as do:
        assert do.image.info("ubuntu-24-04-x64").slug == "ubuntu-24-04-x64"
        do.image.update(SNAPSHOT, "renamed over https")
    assert next(i for i in sandbox.images if i.id == SNAPSHOT).name == "renamed over https"


def test_client_trusts_the_ca_through_an_ssl_context(
    sandbox: Sandbox, served: str, ca_file: Path
) -> None:
    """An httpx transport whose ``verify`` is a context loaded with the file works as well;
    a transfer waits to completion over https on the virtual clock."""
    with client(sandbox, served, ca_file) as do:
        action = do.image.transfer(SNAPSHOT, "sgp1", wait=True)
    assert action.status == "completed"


def test_without_the_ca_the_certificate_is_refused(
    sandbox: Sandbox, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification is real: trusting only the usual roots, the client cannot connect
    and nothing reaches the sandbox."""
    import certifi

    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    with (
        Client(TOKEN, base_url=served, max_retries=0) as do,
        pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        do.image.info(SNAPSHOT)
    assert sandbox.count() == 0


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "::1"])
def test_the_certificate_is_valid_for_each_loopback_name(
    sandbox: Sandbox, ca_file: Path, name: str
) -> None:
    """A client checking the host name accepts the certificate as ``127.0.0.1``,
    ``localhost`` and ``::1`` (on a server listening there)."""
    host = "::1" if name == "::1" else "127.0.0.1"
    try:
        serving = sandbox.serve(host, tls=True, ca_file=ca_file)
        base_url = serving.__enter__()
    except OSError:
        pytest.skip(f"no {host} on this machine")
    try:
        port = httpx.URL(base_url).port
        assert port is not None
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            trusting(ca_file).wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            assert tls.selected_alpn_protocol() in (None, "http/1.1")
    finally:
        serving.__exit__(None, None, None)


def test_the_certificate_is_refused_for_another_name(served: str, ca_file: Path) -> None:
    """The certificate names only loopback: checked as ``example.com`` it fails."""
    port = httpx.URL(served).port
    assert port is not None
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        trusting(ca_file).wrap_socket(raw, server_hostname="example.com")


def test_list_links_are_https_on_the_served_host(
    sandbox: Sandbox, served: str, ca_file: Path
) -> None:
    """Pages' next links keep the https scheme, host and port the client used."""
    with client(sandbox, served, ca_file) as do:
        ids = [image.id for image in do.image.iter(per_page=4)]
    assert ids == [image.id for image in sandbox.images]
    first = sandbox.requests[0].json()
    assert first["links"]["pages"]["next"].startswith(served + "/v2/images?")


def test_plain_http_on_the_https_port_is_told_to_use_https(
    sandbox: Sandbox, served: str, ca_file: Path
) -> None:
    """An http request on the https port gets a 400 saying so, not a reset connection,
    reaches no route, and the server goes on answering https."""
    plain = served.replace("https://", "http://")
    reply = httpx.get(plain + "/v2/images", headers={"authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 400
    assert reply.json() == {
        "id": "bad_request",
        "message": "This server speaks https: use https:// in the URL.",
    }
    assert sandbox.count() == 0
    with client(sandbox, served, ca_file) as do:
        assert do.image.info(SNAPSHOT).id == SNAPSHOT


def test_a_path_outside_the_api_is_a_404_in_the_apis_error_shape(
    sandbox: Sandbox, served: str, ca_file: Path
) -> None:
    """Anything the sandbox does not serve is a 404 with the API's error body; without a
    token it is a 401 first, as on the API."""
    with httpx.Client(base_url=served, verify=trusting(ca_file)) as http:
        missing = http.get("/v2/databases", headers={"authorization": f"Bearer {TOKEN}"})
        anonymous = http.get("/v2/databases")
    assert missing.status_code == 404
    body = missing.json()
    assert (body["id"], body["message"]) == (
        "not_found",
        "The resource you were accessing could not be found.",
    )
    assert body["request_id"] == missing.headers["x-request-id"]
    assert (anonymous.status_code, anonymous.json()["id"]) == (401, "unauthorized")


# ------------------------------------------------ what the served sandbox keeps doing


def test_faults_and_drops_behave_as_over_http(sandbox: Sandbox, served: str, ca_file: Path) -> None:
    """A queued 503 is retried; a dropped response is a closed connection after the
    change was made; the transfer whose answer was lost is not sent twice."""
    sandbox.fail_next(503)
    sandbox.drop_next(method="POST")
    with client(sandbox, served, ca_file) as do:
        assert do.image.info(SNAPSHOT).id == SNAPSHOT
        action = do.image.transfer(SNAPSHOT, "lon1")
    assert sandbox.count("POST") == 1
    assert [r.status for r in sandbox.requests[:2]] == [503, 200]
    assert action.region_slug == "lon1"
    sandbox.drop_next()
    with (
        httpx.Client(base_url=served, verify=trusting(ca_file)) as http,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        http.put(
            f"/v2/images/{SNAPSHOT}",
            json={"name": "renamed"},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert next(i for i in sandbox.images if i.id == SNAPSHOT).name == "renamed"


def test_the_request_budget_holds_over_https(sandbox: Sandbox, served: str, ca_file: Path) -> None:
    """An exhausted budget is a 429 with its headers, as over http."""
    sandbox.exhaust_rate_limit(reset_in=20)
    with client(sandbox, served, ca_file, max_retries=0) as do, pytest.raises(RateLimitError):
        do.image.info(SNAPSHOT)
    assert sandbox.requests[-1].status == 429


def test_accounts_tokens_act_as_their_accounts_over_https(sandbox: Sandbox, ca_file: Path) -> None:
    """A second account's token sees its own (empty) private list, not the default's;
    a token-only sandbox refuses any other token."""
    other = sandbox.account("other")
    with sandbox.serve(tls=True, ca_file=ca_file) as base_url:
        secure = httpx.HTTPTransport(verify=trusting(ca_file))
        with Client(other.token, base_url=base_url, transport=secure) as do:
            assert do.image.list(private=True) == []
        with client(sandbox, base_url, ca_file) as do:
            assert do.image.list(private=True) != []
    strict = Sandbox(token="only-this", start=SANDBOX_START)
    with (
        strict.serve(tls=True, ca_file=ca_file) as base_url,
        httpx.Client(base_url=base_url, verify=trusting(ca_file)) as http,
    ):
        refused = http.get("/v2/images", headers={"authorization": "Bearer other"})
        allowed = http.get("/v2/images", headers={"authorization": "Bearer only-this"})
    assert (refused.status_code, allowed.status_code) == (401, 200)


def test_a_state_file_keeps_what_was_done_over_https(tmp_path: Path, ca_file: Path) -> None:
    """A served sandbox with a state file writes its changes there, for the next one."""
    state = tmp_path / "state.json"
    first = Sandbox(state=state, start=SANDBOX_START)
    with (
        first.serve(tls=True, ca_file=ca_file) as base_url,
        client(first, base_url, ca_file) as do,
    ):
        do.image.update(SNAPSHOT, "kept")
    again = Sandbox(state=state)
    assert next(i for i in again.images if i.id == SNAPSHOT).name == "kept"


def test_serve_forever_over_https_until_interrupted(sandbox: Sandbox, ca_file: Path) -> None:
    """``serve_forever(tls=True)`` announces an https URL, answers there with the written
    authority trusted, and Ctrl-C stops it and frees the port."""
    statuses: list[int] = []
    urls: list[str] = []

    def client_then_ctrl_c(base_url: str) -> None:
        try:
            with httpx.Client(base_url=base_url, verify=trusting(ca_file)) as http:
                statuses.append(http.get("/v2/images").status_code)
        finally:
            _thread.interrupt_main()  # what Ctrl-C does to the serving (main) thread

    def ready(base_url: str) -> None:
        urls.append(base_url)
        threading.Thread(target=client_then_ctrl_c, args=(base_url,)).start()

    sandbox.serve_forever(ready=ready, tls=True, ca_file=ca_file)
    assert statuses == [401]
    assert urls[0].startswith("https://127.0.0.1:")
    port = httpx.URL(urls[0]).port
    assert port is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# ----------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tls": True}, ValueError, "tls=True needs ca_file"),
        ({"ca_file": "ca.pem"}, ValueError, "ca_file is for tls=True"),
        ({"tls": "yes", "ca_file": "ca.pem"}, TypeError, "tls must be a bool"),
        ({"tls": True, "ca_file": 3}, TypeError, "ca_file must be a path"),
    ],
)
def test_tls_arguments_are_checked_before_serving(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """``tls`` and ``ca_file`` go together and are checked before anything listens."""
    sandbox = Sandbox()
    with pytest.raises(error, match=message), sandbox.serve(**kwargs):  # type: ignore[arg-type]
        pass
    assert sandbox.count() == 0


def test_without_trustme_serving_https_names_the_extra(
    ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the optional ``trustme``, ``serve(tls=True)`` raises an ``ImportError``
    that says which extra to install, and writes nothing."""
    monkeypatch.setitem(sys.modules, "trustme", None)  # as if not installed
    with (
        pytest.raises(
            ImportError, match=r"needs trustme, the tls extra: pip install 'trustme>=1.0'"
        ),
        Sandbox().serve(tls=True, ca_file=ca_file),
    ):
        pass
    assert not ca_file.exists()


def test_plain_http_serving_needs_no_trustme() -> None:
    """The default install (httpx and pydantic) still serves http: in a fresh interpreter
    where trustme cannot be imported, ``serve()`` answers and nothing imported it."""
    code = (
        "import sys; sys.modules['trustme'] = None\n"  # as if not installed
        "import httpx\n"
        "from do_images.testing import Sandbox\n"
        "with Sandbox().serve() as url:\n"
        "    print(httpx.get(url + '/v2/images', headers={'authorization': 'Bearer t'}))\n"
        "print('do_images.testing._tls' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split("\n")[:2] == ["<Response [200 OK]>", "False"], done.stderr

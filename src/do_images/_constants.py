"""Every default and limit of do_images, once.

Clients, the command line, ``legacy`` and the sandbox all read their numbers from
here, so a default changes in one place.
"""

from __future__ import annotations

# -- where and who
DEFAULT_BASE_URL = "https://api.digitalocean.com"
TOKEN_VARIABLES = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
"""Where a token is looked for when none is passed, in this order."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
"""The hosts that may be reached over plain ``http://`` (tests, the sandbox)."""

# -- requests
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT_CAP = 5.0
"""Connecting never waits longer than this, whatever the overall timeout."""
DEFAULT_MAX_RETRIES = 2
MAX_PER_PAGE = 200
"""The most items the API returns on one page."""
MAX_TAG_LENGTH = 255
"""The longest tag name the API takes."""
ERROR_TEXT_LIMIT = 1024
"""Error messages and bodies kept on exceptions are cut to this many bytes."""

# -- retrying
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_SERVER_WAIT = 120.0
"""A server-directed wait longer than this is not slept: the error is raised at once."""
MAX_HEADER_WAIT = 86_400.0
"""A header asking for a longer wait than a day is taken as malformed, not obeyed."""

# -- the request budget
DEFAULT_REQUESTS_PER_MINUTE = 250
"""The API's limit per token; clients keep under it unless told otherwise."""
MINUTE = 60.0

# -- waiting for actions
DEFAULT_POLL = 5.0
DEFAULT_WAIT_TIMEOUT = 300.0
MIN_POLL = 1.0

# -- the lifecycle jobs: imports and transfers take minutes to over an hour
DEFAULT_LIFECYCLE_POLL = 10.0
DEFAULT_LIFECYCLE_TIMEOUT = 3600.0

# -- droplet snapshots
SNAPSHOT_IMAGE_LAG = 300.0
"""How long a droplet's snapshot listing is read again for the image of a completed
snapshot before ``SnapshotNotFoundError``."""
SHUTDOWN_GRACE = 120.0
"""How long ``snapshot(power_off=True)`` waits for a ``shutdown`` to turn the droplet off
before it sends ``power_off``."""
POWER_OFF_WAIT = 120.0
"""How long it then waits for ``power_off`` to turn it off."""
POWER_POLL = 5.0
"""The pause between polls while a droplet powers off or on (at most; ``poll`` if less)."""
POWER_ON_BOUND = 30.0
"""How long the power-on after a snapshot may take to be accepted (a droplet still
locked answers 422); shielded from a further interruption."""
POWER_ON_RETRY = 3.0
"""The pause before asking a busy droplet to power on again."""
POWER_ON_TIMEOUT = 300.0
"""How long ``power_on(wait=True)`` waits for the droplet to be on."""

# -- fleets
FLEET_VERSION = 1
"""The ``version`` a fleet file must declare."""
DEFAULT_MAX_DELETE = 20
"""The most deletions one ``apply`` makes unless told otherwise (``--max-delete``)."""
DEFAULT_MAX_PLAN_AGE_SECONDS = 3600.0
"""A saved plan older than this (by the server's clock) is stale."""
TRANSFER_SECONDS = 600.0
"""About how long one image transfer takes, for a plan's estimate."""
SNAPSHOT_SECONDS = 600.0
"""About how long one droplet snapshot takes, for a plan's estimate."""
PLAN_CLOCK_SKEW_SECONDS = 60.0
"""How far a plan's ``listed_at`` may lie after the server's time as apply reads it."""

# -- concurrent paging
DEFAULT_PAGE_CONCURRENCY = 4
MAX_PAGE_CONCURRENCY = 32
MAX_PLANNED_PAGES = 10_000
"""A list claiming more pages than this (2,000,000 images) is walked link by link."""
CONCURRENT_PAGES_MIN_LATENCY = 0.010
"""Pages are fetched concurrently only from a server slower than this per page: from a
faster one (loopback, an in-memory transport) threads or tasks only add switching."""
BUDGET_PER_REQUEST_IN_FLIGHT = 100
"""Each page in flight needs this many requests left in the rate-limit budget."""

# -- the sandbox
SANDBOX_DEFAULT_PER_PAGE = 20
"""The API's page size when a request names none."""
MAX_REQUEST_BODY = 1 << 20
"""The largest request body the sandbox reads."""

MIN_REDACTED_TOKEN = 8
"""Tokens shorter than this are not blanked out of error text: so short a string is no
DigitalOcean token (those are 71 characters), and blanking it would corrupt words."""

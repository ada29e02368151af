"""Typed models of the objects the Images API sends.

Every model keeps what the API sent and nothing more: fields the API did not send
stay unset (and out of ``model_dump()``), unknown fields are kept, and unknown enum
values stay plain strings, so a new value on the server never breaks a client.
"""

from __future__ import annotations

from . import _actions, _base, _droplets, _images, _regions, _snapshots
from ._actions import (
    ACTION_ANY,
    ACTION_PAGE,
    Action,
    ActionEnvelope,
    ActionPage,
    ActionResourceType,
    ActionStatus,
    ActionType,
)
from ._base import ERROR_BODY, ErrorBody, JsonValidator, RateLimit, Timestamp
from ._droplets import (
    DROPLET_ENVELOPE,
    DROPLET_PAGE,
    DROPLET_SNAPSHOT_PAGE,
    Droplet,
    DropletEnvelope,
    DropletPage,
    DropletSnapshotPage,
    DropletStatus,
)
from ._images import (
    ACCOUNT_TRANSFER,
    IMAGE_ENVELOPE,
    IMAGE_PAGE,
    AccountTransfer,
    Image,
    ImageEnvelope,
    ImagePage,
    ImageStatus,
    ImageType,
)
from ._regions import REGION_PAGE, Region, RegionPage
from ._snapshots import (
    SNAPSHOT_ENVELOPE,
    SNAPSHOT_PAGE,
    Snapshot,
    SnapshotEnvelope,
    SnapshotPage,
    SnapshotResourceType,
)

# The models do_images makes public (its __all__ says which), and the envelopes, their
# validators and the wire types the SDK parses with.
__all__ = [
    "ACCOUNT_TRANSFER",
    "ACTION_ANY",
    "ACTION_PAGE",
    "DROPLET_ENVELOPE",
    "DROPLET_PAGE",
    "DROPLET_SNAPSHOT_PAGE",
    "ERROR_BODY",
    "IMAGE_ENVELOPE",
    "IMAGE_PAGE",
    "REGION_PAGE",
    "SNAPSHOT_ENVELOPE",
    "SNAPSHOT_PAGE",
    "AccountTransfer",
    "Action",
    "ActionEnvelope",
    "ActionPage",
    "ActionResourceType",
    "ActionStatus",
    "ActionType",
    "Droplet",
    "DropletEnvelope",
    "DropletPage",
    "DropletSnapshotPage",
    "DropletStatus",
    "ErrorBody",
    "Image",
    "ImageEnvelope",
    "ImagePage",
    "ImageStatus",
    "ImageType",
    "JsonValidator",
    "RateLimit",
    "Region",
    "RegionPage",
    "Snapshot",
    "SnapshotEnvelope",
    "SnapshotPage",
    "SnapshotResourceType",
    "Timestamp",
]

MODULES = (_base, _images, _regions, _actions, _droplets, _snapshots)
"""The modules that define the models, one per resource and the base they share."""

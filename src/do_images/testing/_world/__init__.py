"""The sandbox's store and the Images API's rules, on plain dicts, with no HTTP.

``World`` holds the images and actions as the API would send them and applies the
API's rules to them: ids, filters, which changes are allowed, how actions and
imports progress on the virtual clock. Each family of rules is an aggregate of its own
(a mixin over ``_core.WorldCore``, which holds the store): ``_images``, ``_actions``,
``_tags``, ``_transfers``, ``_regions``, ``_droplets``, ``_droplet_actions`` and
``_snapshots``. A new family is a module beside them and one more base here.
"""

from __future__ import annotations

from ._actions import Actions
from ._droplet_actions import DropletActions
from ._droplets import Droplets
from ._images import Images
from ._regions import Regions
from ._snapshots import Snapshots
from ._tags import Tags
from ._transfers import AccountTransfers

__all__ = ["World"]


class World(Images, Actions, Tags, AccountTransfers, Regions, Droplets, DropletActions, Snapshots):
    """The images, droplets and actions of the sandbox's accounts, and the rules that
    change them.

    ``clock`` gives virtual seconds since ``start``. Not thread-safe on its own: the
    sandbox holds a lock around every call.
    """

"""The action models: ``Action``, its enums, its list and envelope.

Images and droplets have actions of one shape; ``resource_type`` says whose an action is.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictInt

from ._base import (
    JsonValidator,
    Timestamp,
    _APIModel,
    _Links,
    _Meta,
    _open_enum,
    _StrEnum,
    _Wire,
)
from ._regions import Region


class ActionStatus(_StrEnum):
    """The state of an action."""

    in_progress = "in-progress"
    completed = "completed"
    errored = "errored"


class ActionType(_StrEnum):
    """The image actions this API offers."""

    transfer = "transfer"
    convert = "convert"


class ActionResourceType(_StrEnum):
    """What an action acts on: which path follows it (an image's or a droplet's actions)."""

    image = "image"
    droplet = "droplet"
    volume = "volume"


class Action(_APIModel):
    """An action and its progress: an image's (transfer, convert) or a droplet's
    (``snapshot``, ``shutdown``, ``power_off``, ``power_on``, ...)."""

    id: StrictInt
    """The action's unique id."""
    status: ActionStatus | str = Field(union_mode="left_to_right")
    """``in-progress``, ``completed`` or ``errored`` (a new state stays a str)."""
    type: ActionType | str = Field(union_mode="left_to_right")
    """``transfer`` or ``convert`` for an image; a droplet's action types (``snapshot``,
    ``power_on``, ...) and any new kind stay a str."""
    started_at: Timestamp | None = None
    """When the action started, timezone-aware."""
    completed_at: Timestamp | None = None
    """When it finished, or ``None`` while in progress."""
    resource_id: StrictInt | None = None
    """The id of the image or droplet it acts on (for a snapshot: the droplet, never the
    image it makes)."""
    resource_type: ActionResourceType | str | None = _open_enum()
    """What it acts on: ``image`` or ``droplet`` (a new kind stays a str)."""
    region: Region | None = None
    """The region it runs in (for a transfer, the target)."""
    region_slug: str | None = None
    """The slug of that region."""


class ActionPage(_Wire):
    """One page of ``GET /v2/images/{id}/actions``, ``/v2/droplets/{id}/actions`` or
    ``/v2/actions``."""

    actions: list[Action]
    links: _Links | None = None
    meta: _Meta | None = None


class ActionEnvelope(_Wire):
    """``{"action": {...}}``, what the API sends for a single action."""

    action: Action


ACTION_PAGE: JsonValidator[ActionPage] = JsonValidator(ActionPage)
# The API wraps a single action in {"action": ...}; the spec's schema shows it bare.
ACTION_ANY: JsonValidator[ActionEnvelope | Action] = JsonValidator(
    ActionEnvelope | Action, config=ConfigDict(defer_build=True)
)

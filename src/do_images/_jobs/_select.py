"""The one rule for "the account's own images of these types", for every job.

``selects`` says whether an image is one a job may take (never a backup, never a
public image); ``check_types`` checks the types a job is asked to take. Pure: no
HTTP, so the fleet's rule and the prune plan share it without reading anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._models import Image

OWN_TYPES = ("snapshot", "custom")
"""The image types a job may select: backups are DigitalOcean's, never a job's."""


def selects(
    image: Image,
    *,
    types: Sequence[str],
    name_prefix: str | None = None,
    tag: str | None = None,
) -> bool:
    """Whether ``image`` is one of the account's own of ``types`` that match the filters:
    never a public image, never a backup (``check_types`` refuses it as a type)."""
    kind = image.type  # a str enum (or a str the API added): compared as the str it is
    if image.public is not False or kind not in types or kind == "backup":
        return False
    if name_prefix is not None and not (image.name or "").startswith(name_prefix):
        return False
    return tag is None or tag in (image.tags or [])


def check_types(types: object, key: str = "types") -> tuple[str, ...]:
    """Image types a job may select: a non-empty list of ``snapshot`` and ``custom``,
    duplicates dropped; ``backup`` and anything else refused (``key`` names the option)."""
    if isinstance(types, (str, bytes)) or not isinstance(types, Sequence) or not types:
        raise TypeError(f"{key} must be a non-empty list of image types, not {types!r}")
    for kind in types:
        if kind == "backup":
            raise ValueError(f"{key}: backups are managed by DigitalOcean, never a job's")
        if kind not in OWN_TYPES:
            raise ValueError(f"{key} may hold 'snapshot' and 'custom', not {kind!r}")
    return tuple(dict.fromkeys(types))


__all__ = ["OWN_TYPES", "check_types", "selects"]

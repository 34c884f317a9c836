"""When a stored answer may no longer hold: something it was computed from changed after it was made.

A stored simulation or optimization read its hardware profile when it ran; a profile updated since (its price, its
GPU count, its bandwidths) may give a different answer now. Models cannot change (registerModel is their only
write), so profiles are what is compared. A regressor retrained since is not said yet: versions are not recorded.
"""

from collections.abc import Iterable
from datetime import datetime


def _moment(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def changed_since(profiles: Iterable[tuple[str, datetime]], made_at: datetime, made: str) -> list[str]:
    """One sentence for each (name, updated_at) profile updated after `made_at`, when `made` ("it was made")."""
    return [
        f"Hardware profile {name!r} changed at {_moment(updated_at)}, after {made} at {_moment(made_at)}."
        for name, updated_at in profiles
        if updated_at > made_at
    ]

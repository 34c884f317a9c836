"""When a stored answer may no longer hold: something it was computed from changed after it was made.

A stored simulation or optimization read its hardware profile when it ran; a profile updated since (its price, its
GPU count, its bandwidths) may give a different answer now. Models cannot change (registerModel is their only
write), so profiles are what is compared; and a REGRESSOR answer was corrected by one regressor version, so another
version active since (`retrainRegressor`) may correct it differently.
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


def regressor_changed(made_with: int | None, active: int | None) -> list[str]:
    """One sentence when the regressor version an answer was corrected with is no longer the active one."""
    if made_with is None or active is None or made_with == active:
        return []
    return [f"It was predicted with regressor version {made_with}; version {active} is active now."]

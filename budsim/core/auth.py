"""Who is asking, and what they may do: scopes ordered so that each implies the ones below it."""

from dataclasses import dataclass
from enum import IntEnum


class Scope(IntEnum):
    """`admin` implies `write` implies `read`: a key holds the highest scope it was given, so checks compare."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def granted(self) -> str:
        """Every scope this one implies, as stored and shown: `read,write` for WRITE."""
        return ",".join(scope.label for scope in Scope if scope <= self)

    @classmethod
    def parse(cls, text: str) -> "Scope":
        """The highest of a comma-separated list (`read,write`), so a key given several holds what they imply."""
        names = [name.strip().lower() for name in text.split(",") if name.strip()]
        if not names:
            raise ValueError("give at least one scope: read, write or admin")
        known = {scope.label: scope for scope in cls}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}: use read, write or admin")
        return max(known[name] for name in names)


@dataclass(frozen=True)
class Principal:
    """The caller a request was authenticated as (an API key), or the development principal when auth is off."""

    name: str
    scope: Scope
    key_id: str | None = None  # None for the development principal

    def allows(self, needed: Scope) -> bool:
        return self.scope >= needed


DEVELOPMENT = Principal(name="development (auth disabled)", scope=Scope.ADMIN)

"""The child's side of the pipe to its parent, shared by the prediction and search processes."""

from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any


def received(connection: Connection) -> Iterator[Any]:
    """Each message from the parent in order, until the parent closes the pipe (or it breaks). Both kinds of child
    read the regressor first: it follows their start rather than riding in their start-up arguments."""
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        yield message

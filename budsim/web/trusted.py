"""The dashboard's operations as the server knows them: one `<Name>.graphql` file each, in budsim/web/operations.

The page imports these files and sends their text; the server reads the same files for TRUSTED_DOCUMENTS
(budsim.schema.trusted), so the list of what a production server answers is the list of files, with no copy.
"""

from pathlib import Path

from graphql import parse

from budsim.schema.trusted import document_digest

OPERATIONS = Path(__file__).parent / "operations"


def operation_files(directory: Path = OPERATIONS) -> list[Path]:
    return sorted(directory.glob("*.graphql"))


def trusted_digests(directory: Path = OPERATIONS) -> frozenset[str]:
    """Digests of every operation file; an unparsable file fails start-up rather than every request using it."""
    return frozenset(document_digest(parse(path.read_text(encoding="utf-8"))) for path in operation_files(directory))

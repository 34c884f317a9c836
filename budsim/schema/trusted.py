"""Trusted documents: a server behind the dashboard answers only the operations the dashboard ships.

A public GraphQL endpoint runs whatever document a client writes; the limits (budsim.schema.limits) bound its cost,
but a production deployment whose only client is BudSim's own page need not accept anything else at all. With
TRUSTED_DOCUMENTS on, a document runs only when it is one of the page's operations (budsim/web/operations); any
other is refused before a field resolves, with `extensions.code` UNTRUSTED_DOCUMENT, over HTTP and websockets alike.

Documents are compared as printed by graphql-core after parsing, so whitespace, commas and comments do not matter
while every field, argument and variable does. The comparison is a validation rule, so the schema's validation cache
keeps each known document's verdict and a dashboard request costs one dictionary lookup more.
"""

import hashlib

from graphql import DocumentNode, GraphQLError, ValidationContext, ValidationRule, print_ast

CODE = "UNTRUSTED_DOCUMENT"


def document_digest(document: DocumentNode) -> str:
    """The SHA-256 of the document as graphql-core prints it: equal for equal operations, however formatted."""
    return hashlib.sha256(print_ast(document).encode()).hexdigest()


def trusted_rule(digests: frozenset[str]) -> type[ValidationRule]:
    """A rule refusing every document whose digest is not in `digests` (see `document_digest`)."""

    class TrustedDocuments(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            if document_digest(context.document) not in digests:
                self.report_error(
                    GraphQLError(
                        "This server answers only the dashboard's own operations (TRUSTED_DOCUMENTS=true).",
                        extensions={"code": CODE},
                    )
                )

    return TrustedDocuments

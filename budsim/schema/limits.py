"""What one GraphQL operation may ask for: its size, depth and aliases, and how many predictions it starts.

Parsing, validating and executing cost the server in proportion to the document, and the document is the client's
to write: 5,000 aliases of one field were all executed, and 300 aliased `simulate`s in one request took seconds of
CPU. These limits refuse such a document before any field runs, with `extensions.code` QUERY_TOO_COMPLEX and a
message that names the setting. The defaults leave room above every real operation: the deepest one in README.md,
docs/ and tests/ (an `optimize` down to its Pareto front's configs) is 5 levels deep and none uses an alias.

The rules are built once per schema, not per request, so that the validation cache (keyed by the document and the
rule classes) keeps hitting.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension

from budsim.schema.trusted import trusted_rule

CODE = "QUERY_TOO_COMPLEX"
COSTLY_FIELDS = frozenset({"simulate", "optimize", "resimulate", "reoptimize"})  # each starts a prediction or a search
_PARSE_LIMIT_MESSAGE = "tokens. Parsing aborted."


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5000
    max_simulations: int = 10
    introspection: bool = True
    # Digests (budsim.schema.trusted) of the only documents to run; None: any document within the limits.
    trusted_documents: frozenset[str] | None = None


def too_complex(message: str, nodes: Node | list[Node] | None = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": CODE})


@dataclass
class _Tally:
    depth: int = 0
    aliases: int = 0
    costly: int = 0


def _walk(
    owner: OperationDefinitionNode | FragmentDefinitionNode | FieldNode | InlineFragmentNode,
    fragments: dict[str, FragmentDefinitionNode],
    tally: _Tally,
    depth: int,
    visited: frozenset[str],
) -> None:
    """Count over the operation as executed: a fragment spread twice counts twice (a cycle once: it is invalid)."""
    if owner.selection_set is None:
        return
    for selection in owner.selection_set.selections:
        if isinstance(selection, FieldNode):
            tally.aliases += selection.alias is not None
            tally.costly += selection.name.value in COSTLY_FIELDS
            # Introspection fields are left out, as in Strawberry's QueryDepthLimiter: GraphiQL's schema query nests
            # `ofType` deeper than any operation, and its size is bounded by the schema.
            if selection.selection_set is not None and not selection.name.value.startswith("__"):
                tally.depth = max(tally.depth, depth + 1)
                _walk(selection, fragments, tally, depth + 1, visited)
        elif isinstance(selection, InlineFragmentNode):
            _walk(selection, fragments, tally, depth, visited)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in visited:
                _walk(fragments[name], fragments, tally, depth, visited | {name})


def limit_rule(limits: QueryLimits) -> type[ValidationRule]:
    class OperationLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            for operation in definitions:
                if isinstance(operation, OperationDefinitionNode):
                    self._check(operation, fragments)

        def _check(self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]) -> None:
            tally = _Tally()
            _walk(operation, fragments, tally, 0, frozenset())
            name = f"'{operation.name.value}'" if operation.name else "The operation"
            if tally.depth > limits.max_depth:
                self.report_error(
                    too_complex(f"{name} is {tally.depth} levels deep: at most {limits.max_depth} (MAX_QUERY_DEPTH).")
                )
            if tally.aliases > limits.max_aliases:
                self.report_error(
                    too_complex(f"{name} has {tally.aliases} aliases: at most {limits.max_aliases} (MAX_ALIASES).")
                )
            if tally.costly > limits.max_simulations:
                self.report_error(
                    too_complex(
                        f"{name} asks for {tally.costly} simulate/optimize fields: at most {limits.max_simulations} "
                        "per request (MAX_SIMULATIONS_PER_REQUEST)."
                    )
                )

    return OperationLimits


class TokenLimit(SchemaExtension):
    """The parser stops at `max_tokens` tokens, comments included; its error gets our code and the setting's name."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        # Strawberry passes on `max_tokens` (ParseOptions): graphql-core counts comments in it too.
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        try:
            yield
        except GraphQLError as error:  # raised through the operation when ParserCache parses
            self._name_the_limit(error)
            raise
        for caught in self.execution_context.pre_execution_errors or ():  # caught there when Strawberry parses
            self._name_the_limit(caught)

    def _name_the_limit(self, error: GraphQLError) -> None:
        if error.message.endswith(_PARSE_LIMIT_MESSAGE) and (error.extensions or {}).get("code") != CODE:
            error.message = f"{error.message} At most {self.max_tokens} (MAX_QUERY_TOKENS)."
            error.extensions = {"code": CODE}


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule, its message naming the setting that turns introspection back on."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(GraphQLError(f"{error.message} (INTROSPECTION=false)", error.nodes))


def limit_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """Factories for the schema's extensions, sharing one rule class (see the module's note on caching)."""
    rules: list[type[ASTValidationRule]] = [limit_rule(limits)]
    if not limits.introspection:
        rules.append(NoIntrospection)
    if limits.trusted_documents is not None:
        rules.append(trusted_rule(limits.trusted_documents))
    return [partial(TokenLimit, limits.max_tokens), partial(AddValidationRules, rules)]

"""Result unions and the handlers that turn expected exceptions into their union members.

Resolvers raise; `strawberry.ExceptionHandler`s catch only on fields whose return union holds the error type, so a
query field still fails loudly while a mutation answers `ValidationError { field message }`.
"""

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from budsim.core.errors import CoreError
from budsim.resolvers.auth import Forbidden
from budsim.resolvers.errors import UNAVAILABLE_MESSAGE, Conflict, Invalid, NotFound, is_unavailable
from budsim.schema.types.benchmark import BenchmarkRun, RecordedBenchmarkRuns
from budsim.schema.types.endpoint import DeletedEndpoint, Endpoint, EndpointDeployment
from budsim.schema.types.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from budsim.schema.types.hardware import DeletedHardwareProfile, HardwareProfile
from budsim.schema.types.model import Model
from budsim.schema.types.optimization import OptimizationJob
from budsim.schema.types.regressor import RegressorVersion
from budsim.schema.types.simulation import Simulation, ValidationReport

CreateHardwareProfileResult = Annotated[
    HardwareProfile | ValidationError | ConflictError | ForbiddenError, strawberry.union("CreateHardwareProfileResult")
]
UpdateHardwareProfileResult = Annotated[
    HardwareProfile | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("UpdateHardwareProfileResult"),
]
DeleteHardwareProfileResult = Annotated[
    DeletedHardwareProfile | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DeleteHardwareProfileResult"),
]
SimulateResult = Annotated[
    Simulation | ValidationError | NotFoundError | ForbiddenError, strawberry.union("SimulateResult")
]
OptimizeResult = Annotated[
    OptimizationJob | ValidationError | NotFoundError | ForbiddenError, strawberry.union("OptimizeResult")
]
CancelOptimizationResult = Annotated[
    OptimizationJob | ValidationError | NotFoundError | ForbiddenError, strawberry.union("CancelOptimizationResult")
]
RegisterModelResult = Annotated[
    Model | ValidationError | ConflictError | ForbiddenError, strawberry.union("RegisterModelResult")
]
RecordBenchmarkResult = Annotated[
    BenchmarkRun | ValidationError | NotFoundError | ForbiddenError, strawberry.union("RecordBenchmarkResult")
]
RecordBenchmarksResult = Annotated[
    RecordedBenchmarkRuns | ValidationError | NotFoundError | ForbiddenError, strawberry.union("RecordBenchmarksResult")
]
ValidateSimulationResult = Annotated[
    ValidationReport | ValidationError | NotFoundError | ForbiddenError, strawberry.union("ValidateSimulationResult")
]

CreateEndpointResult = Annotated[
    Endpoint | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("CreateEndpointResult"),
]
DeployEndpointResult = Annotated[
    EndpointDeployment | ValidationError | NotFoundError | ForbiddenError, strawberry.union("DeployEndpointResult")
]
DeleteEndpointResult = Annotated[
    DeletedEndpoint | NotFoundError | ForbiddenError, strawberry.union("DeleteEndpointResult")
]
RetrainRegressorResult = Annotated[
    RegressorVersion | ConflictError | ForbiddenError, strawberry.union("RetrainRegressorResult")
]


class ValidationHandler(strawberry.ExceptionHandler[Invalid | CoreError, ValidationError]):
    def handle(self, exception: Invalid | CoreError, *, field: Any, info: Any) -> ValidationError:
        return ValidationError(field=exception.field, message=exception.message)


class NotFoundHandler(strawberry.ExceptionHandler[NotFound, NotFoundError]):
    def handle(self, exception: NotFound, *, field: Any, info: Any) -> NotFoundError:
        return NotFoundError(id=strawberry.ID(exception.id), entity=exception.entity, message=exception.message)


class ConflictHandler(strawberry.ExceptionHandler[Conflict, ConflictError]):
    def handle(self, exception: Conflict, *, field: Any, info: Any) -> ConflictError:
        return ConflictError(field=exception.field, message=exception.message)


class ForbiddenHandler(strawberry.ExceptionHandler[Forbidden, ForbiddenError]):
    """A refusal is a union member like any other typed error, so the operation's other mutations still run."""

    def handle(self, exception: Forbidden, *, field: Any, info: Any) -> ForbiddenError:
        return ForbiddenError(scope=exception.needed.label, message=exception.message)


EXCEPTION_HANDLERS = (ValidationHandler(), NotFoundHandler(), ConflictHandler(), ForbiddenHandler())


def is_unexpected(error: GraphQLError) -> bool:
    """Keep messages we wrote for users (syntax, validation, BadUserInput); hide every other exception's text."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """Replace an unexpected exception's text with a fixed message and mark it as the server's fault, or, when the
    database could not be reached, as SERVICE_UNAVAILABLE: a client should retry that one, not report a bug."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Internal server error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if is_unavailable(error.original_error):
            return GraphQLError(
                UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=None,
                extensions={"code": "SERVICE_UNAVAILABLE"},
            )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked

"""Errors raised by core computations when their inputs cannot describe a real deployment.

Each names the input at fault in core's own terms, so core needs no caller's vocabulary: a `ServingConfig` field
(`max_num_seqs`), `workload`, a Hugging Face config.json key (`num_key_value_heads`), or a `search.` option. Whoever
faces a user translates that name into the one the user typed (the API's input paths: `budsim.jobs.api_fields`).
"""


class CoreError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field  # core's name of the input at fault; "" when it is the whole input (a config.json)
        self.message = message

    def __reduce__(self) -> tuple[type["CoreError"], tuple[str, str]]:
        # Rebuilt from both fields, not from the formatted message: predictions run in a child process and their
        # errors cross back to the API pickled.
        return type(self), (self.field, self.message)


def describe(error: Exception) -> str:
    """A failure's reason as users see it: the exception's kind and message, never a traceback."""
    return f"{type(error).__name__}: {error}"[:2000]


class ConfigError(CoreError):
    """A model configuration (Hugging Face config.json) lacks or contradicts a field the models need; `field` is the
    config.json key."""


class InfeasibleConfigError(CoreError):
    """A deployment config that no cluster could run (TP not dividing heads, more GPUs than exist); `field` names what
    to change: a `ServingConfig` field, `workload`, or a `search.` option."""

"""Errors raised by core computations when their inputs cannot describe a real deployment.

Each carries the dotted path of the offending input so the API can name the field the user must fix.
"""


class CoreError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ConfigError(CoreError):
    """A model configuration (Hugging Face config.json) lacks or contradicts a field the models need."""


class InfeasibleConfigError(CoreError):
    """A deployment config that no cluster could run (TP not dividing heads, more GPUs than exist)."""

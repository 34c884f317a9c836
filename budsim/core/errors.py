"""Errors raised by core computations when their inputs cannot describe a real deployment.

Each carries the dotted path of the offending input so the API can name the field the user must fix.
"""


class CoreError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type["CoreError"], tuple[str, str]]:
        # Rebuilt from both fields, not from the formatted message: predictions run in a child process and their
        # errors cross back to the API pickled.
        return type(self), (self.field, self.message)


def describe(error: Exception) -> str:
    """A failure's reason as users see it: the exception's kind and message, never a traceback."""
    return f"{type(error).__name__}: {error}"[:2000]


class ConfigError(CoreError):
    """A model configuration (Hugging Face config.json) lacks or contradicts a field the models need."""


class InfeasibleConfigError(CoreError):
    """A deployment config that no cluster could run (TP not dividing heads, more GPUs than exist)."""

"""What a child process has done so far, read from /proc: for tests that pin when work happens in a child."""

from pathlib import Path


def loaded_xgboost(pid: int) -> bool:
    """Whether the process has XGBoost's library mapped: the last and heaviest of a child's imports."""
    return "libxgboost" in Path(f"/proc/{pid}/maps").read_text()

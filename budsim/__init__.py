"""BudSim: performance simulation and configuration optimization for LLM deployments."""

__version__ = "0.1.0"

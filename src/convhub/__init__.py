"""convhub — one store for every conversation your AI agents have."""

__version__ = "0.1.0"

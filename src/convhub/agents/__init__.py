"""convhub's own agents: definitions, documents, and the backends that write their replies."""

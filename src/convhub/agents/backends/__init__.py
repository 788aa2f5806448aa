"""Reply backends: ``knowledge`` (embedded retrieval, no model) and ``openai`` (any compatible endpoint)."""

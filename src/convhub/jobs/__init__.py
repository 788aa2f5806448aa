"""Background work: the in-process job runner and the periodic scheduler."""

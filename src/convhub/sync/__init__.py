"""Pulling conversations from providers: the engine, its repository, the API and the schedule."""

"""Live conversations: the credentials that open a realtime session, and (later) the session itself."""

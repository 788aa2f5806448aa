"""Chats with convhub's own agents: conversations started here, their messages, replies, takeover.

Provider conversations arrive finished (or nearly) through the ingest path; a
chat is built one message at a time, so it has its own lifecycle here —
create, send (with the agent's reply, whole or streamed), rate, end, archive,
hand to a human and back — on the same tables, so it is searched, listed and
analysed like any other conversation.
"""

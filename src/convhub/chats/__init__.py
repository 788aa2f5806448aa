"""Chats with convhub's own agents: conversations started here, their messages, replies, takeover.

Provider conversations arrive finished (or nearly) through the ingest path; a
chat starts there too (in progress, with no messages yet) and is then built one
message at a time, so it has its own lifecycle here — send (with the agent's
reply, whole or streamed), rate, end, hand to a human and back, end when idle
— on the same tables, so it is searched, listed, archived and analysed like
any other conversation.
"""

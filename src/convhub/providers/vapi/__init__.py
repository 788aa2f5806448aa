"""Vapi: the ``/call`` API client, the Call → ``ConversationIn`` mapper and server-message webhooks."""

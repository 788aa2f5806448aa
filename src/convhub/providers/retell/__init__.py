"""Retell: the list-calls/get-call API client, the call → ``ConversationIn`` mapper and signed webhooks."""

"""Provider connections: the vendor accounts (ElevenLabs, Retell, Vapi) a workspace syncs from.

A connection holds the vendor credentials (encrypted, never returned), where to
reach the vendor, the webhook settings and the sync schedule. ``/v1/providers``
and ``convhub providers`` manage them; the sync engine and the webhook receiver
read them.
"""

"""Inbound provider webhooks: verify → store raw once → queue → 200; processed in the background."""

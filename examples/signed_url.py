"""Get a signed URL to start a live conversation with an agent.

Usage: python examples/signed_url.py [agent_id]
Without an id, the agent of the most recent conversation is used. Exits 1 when the agent does not exist.
"""

import sys

from convhub.client import Client, NotFoundError


def main() -> int:
    with Client() as client:
        if len(sys.argv) > 1:
            agent_id = sys.argv[1]
        else:
            latest = client.conversations.list(limit=1).data
            if not latest:
                print("No conversations yet, so no agent to pick: pass an agent id.")
                return 0
            agent_id = latest[0].agent_id

        try:
            signed_url = client.conversations.get_signed_url(agent_id, include_conversation_id=True)
        except NotFoundError:
            print(f"Agent {agent_id} not found", file=sys.stderr)
            return 1
        print(f"Agent: {agent_id}")
        print(f"Conversation URL: {signed_url}")
        # include_conversation_id names a fresh conversation, which makes the URL single-use.
        print("Single use; expires after the server's signed-URL lifetime (15 minutes by default).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Get a signed URL to start a live conversation with an agent.

Usage: python examples/signed_url.py [agent_id]
Without an id, the agent of the most recent conversation is used.
"""

import sys

from convhub.client import Client


def main() -> None:
    with Client() as client:
        if len(sys.argv) > 1:
            agent_id = sys.argv[1]
        else:
            latest = client.conversations.list(limit=1).data
            if not latest:
                print("No conversations yet, so no agent to pick: pass an agent id.")
                return
            agent_id = latest[0].agent_id

        signed_url = client.conversations.get_signed_url(agent_id, include_conversation_id=True)
        print(f"Agent: {agent_id}")
        print(f"Conversation URL: {signed_url}")


if __name__ == "__main__":
    main()

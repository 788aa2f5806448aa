"""Get a short-lived token for a real-time session with an agent.

Usage: python examples/get_token.py [agent_id]
(Not named token.py: a script of that name would shadow the standard library's `token` module.)
Without an id, the agent of the most recent conversation is used.
"""

import sys

from convhub.client import Client

PARTICIPANT = "Live Customer Session"


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

        token = client.conversations.get_token(agent_id, participant_name=PARTICIPANT)
        print("Real-time configuration:")
        print(f"  Agent: {agent_id}")
        print(f"  Participant: {PARTICIPANT}")
        print(f"  Token: {token}")


if __name__ == "__main__":
    main()

"""Get a short-lived token for a real-time session with an agent.

Usage: python examples/get_token.py [agent_id]
(Not named token.py: a script of that name would shadow the standard library's `token` module.)
Without an id, the agent of the most recent conversation is used. Exits 1 when the agent does not exist.
"""

import sys

from convhub.client import Client, NotFoundError

PARTICIPANT = "Live Customer Session"


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
            token = client.conversations.get_token(agent_id, participant_name=PARTICIPANT)
        except NotFoundError:
            print(f"Agent {agent_id} not found", file=sys.stderr)
            return 1
        print("Real-time configuration:")
        print(f"  Agent: {agent_id}")
        print(f"  Participant: {PARTICIPANT}")
        print(f"  Token: {token}")
        print("  Opens one new conversation; expires after the server's token lifetime (15 minutes by default).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

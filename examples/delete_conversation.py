"""Permanently delete a conversation, then show that it is gone.

Usage: python examples/delete_conversation.py [conversation_id]
Without an id, the oldest conversation is deleted. Exits 1 when the conversation does not exist.
"""

import sys

from convhub.client import Client, NotFoundError


def main() -> int:
    with Client() as client:
        if len(sys.argv) > 1:
            conversation_id = sys.argv[1]
        else:
            oldest = client.conversations.list(sort="started_at", order="asc", limit=1).data
            if not oldest:
                print("No conversations to delete.")
                return 0
            conversation_id = oldest[0].id

        try:
            client.conversations.delete(conversation_id)
        except NotFoundError:
            print(f"Conversation {conversation_id} not found", file=sys.stderr)
            return 1
        print(f"Deleted {conversation_id}")

        try:
            client.conversations.get(conversation_id)
        except NotFoundError:
            print("Fetching it again now gives 404 Not Found, as expected.")
        else:
            print("Unexpected: the conversation can still be fetched.", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Like (or dislike) a conversation and show its feedback counts.

Usage: python examples/feedback.py [like|dislike] [conversation_id]
Defaults: like, the most recent conversation. Feedback sent through the API is
one score per conversation: the other score replaces it, the same score again
changes nothing.
"""

import sys

from convhub.client import Client, NotFoundError


def main() -> int:
    score = sys.argv[1] if len(sys.argv) > 1 else "like"
    if score not in ("like", "dislike"):
        print("Usage: feedback.py [like|dislike] [conversation_id]")
        return 2
    with Client() as client:
        if len(sys.argv) > 2:
            conversation_id = sys.argv[2]
        else:
            latest = client.conversations.list(limit=1).data
            if not latest:
                print("No conversations yet.")
                return 0
            conversation_id = latest[0].id

        try:
            client.conversations.send_feedback(conversation_id, "like" if score == "like" else "dislike")
        except NotFoundError:
            print(f"Conversation {conversation_id} not found", file=sys.stderr)
            return 1
        feedback = client.conversations.get(conversation_id).feedback
        print(f"Sent '{score}' for {conversation_id}")
        print(f"Feedback now: {feedback.likes} like(s), {feedback.dislikes} dislike(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

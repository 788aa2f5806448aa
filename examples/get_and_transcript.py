"""Show one conversation's details and transcript.

Usage: python examples/get_and_transcript.py [conversation_id]
Without an id, the most recent conversation is shown.
"""

import sys

from convhub.client import APIError, AuthenticationError, Client, NotFoundError


def main() -> None:
    with Client() as client:
        if len(sys.argv) > 1:
            conversation_id = sys.argv[1]
        else:
            latest = client.conversations.list(limit=1).data
            if not latest:
                print("No conversations yet.")
                return
            conversation_id = latest[0].id

        try:
            conversation = client.conversations.get(conversation_id)
        except NotFoundError:
            print(f"Conversation {conversation_id} not found")
            return
        except AuthenticationError as e:
            print(f"Authentication failed: {e.message}")
            return
        except APIError as e:
            print(f"API error: {e.message}")
            return

        print(f"Conversation: {conversation.id}")
        print(f"Agent: {conversation.agent_name} ({conversation.agent_id})")
        print(f"Status: {conversation.status}")
        print(f"Duration: {conversation.duration_secs} seconds")
        print("\nTranscript:")
        for turn in conversation.transcript:
            print(f"  {turn.role}: {turn.message or ''}")

        # The transcript also has an endpoint of its own.
        turns = client.conversations.transcript(conversation.id)
        print(f"\n{len(turns)} turns")


if __name__ == "__main__":
    main()

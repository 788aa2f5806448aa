"""Show one conversation's details and transcript.

Usage: python examples/get_and_transcript.py [conversation_id]
Without an id, the most recent conversation is shown. The id may be convhub's
(``conv_…``) or the provider's original id. Exits 1 when the conversation does
not exist or the API refuses the request.
"""

import sys

from convhub.client import APIError, AuthenticationError, Client, NotFoundError, Turn


def describe(turn: Turn) -> str:
    """The turn's message, or what it did with tools when it said nothing."""
    if turn.message:
        return turn.message
    calls = [f"calls {c.get('tool_name')}({c.get('params_as_json', '')})" for c in turn.tool_calls]
    results = [f"{r.get('tool_name')} returned {r.get('result_value', '')}" for r in turn.tool_results]
    return "[" + "; ".join(calls + results) + "]" if calls or results else "[no message]"


def main() -> int:
    conversation_id = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        with Client() as client:  # raises APIError when no API key is configured
            if not conversation_id:
                latest = client.conversations.list(limit=1).data
                if not latest:
                    print("No conversations yet.")
                    return 0
                conversation_id = latest[0].id
            conversation = client.conversations.get(conversation_id)
            # The transcript also has an endpoint of its own.
            turns = client.conversations.transcript(conversation.id)
    except NotFoundError:
        print(f"Conversation {conversation_id} not found", file=sys.stderr)
        return 1
    except AuthenticationError as e:
        print(f"Authentication failed: {e.message}", file=sys.stderr)
        return 1
    except APIError as e:
        print(f"API error: {e.message}", file=sys.stderr)
        return 1

    print(f"Conversation: {conversation.id}")
    print(f"Agent: {conversation.agent_name} ({conversation.agent_id})")
    print(f"Status: {conversation.status}")
    print(f"Duration: {conversation.duration_secs} seconds")
    print("\nTranscript:")
    for turn in turns:
        print(f"  {turn.role}: {describe(turn)}")
    print(f"\n{len(turns)} turns")
    return 0


if __name__ == "__main__":
    sys.exit(main())

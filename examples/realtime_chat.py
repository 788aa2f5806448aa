"""Hold a live text conversation with a convhub agent through the official ElevenLabs SDK, unchanged.

Usage: python examples/realtime_chat.py [agent_id]

Without an id, a small knowledge agent is created (from a short shipping-and-returns document) and used.
The ElevenLabs client's base_url points at convhub; ``requires_auth=True`` makes the SDK fetch a signed
URL first (GET /v1/convai/conversation/get-signed-url) and open the WebSocket with it. Type a message and
press Enter; an empty line ends the conversation, which is then stored like any other (its id is printed).

Needs the ``elevenlabs`` package (installed with convhub's test extras; else ``pip install elevenlabs``).
"""

import os
import sys
import threading
import time

from elevenlabs import ElevenLabs
from elevenlabs.conversational_ai.conversation import AgentChatResponsePartType, Conversation

from convhub.client import Client

HELP = (
    "# Shipping\n\nOrders ship from Rotterdam within one working day. Delivery in Europe takes two to four days.\n\n"
    "# Returns\n\nReturns are free within thirty days. Refunds reach the original card five working days after "
    "the parcel arrives.\n"
)


def pick_agent(client: Client) -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    agent = client.agents.create("Realtime example")
    client.agents.add_documents(agent.id, [("help.md", HELP)])
    print(f"Created knowledge agent {agent.id}")
    return agent.id


def main() -> int:
    base_url = os.environ.get("CONVHUB_BASE_URL", "http://127.0.0.1:8000")
    api_key = os.environ.get("CONVHUB_API_KEY")
    if not api_key:
        print("Set CONVHUB_API_KEY (and CONVHUB_BASE_URL) first; scripts/demo prints both.", file=sys.stderr)
        return 2
    with Client(api_key=api_key, base_url=base_url) as client:
        agent_id = pick_agent(client)

    replied = threading.Event()

    def on_part(text: str, kind: AgentChatResponsePartType) -> None:
        if kind is AgentChatResponsePartType.START:
            print("agent> ", end="", flush=True)
        elif kind is AgentChatResponsePartType.DELTA:
            print(text, end="", flush=True)

    def on_response(text: str) -> None:
        print()  # the streamed parts already printed the words
        replied.set()

    conversation = Conversation(
        ElevenLabs(api_key=api_key, base_url=base_url),
        agent_id,
        requires_auth=True,
        callback_agent_chat_response_part=on_part,
        callback_agent_response=on_response,
    )
    conversation.start_session()
    deadline = time.monotonic() + 10
    while conversation._ws is None:  # the SDK connects in a background thread
        if time.monotonic() > deadline or not conversation._thread or not conversation._thread.is_alive():
            print("Could not connect (see the SDK's log above).", file=sys.stderr)
            conversation.end_session()
            return 1
        time.sleep(0.05)
    print("Connected. Ask about shipping or returns; an empty line ends the conversation.")
    try:
        while text := input("you> ").strip():
            replied.clear()
            conversation.send_user_message(text)
            replied.wait(30)
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        conversation.end_session()
    print(f"Conversation {conversation.wait_for_session_end()} is stored; see GET /v1/conversations/<id>/messages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Monitor quality: the success rate of an agent's recent conversations.

Usage: python examples/success_rate.py [hours] (default 24)
Uses the agent of the most recent conversation. Only conversations that have
ended (done or failed) count: one still under way has no outcome yet.
"""

import sys
from datetime import UTC, datetime, timedelta

from convhub.client import Client

ENDED = ("done", "failed")


def main() -> None:
    hours = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    with Client() as client:
        latest = client.conversations.list(limit=1).data
        if not latest:
            print("No conversations yet.")
            return
        agent = latest[0]

        since = datetime.now(UTC) - timedelta(hours=hours)
        recent = list(client.conversations.list(agent_id=agent.agent_id, started_after=since, limit=100))
        ended = [conv for conv in recent if conv.status in ENDED]
        print(f"Agent: {agent.agent_name} ({agent.agent_id}), last {hours} hours")
        if not ended:
            print("No finished conversations in that window; try a larger one, e.g. `success_rate.py 720`.")
            return

        successful = sum(1 for conv in ended if conv.call_successful == "success")
        print(f"Success Rate: {successful / len(ended) * 100:.1f}%")
        print(f"Total Conversations: {len(ended)}")
        print(f"Successful: {successful}")
        if len(recent) > len(ended):
            print(f"Not counted: {len(recent) - len(ended)} still under way")


if __name__ == "__main__":
    main()

"""Analytics: how an agent's conversations spread over the hours of the day (local time).

Uses the agent of the most recent conversation and all of its conversations.
"""

from collections import Counter
from datetime import datetime

from convhub.client import Client


def main() -> None:
    with Client() as client:
        latest = client.conversations.list(limit=1).data
        if not latest:
            print("No conversations yet.")
            return
        agent = latest[0]

        hours: Counter[int] = Counter()
        for conv in client.conversations.list(agent_id=agent.agent_id, limit=100):
            hours[conv.started_at.astimezone().hour] += 1
        zone = datetime.now().astimezone().tzname()
        print(f"Hourly Distribution for {agent.agent_name} (local time, {zone}):")
        for hour, count in sorted(hours.items()):
            noun = "conversation" if count == 1 else "conversations"
            print(f"  {hour:02d}:00 - {count:3d} {noun:13} {'#' * count}")


if __name__ == "__main__":
    main()

"""Analytics: the average duration of an agent's conversations.

Uses the agent of the most recent conversation and all of its conversations.
"""

from convhub.client import Client


def main() -> None:
    with Client() as client:
        latest = client.conversations.list(limit=1).data
        if not latest:
            print("No conversations yet.")
            return
        agent = latest[0]

        durations = [c.duration_secs for c in client.conversations.list(agent_id=agent.agent_id, limit=100)]
        average = sum(durations) / len(durations)
        print(f"Agent: {agent.agent_name} ({agent.agent_id})")
        print(f"Conversations: {len(durations)}")
        print(f"Average Duration: {average:.1f} seconds")
        print(f"Shortest / longest: {min(durations)}s / {max(durations)}s")


if __name__ == "__main__":
    main()

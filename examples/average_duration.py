"""Analytics: the average duration of an agent's conversations.

Uses the agent of the most recent conversation and all of its conversations
that have ended (done or failed): a call still under way has no final duration.
"""

from convhub.client import Client

ENDED = ("done", "failed")


def main() -> None:
    with Client() as client:
        latest = client.conversations.list(limit=1).data
        if not latest:
            print("No conversations yet.")
            return
        agent = latest[0]

        conversations = list(client.conversations.list(agent_id=agent.agent_id, limit=100))
        durations = [c.duration_secs for c in conversations if c.status in ENDED]
        print(f"Agent: {agent.agent_name} ({agent.agent_id})")
        if not durations:
            print("No finished conversations yet.")
            return
        print(f"Conversations: {len(durations)}")
        print(f"Average Duration: {sum(durations) / len(durations):.1f} seconds")
        print(f"Shortest / longest: {min(durations)}s / {max(durations)}s")
        if len(conversations) > len(durations):
            print(f"Not counted: {len(conversations) - len(durations)} still under way")


if __name__ == "__main__":
    main()

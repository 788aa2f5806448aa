"""Analytics: success rate by call length, for one agent.

Uses the agent of the most recent conversation and all of its conversations
that have ended (done or failed): a call still under way has no outcome yet.
"""

from collections import defaultdict

from convhub.client import Client, Conversation

ENDED = ("done", "failed")
BUCKETS = [(30, "0-30s"), (120, "30s-2m"), (300, "2m-5m")]


def bucket(duration_secs: int) -> str:
    for upper, label in BUCKETS:
        if duration_secs <= upper:
            return label
    return "5m+"


def main() -> None:
    with Client() as client:
        latest = client.conversations.list(limit=1).data
        if not latest:
            print("No conversations yet.")
            return
        agent = latest[0]

        groups: dict[str, list[Conversation]] = defaultdict(list)
        for conv in client.conversations.list(agent_id=agent.agent_id, limit=100):
            if conv.status not in ENDED:
                continue
            groups[bucket(conv.duration_secs)].append(conv)

        print(f"Success by Duration for {agent.agent_name}:")
        for label in [label for _, label in BUCKETS] + ["5m+"]:
            convs = groups.get(label)
            if not convs:
                continue
            successful = sum(1 for c in convs if c.call_successful == "success")
            print(f"  {label}: {successful / len(convs) * 100:.1f}% ({successful}/{len(convs)})")


if __name__ == "__main__":
    main()

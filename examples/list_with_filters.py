"""List conversations, then list them again with filters.

Filters here: one agent, successful calls only, 20 per page. Iterating a page
walks every later page too; ``page.data`` is just the one page.
"""

from convhub.client import Client


def main() -> None:
    with Client() as client:  # CONVHUB_BASE_URL and CONVHUB_API_KEY come from the environment
        latest = client.conversations.list(limit=5)
        if not latest.data:
            print("No conversations yet: ingest some (or run `convhub demo`) first.")
            return
        print("Latest conversations:")
        for conv in latest.data:
            print(f"  {conv.id}: {conv.agent_name} - {conv.status}")

        agent_id = latest.data[0].agent_id
        page = client.conversations.list(agent_id=agent_id, limit=20, call_successful="success")
        print(f"\nSuccessful conversations of agent {agent_id} (first page of 20):")
        for conv in page.data:
            print(f"  {conv.id}: {conv.agent_name} - {conv.status} - {conv.duration_secs}s")
        print(f"More pages: {page.has_more}")

        total = sum(1 for _ in page)  # walks every page
        print(f"All successful conversations of this agent: {total}")


if __name__ == "__main__":
    main()

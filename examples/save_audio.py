"""Download the recordings of an agent's conversations as MP3 files.

Usage: python examples/save_audio.py [output_dir] (default ./audio)
Saves at most 5 recordings of the agent of the most recent conversation with audio.
"""

import sys
from itertools import islice
from pathlib import Path

from convhub.client import Client, NotFoundError

MAX_FILES = 5


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "audio")
    with Client() as client:
        with_audio = client.conversations.list(has_audio=True, limit=1).data
        if not with_audio:
            print("No conversation has a recording.")
            return
        agent_id = with_audio[0].agent_id

        out_dir.mkdir(parents=True, exist_ok=True)
        saved = 0
        for conv in islice(client.conversations.list(agent_id=agent_id, has_audio=True), MAX_FILES):
            timestamp = conv.started_at.strftime("%Y%m%d_%H%M%S")
            path = out_dir / f"conversation_{timestamp}_{conv.id}.mp3"
            try:
                # Streams to disk; client.conversations.get_audio(id) returns the bytes instead.
                client.conversations.download_audio(conv.id, path)
            except NotFoundError:
                print(f"No audio stored for {conv.id}, skipped")
                continue
            saved += 1
            print(f"Saved: {path} ({path.stat().st_size} bytes)")
        print(f"{saved} recording(s) saved in {out_dir}/")


if __name__ == "__main__":
    main()

"""storage/: the local blob store keeps what it is given, streams it back, and stays inside its folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from convhub.storage.keys import provider_audio_key
from convhub.storage.local import CHUNK, LocalBlobStore


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read(store: LocalBlobStore, key: str) -> list[bytes]:
    return [chunk async for chunk in store.open(key)]


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


async def test_a_blob_reads_back_as_it_was_put(store: LocalBlobStore) -> None:
    assert await store.put("ws_1/audio/a.bin", chunks(b"ID3", b"", b" audio")) == 9

    assert b"".join(await read(store, "ws_1/audio/a.bin")) == b"ID3 audio"
    assert await store.exists("ws_1/audio/a.bin")
    assert not await store.exists("ws_1/audio/b.bin")


async def test_a_large_blob_streams_back_in_bounded_chunks(store: LocalBlobStore) -> None:
    data = bytes(range(256)) * (3 * CHUNK // 256 + 7)

    assert await store.put("big", chunks(data[:1000], data[1000:])) == len(data)

    parts = await read(store, "big")
    assert b"".join(parts) == data
    assert len(parts) == 4 and max(map(len, parts)) == CHUNK  # never the whole file in memory at once


async def test_putting_again_replaces_the_blob(store: LocalBlobStore) -> None:
    await store.put("k", chunks(b"a much longer first version"))
    await store.put("k", chunks(b"second"))

    assert b"".join(await read(store, "k")) == b"second"


async def test_a_stream_that_breaks_off_leaves_the_old_blob_and_nothing_else(store: LocalBlobStore) -> None:
    await store.put("ws/k.bin", chunks(b"old"))

    async def broken() -> AsyncIterator[bytes]:
        yield b"half of the new"
        raise ConnectionError("the upload stopped")

    with pytest.raises(ConnectionError):
        await store.put("ws/k.bin", broken())

    assert b"".join(await read(store, "ws/k.bin")) == b"old"
    assert sorted(p.name for p in (store.root / "ws").iterdir()) == ["k.bin"]


async def test_delete_removes_it_and_is_idempotent(store: LocalBlobStore) -> None:
    await store.put("ws/k", chunks(b"x"))

    await store.delete("ws/k")
    await store.delete("ws/k")  # already gone: no error

    assert not await store.exists("ws/k")
    with pytest.raises(FileNotFoundError):
        await read(store, "ws/k")


@pytest.mark.parametrize("key", ["../outside", "ws/../../outside", "/etc/passwd", "", "."])
async def test_a_key_cannot_reach_outside_the_store(store: LocalBlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="escapes the store"):
        await store.put(key, chunks(b"x"))
    for call in (store.exists(key), store.delete(key)):
        with pytest.raises(ValueError):
            await call
    assert not (store.root.parent / "outside").exists()


def test_a_recordings_key_is_stable_per_workspace_provider_and_id() -> None:
    key = provider_audio_key("ws_1", "retell", "call_1")

    assert key == provider_audio_key("ws_1", "retell", "call_1")
    assert key.startswith("ws_1/audio/retell/") and key.endswith(".bin")
    assert len({key, provider_audio_key("ws_2", "retell", "call_1"), provider_audio_key("ws_1", "vapi", "call_1"),
                provider_audio_key("ws_1", "retell", "call_2")}) == 4


@pytest.mark.parametrize("vendor_id", ["../../etc/passwd", "a/b?c#d", "x" * 5000, "\u00e9\u00e9/.."])
async def test_whatever_id_a_vendor_sends_its_key_stays_in_its_folder(store: LocalBlobStore, vendor_id: str) -> None:
    key = provider_audio_key("ws_1", "retell", vendor_id)

    assert key.count("/") == 3 and len(key) < 100
    await store.put(key, chunks(b"ID3"))
    assert [p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()] == [key]

"""``/v1/agents/{id}/documents``: text goes in as JSON or files, is listed with a preview, comes out on delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from convhub.agents.documents import MAX_DOCUMENT_BYTES
from convhub.conversations.schemas import AgentRef
from convhub.db import Database
from convhub.models import AgentDocument, AuditLog
from tests.conftest import ingest_into
from tests.factories import make_conversation

URL = "/v1/agents"
FAQ = "# FAQ\n\nWe answer e-mails within one working day.\n"


async def _agent(client: httpx.AsyncClient, **fields: Any) -> str:
    response = await client.post(URL, json={"name": "Helper", **fields})
    assert response.status_code == 201, response.text
    agent_id: str = response.json()["id"]
    return agent_id


async def _stored_count(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(AgentDocument))).scalar_one())


async def test_a_json_document_is_stored_and_listed(authed: httpx.AsyncClient) -> None:
    agent_id = await _agent(authed)

    response = await authed.post(f"{URL}/{agent_id}/documents", json={"name": "faq.md", "content": FAQ})

    assert response.status_code == 201, response.text
    [document] = response.json()["data"]
    assert document["id"].startswith("doc_")
    assert (document["agent_id"], document["name"], document["chars"]) == (agent_id, "faq.md", len(FAQ))
    assert document["preview"] == FAQ
    listing = (await authed.get(f"{URL}/{agent_id}/documents")).json()["data"]
    assert listing == [document]
    assert (await authed.get(f"{URL}/{agent_id}")).json()["document_count"] == 1


async def test_files_are_uploaded_as_multipart(authed: httpx.AsyncClient) -> None:
    agent_id = await _agent(authed)
    long_text = "Returns are free. " * 40

    response = await authed.post(f"{URL}/{agent_id}/documents", files=[
        ("file", ("faq.md", FAQ.encode(), "text/markdown")),
        ("file", ("../../etc/returns.txt", ("\ufeff" + long_text).encode(), "text/plain")),
        ("file", ("notes", "Crème brûlée on Fridays.\r\nAsk at the counter.".encode(), "application/octet-stream")),
    ])

    assert response.status_code == 201, response.text
    documents = response.json()["data"]
    assert [d["name"] for d in documents] == ["faq.md", "returns.txt", "notes"]  # no directories in names
    assert documents[1]["chars"] == len(long_text)  # the byte-order mark is not content
    assert documents[1]["preview"] == long_text[:200]
    assert documents[2]["preview"] == "Crème brûlée on Fridays.\nAsk at the counter."
    listing = (await authed.get(f"{URL}/{agent_id}/documents")).json()["data"]
    assert [d["id"] for d in listing] == [d["id"] for d in documents]
    assert "content" not in listing[0]


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([("file", ("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"))], 422,
         "Document 'logo.png' looks binary; upload text or markdown."),
        ([("file", ("latin1.txt", "caf\xe9 ouvert".encode("latin-1"), "text/plain"))], 422,
         "Document 'latin1.txt' is not UTF-8 text"),
        ([("file", ("empty.md", b"  \n\n ", "text/markdown"))], 422, "Document 'empty.md' is empty."),
        ([("file", ("huge.txt", b"a" * (MAX_DOCUMENT_BYTES + 1), "text/plain"))], 413,
         "Document 'huge.txt' is larger than 2 MB"),
        ([("file", ("ok.md", FAQ.encode(), "text/markdown")), ("file", ("bad.bin", b"\x00\x01\x02", "x/y"))], 422,
         "Document 'bad.bin' looks binary"),
    ],
)
async def test_a_bad_file_is_refused_and_nothing_is_stored(
    authed: httpx.AsyncClient, database: Database, files: list[Any], status: int, message: str
) -> None:
    agent_id = await _agent(authed)

    response = await authed.post(f"{URL}/{agent_id}/documents", files=files)

    assert response.status_code == status, response.text
    body = response.json()["detail"]
    assert message in (body[0]["msg"] if status == 422 else body["message"])
    assert await _stored_count(database) == 0  # one bad file in an upload stores none of it


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "faq.md"}, 422, "body.content: Field required"),
        ({"name": "", "content": FAQ}, 422, "body.name: Value error, must not be empty"),
        ({"name": "a.md", "content": "   "}, 422, "Document 'a.md' is empty."),
        ({"name": "a.md", "content": "text\u0000more"}, 422, "Document 'a.md' looks binary"),
        ({"name": "a.md", "content": "x" * (MAX_DOCUMENT_BYTES + 1)}, 413, "larger than 2 MB"),
        ({"name": "a.md", "content": FAQ, "tags": ["x"]}, 422, "body.tags: Extra inputs are not permitted"),
    ],
)
async def test_a_bad_json_document_is_refused(
    authed: httpx.AsyncClient, database: Database, body: dict[str, Any], status: int, message: str
) -> None:
    agent_id = await _agent(authed)

    response = await authed.post(f"{URL}/{agent_id}/documents", json=body)

    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    text = " | ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in detail) if status == 422 \
        else detail["message"]
    assert message in text
    assert await _stored_count(database) == 0


async def test_invalid_json_and_other_content_types_are_refused(authed: httpx.AsyncClient) -> None:
    agent_id = await _agent(authed)
    path = f"{URL}/{agent_id}/documents"

    broken = await authed.post(path, content=b'{"name": "a.md", "content": ',
                               headers={"content-type": "application/json"})
    plain = await authed.post(path, content=FAQ.encode(), headers={"content-type": "text/plain"})
    no_file = await authed.post(path, content=b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nfaq.md\r\n'
                                b"--xyz--\r\n", headers={"content-type": "multipart/form-data; boundary=xyz"})

    assert broken.status_code == 422
    assert broken.json()["detail"][0]["loc"] == ["body"]
    assert plain.status_code == 415
    assert "application/json" in plain.json()["detail"]["message"]
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["msg"] == ("The upload has no file: send each document as a file field "
                                                  "named 'file'.")


async def test_a_document_is_deleted(authed: httpx.AsyncClient, database: Database) -> None:
    agent_id = await _agent(authed)
    created = (await authed.post(f"{URL}/{agent_id}/documents", files=[
        ("file", ("a.md", b"Alpha text.", "text/markdown")), ("file", ("b.md", b"Beta text.", "text/markdown"))
    ])).json()["data"]

    response = await authed.delete(f"{URL}/{agent_id}/documents/{created[0]['id']}")

    assert response.status_code == 204
    assert [d["name"] for d in (await authed.get(f"{URL}/{agent_id}/documents")).json()["data"]] == ["b.md"]
    again = await authed.delete(f"{URL}/{agent_id}/documents/{created[0]['id']}")
    assert again.status_code == 404
    assert again.json()["detail"]["message"] == f"Document {created[0]['id']!r} of agent {agent_id!r} not found."
    async with database.session() as session:
        actions = list((await session.execute(select(AuditLog.action).where(AuditLog.target_id == agent_id)
                                              .order_by(AuditLog.id))).scalars())
    assert actions == ["agent.created", "agent.document_added", "agent.document_added", "agent.document_deleted"]


async def test_a_document_belongs_to_its_agent(authed: httpx.AsyncClient) -> None:
    first = await _agent(authed)
    second = await _agent(authed)
    [document] = (await authed.post(f"{URL}/{first}/documents", json={"name": "a.md", "content": "A."})).json()["data"]

    response = await authed.delete(f"{URL}/{second}/documents/{document['id']}")

    assert response.status_code == 404
    assert len((await authed.get(f"{URL}/{first}/documents")).json()["data"]) == 1


async def test_deleting_an_agent_removes_its_documents(authed: httpx.AsyncClient, database: Database) -> None:
    agent_id = await _agent(authed)
    await authed.post(f"{URL}/{agent_id}/documents", json={"name": "a.md", "content": "A."})

    assert (await authed.delete(f"{URL}/{agent_id}")).status_code == 204
    assert await _stored_count(database) == 0


async def test_only_native_knowledge_agents_take_documents(authed: httpx.AsyncClient, database: Database) -> None:
    llama = await _agent(authed, backend="openai", base_url="http://127.0.0.1:11434/v1", model="llama3.1")
    await ingest_into(database, "default", [make_conversation(agent=AgentRef(provider_agent_id="el_1", name="EL"))])
    mirror = next(a["id"] for a in (await authed.get(URL)).json()["data"] if a["provider"] == "elevenlabs")
    document = {"name": "a.md", "content": "A."}

    to_openai = await authed.post(f"{URL}/{llama}/documents", json=document)
    to_mirror = await authed.post(f"{URL}/{mirror}/documents", json=document)

    assert to_openai.status_code == 409
    assert "uses the openai backend; only knowledge agents answer from documents" in \
        to_openai.json()["detail"]["message"]
    assert to_mirror.status_code == 409
    assert "mirrors an elevenlabs agent" in to_mirror.json()["detail"]["message"]
    assert await _stored_count(database) == 0

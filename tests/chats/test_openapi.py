"""The OpenAPI document tells the truth about the chat endpoints: their errors, bodies and the SSE stream."""

from __future__ import annotations

import httpx

LIST = "/v1/conversations"
ONE = f"{LIST}/{{id}}"


async def test_openapi_documents_every_chat_endpoint_and_its_errors(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    expected = {
        (LIST, "post"): {"201", "401", "403", "404", "422"},
        (f"{ONE}/messages", "post"): {"201", "401", "403", "404", "409", "422", "503"},
        (f"{ONE}/messages", "get"): {"200", "401", "403", "404", "422"},
        (f"{ONE}/messages/stream", "post"): {"200", "401", "403", "404", "409", "422"},
        (f"{ONE}/messages/{{message_id}}/rating", "post"): {"200", "401", "403", "404", "422"},
        (f"{ONE}/end", "post"): {"200", "401", "403", "404", "409", "422"},
        (f"{ONE}/takeover", "post"): {"200", "401", "403", "404", "409", "422"},
        (f"{ONE}/release", "post"): {"200", "401", "403", "404", "409", "422"},
        (f"{ONE}/analytics", "get"): {"200", "401", "403", "404", "422"},
        ("/v1/messages/{message_id}/rating", "post"): {"200", "401", "403", "404", "422"},
    }
    for (path, method), codes in expected.items():
        operation = paths[path][method]
        assert set(operation["responses"]) == codes, (path, method)
        assert operation["tags"] == ["chat"] and operation["summary"], (path, method)
    stream = paths[f"{ONE}/messages/stream"]["post"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "event: delta" in stream["description"] and "interrupted" in stream["description"]
    assert "conversations:write" in paths[f"{ONE}/takeover"]["post"]["description"]
    listed = {p["name"] for p in paths[f"{ONE}/messages"]["get"]["parameters"]}
    assert {"limit", "order", "after", "before", "cursor"} <= listed

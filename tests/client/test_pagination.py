"""Lists return pages that walk every following page by themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from convhub.client import AsyncClient, Client

from .conftest import Pages, Recorder, page_json


def test_iterating_a_list_yields_every_item_of_every_page(make_client: Callable[..., Client]) -> None:
    recorder = Pages()
    page = make_client(recorder).conversations.list(agent_id="agent_1", limit=2)

    assert [c.id for c in page] == ["c1", "c2", "c3", "c4", "c5"]
    assert [r.url.params.get("cursor") for r in recorder.requests] == [None, "cur_2", "cur_3"]


def test_filters_are_kept_on_every_page(make_client: Callable[..., Client]) -> None:
    recorder = Pages()
    list(make_client(recorder).conversations.list(agent_id="agent_1", call_successful="success", limit=2))

    for request in recorder.requests:
        assert request.url.params["agent_id"] == "agent_1"
        assert request.url.params["call_successful"] == "success"
        assert request.url.params["limit"] == "2"
        assert len(request.url.params.get_list("cursor")) <= 1


def test_the_first_page_is_fetched_eagerly_and_exposes_its_own_data(
    make_client: Callable[..., Client],
) -> None:
    recorder = Pages()
    page = make_client(recorder).conversations.list()

    assert len(recorder.requests) == 1
    assert [c.id for c in page.data] == ["c1", "c2"]
    assert page.has_more is True
    assert page.next_cursor == "cur_2"


def test_iter_pages_walks_page_by_page(make_client: Callable[..., Client]) -> None:
    pages = list(make_client(Pages()).conversations.list().iter_pages())

    assert [[c.id for c in p.data] for p in pages] == [["c1", "c2"], ["c3", "c4"], ["c5"]]
    assert pages[-1].has_more is False
    assert pages[-1].next_cursor is None
    with pytest.raises(RuntimeError):
        pages[-1].get_next_page()


def test_a_single_page_makes_a_single_request(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=page_json(["only"])))
    assert [c.id for c in make_client(recorder).conversations.list()] == ["only"]
    assert len(recorder.requests) == 1


def test_filter_values_are_encoded_for_the_query_string(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=page_json([])))
    make_client(recorder).conversations.list(
        has_audio=True,
        started_after=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        started_before="2024-06-01T00:00:00Z",
        metadata={"team": "billing", "tier": "gold"},
        duration_min=30,
        user_id=None,
        sort="duration",
        order="asc",
        q="refund",
        cursor="start_here",
    )

    params = recorder.requests[0].url.params
    assert params["has_audio"] == "true"
    assert params["started_after"] == "2024-05-01T12:30:00+00:00"
    assert params["started_before"] == "2024-06-01T00:00:00Z"
    assert params.get_list("metadata") == ["team=billing", "tier=gold"]
    assert params["duration_min"] == "30"
    assert "user_id" not in params
    assert (params["sort"], params["order"], params["q"], params["cursor"]) == (
        "duration",
        "asc",
        "refund",
        "start_here",
    )


async def test_async_for_over_list_walks_every_page(make_async_client: Callable[..., AsyncClient]) -> None:
    recorder = Pages()
    client = make_async_client(recorder)

    ids = [c.id async for c in client.conversations.list(agent_id="agent_1")]

    assert ids == ["c1", "c2", "c3", "c4", "c5"]
    assert [r.url.params.get("cursor") for r in recorder.requests] == [None, "cur_2", "cur_3"]
    assert all(r.url.params["agent_id"] == "agent_1" for r in recorder.requests)


async def test_awaiting_async_list_gives_the_first_page(
    make_async_client: Callable[..., AsyncClient],
) -> None:
    recorder = Pages()
    page = await make_async_client(recorder).conversations.list()

    assert [c.id for c in page.data] == ["c1", "c2"]
    assert len(recorder.requests) == 1
    assert [[c.id for c in p.data] async for p in page.iter_pages()] == [["c1", "c2"], ["c3", "c4"], ["c5"]]
    assert [c.id async for c in page] == ["c1", "c2", "c3", "c4", "c5"]

"""Every error response becomes the matching exception, carrying what the server said."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from convhub.client import (
    APIError,
    APIStatusError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

from .conftest import Recorder, error_response


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
    ],
)
def test_status_maps_to_its_error_class(
    make_client: Callable[..., Client], status: int, error_class: type[APIStatusError]
) -> None:
    client = make_client(Recorder(error_response(status, "it went wrong", code="some_code")), max_retries=0)

    with pytest.raises(error_class) as caught:
        client.conversations.get("conv_1")

    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, APIStatusError)
    assert isinstance(error, APIError)
    assert error.status_code == status
    assert error.message == "it went wrong"
    assert error.code == "some_code"
    assert error.request_id == "req_123"
    assert error.body == {"detail": {"status": "some_code", "message": "it went wrong"}}
    assert "it went wrong" in str(error)
    assert "req_123" in str(error)


def test_validation_errors_are_summarised_in_the_message(make_client: Callable[..., Client]) -> None:
    body = {
        "detail": [
            {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100", "type": "x"},
            {"loc": ["query", "order"], "msg": "Input should be 'asc' or 'desc'", "type": "y"},
        ]
    }
    client = make_client(Recorder(httpx.Response(422, json=body)))

    with pytest.raises(UnprocessableEntityError) as caught:
        client.conversations.list(limit=1000)

    assert caught.value.message == (
        "query.limit: Input should be less than or equal to 100; query.order: Input should be 'asc' or 'desc'"
    )
    assert caught.value.body == body
    assert caught.value.request_id is None


def test_a_status_without_a_dedicated_class_is_a_plain_status_error(
    make_client: Callable[..., Client],
) -> None:
    client = make_client(Recorder(error_response(405, "Method Not Allowed")))

    with pytest.raises(APIStatusError) as caught:
        client.conversations.delete("conv_1")

    assert type(caught.value) is APIStatusError
    assert caught.value.status_code == 405


def test_a_non_json_error_body_still_gives_a_useful_error(make_client: Callable[..., Client]) -> None:
    client = make_client(Recorder(httpx.Response(502, text="<html>Bad gateway</html>")), max_retries=0)

    with pytest.raises(InternalServerError) as caught:
        client.conversations.get("conv_1")

    assert caught.value.body == "<html>Bad gateway</html>"
    assert "Bad gateway" in caught.value.message


def test_an_empty_error_body_falls_back_to_the_reason_phrase(make_client: Callable[..., Client]) -> None:
    client = make_client(Recorder(httpx.Response(404)))

    with pytest.raises(NotFoundError) as caught:
        client.conversations.get_audio("conv_1")

    assert caught.value.message == "Not Found"
    assert caught.value.body is None


async def test_async_client_raises_the_same_errors(make_async_client: Callable[..., AsyncClient]) -> None:
    client = make_async_client(
        Recorder(error_response(401, "Invalid API key"), error_response(404, "Conversation not found"))
    )

    with pytest.raises(AuthenticationError, match="Invalid API key"):
        await client.conversations.get("conv_1")
    with pytest.raises(NotFoundError) as caught:
        await client.conversations.get("conv_1")
    assert caught.value.request_id == "req_123"

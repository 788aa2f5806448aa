"""Log redaction: secret values never reach a log line, whoever logs them; the rest of the line stays readable."""

from __future__ import annotations

import logging

import pytest

from convhub.kit.logs import REDACTED, install_log_redaction, redact

SIG = "eyJ3cyI6IndzXzAxIn0.c2lnbmF0dXJlLXZhbHVl"
TOKEN = "tok_4f9a8b7c6d5e4f3a2b1c"
KEY = "chk_live_9a8b7c6d5e4f3a2b1c0d"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (f'127.0.0.1:5000 - "WebSocket /v1/convai/conversation?agent_id=agt_1&conversation_signature={SIG}" 101',
         SIG, "/v1/convai/conversation?agent_id=agt_1&conversation_signature=[redacted]"),
        (f"/v1/convai/conversation?token={TOKEN}&agent_id=agt_1", TOKEN, "?token=[redacted]&agent_id=agt_1"),
        (f"/v1/convai/conversation?agent_id=agt_1&conversation_token={TOKEN}", TOKEN, "conversation_token=[redacted]"),
        (f"GET /v1/conversations?xi-api-key={KEY}&limit=5 HTTP/1.1", KEY, "?xi-api-key=[redacted]&limit=5"),
        (f"/x?API_KEY={KEY}", KEY, "/x?API_KEY=[redacted]"),
        (f"/x?a=1&key={KEY}#frag", KEY, "&key=[redacted]#frag"),
        (f"/x?signature={SIG}", SIG, "?signature=[redacted]"),
        (f"Authorization: Bearer {KEY}", KEY, "Authorization: Bearer [redacted]"),
        (f"headers {{'xi-api-key': '{KEY}'}}", KEY, "{'xi-api-key': '[redacted]'}"),
        (f"{{'authorization': 'Bearer {KEY}'}}", KEY, "'authorization': 'Bearer [redacted]'"),
        (f"xi-api-key: {KEY}", KEY, "xi-api-key: [redacted]"),
        ("redis://:s3cretpass@redis.internal:6379/0 does not answer", "s3cretpass", "redis://:[redacted]@redis.internal"),
        ("postgresql+asyncpg://convhub:s3cretpass@db:5432/convhub", "s3cretpass", "convhub:[redacted]@db:5432"),
    ],
)
def test_redact_hides_the_value_and_keeps_the_rest(text: str, secret: str, kept: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert kept in cleaned


@pytest.mark.parametrize("text", [
    '127.0.0.1:5000 - "GET /v1/conversations?agent_id=agt_1&sort_key=x&limit=5 HTTP/1.1" 200',
    "http://127.0.0.1:8000/v1/convai/conversations?page_size=5",
    "webhook mode: bearer",
    "user@example.com wrote",
])
def test_lines_without_secrets_are_unchanged(text: str) -> None:
    assert redact(text) == text


def test_every_logger_s_records_are_redacted_message_args_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent: one wrapper, not two
    caplog.set_level(logging.INFO)
    url = f"/v1/convai/conversation?agent_id=agt_1&conversation_signature={SIG}"
    # A server run earlier in this process may have made uvicorn's access log stop propagating to the root.
    access = logging.getLogger("uvicorn.access")
    saved = access.level, access.propagate
    access.addHandler(caplog.handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", url, "1.1", 200)
        logging.getLogger("convhub.some.module").warning(f"fetching {url}")
        logging.getLogger("httpx").info("HTTP Request: %(method)s %(url)s", {"method": "GET", "url": f"http://h{url}"})
        try:
            raise RuntimeError(f"cannot open http://h{url}")
        except RuntimeError:
            logging.getLogger("convhub.jobs").exception("job failed")
    finally:
        access.removeHandler(caplog.handler)
        access.setLevel(saved[0])
        access.propagate = saved[1]

    assert len(caplog.records) == 4
    text = caplog.text
    assert SIG not in text
    assert text.count(f"conversation_signature={REDACTED}") == 4
    assert '"GET /v1/convai/conversation?agent_id=agt_1&conversation_signature=[redacted] HTTP/1.1" 200' in text
    assert caplog.records[0].args is not None and caplog.records[0].args[-1] == 200  # positions kept for formatters
    assert "RuntimeError: cannot open" in text  # the traceback is still there, redacted

"""One person across providers: numbers in E.164 from every vendor's spelling, and linked transfers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from convhub.db import Database
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.providers.retell.mapper import conversation_from_retell
from convhub.providers.vapi.mapper import conversation_from_vapi
from convhub.simulators.common import SimulatorOptions, SimulatorStore, load_vendor
from tests.conftest import ingest_into
from tests.factories import BASE_TIME, make_conversation


def vendor_call(provider: str, accept: Any) -> dict[str, Any]:
    vendor = load_vendor(provider)
    store = SimulatorStore(vendor, SimulatorOptions(conversations=60, seed=8))
    return next(dict(c) for c in store.ordered() if accept(c))


async def test_one_customer_spelled_three_ways_is_one_person(database: Database, authed: httpx.AsyncClient) -> None:
    el = vendor_call("elevenlabs", lambda c: c["metadata"].get("phone_call"))
    el["metadata"] = {**el["metadata"], "phone_call": {**el["metadata"]["phone_call"],
                                                       "direction": "inbound", "external_number": "+1 (415) 555-0199"}}
    retell = vendor_call("retell", lambda c: c.get("call_type") == "phone_call")
    retell.update(direction="inbound", from_number="14155550199")
    vapi = vendor_call("vapi", lambda c: c.get("customer", {}).get("number"))
    vapi["customer"] = {**vapi["customer"], "number": "+14155550199"}
    conversations = [conversation_from_elevenlabs(el), conversation_from_retell(retell), conversation_from_vapi(vapi)]
    assert {c.customer_number for c in conversations} == {"+14155550199"}
    await ingest_into(database, "default", conversations)

    for spelling in ("+1 (415) 555-0199", "+14155550199", "14155550199"):
        page = (await authed.get("/v1/conversations", params={"customer": spelling})).json()
        assert sorted(c["provider"] for c in page["data"]) == ["elevenlabs", "retell", "vapi"], spelling


async def test_user_id_spans_providers(database: Database, authed: httpx.AsyncClient) -> None:
    await ingest_into(database, "default", [
        make_conversation(provider="elevenlabs", user_id="u-42"),
        make_conversation(provider="retell", provider_conversation_id="call_1", user_id="u-42"),
        make_conversation(provider="vapi", provider_conversation_id="v-1", user_id="someone-else"),
    ])
    page = (await authed.get("/v1/conversations", params={"user_id": "u-42"})).json()
    assert sorted(c["provider"] for c in page["data"]) == ["elevenlabs", "retell"]


async def test_a_transfer_to_another_providers_line_is_linked_either_order(database: Database,
                                                                           authed: httpx.AsyncClient) -> None:
    handed = make_conversation(
        provider="elevenlabs", customer_number="+14155550111", agent_number="+18005550100",
        transfer_to="+18005550200", started_at=BASE_TIME, ended_at=BASE_TIME + timedelta(minutes=3),
    )
    picked_up = make_conversation(
        provider="retell", provider_conversation_id="call_after_transfer", customer_number="+14155550111",
        agent_number="+18005550200", started_at=BASE_TIME + timedelta(minutes=3, seconds=5),
    )
    unrelated = make_conversation(  # same line, another caller
        provider="retell", provider_conversation_id="call_other", customer_number="+14155550999",
        agent_number="+18005550200", started_at=BASE_TIME + timedelta(minutes=3, seconds=10),
    )
    too_late = make_conversation(  # same caller, same line, an hour later: a new call, not the transfer
        provider="retell", provider_conversation_id="call_later", customer_number="+14155550111",
        agent_number="+18005550200", started_at=BASE_TIME + timedelta(hours=1),
    )
    # The picked-up call is filed first (its webhook came in before the first call's analysis).
    [picked_id, other_id, late_id] = await ingest_into(database, "default", [picked_up, unrelated, too_late])
    [handed_id] = await ingest_into(database, "default", [handed])

    def get(conversation_id: str) -> Any:
        return authed.get(f"/v1/conversations/{conversation_id}")

    assert (await get(picked_id)).json()["transferred_from_id"] == handed_id
    assert (await get(handed_id)).json()["transfer_to"] == "+18005550200"
    assert (await get(other_id)).json()["transferred_from_id"] is None
    assert (await get(late_id)).json()["transferred_from_id"] is None

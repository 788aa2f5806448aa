"""Deterministic, realistic ElevenLabs conversation bodies.

Demo data, tests, benchmarks and the provider simulators all need ElevenLabs
``GET /v1/convai/conversations/{id}`` bodies that look like the real thing:
customer-service calls with varied wording (so full-text search has something
to find), tool calls with their results, analysis, feedback, phone metadata and
costs. Everything comes from ``random.Random`` seeded by ``(seed, index)``, so a
body depends only on its seed, its index and the generator's settings: the
first k bodies of ``n=1000`` are the bodies of ``n=k``, and any one can be
regenerated on its own (:func:`generate_elevenlabs_conversation`).

Phone numbers come from ranges reserved for fiction (US ``555-01xx``, UK Ofcom
drama ranges) and e-mail addresses and URLs use the reserved ``example``
domains, so demo data never points at a real person.

Speed matters (benchmarks ask for 10⁵ bodies): phrases are pre-built tables
(:mod:`convhub.simulators.phrases`) filled with ``str.format_map`` and the hot
path avoids per-item set-up beyond one ``Random`` instance.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from convhub.simulators.phrases import (
    AGENT_FIRST_NAMES,
    ANYTHING_ELSE,
    APOLOGIES,
    CARRIERS_UK,
    CARRIERS_US,
    CITIES_UK,
    CITIES_US,
    COMMENTS_FAIL,
    COMMENTS_OK,
    COMPANIES,
    COMPLAINTS,
    DATES,
    ERRORS,
    ETAS,
    FIRST_NAMES,
    GENERIC_FILLERS,
    GOODBYES,
    GOODBYES_FAIL,
    GOODBYES_OUTBOUND,
    GOODBYES_TEXT,
    GREETINGS_TEXT,
    GREETINGS_VOICE,
    LAST_NAMES,
    NOTHING_ELSE,
    RATIONALES,
    REASONS,
    SCENARIOS,
    TEAM_SIZES,
    THANKS,
    TIMES,
    TRANSFER_ASKS,
    TRANSFER_LINES,
    UK_PREFIXES,
    US_AREAS,
    VOICE_FILLERS,
    Company,
    Scenario,
)

__all__ = [
    "generate_audio_bytes",
    "generate_elevenlabs_agents",
    "generate_elevenlabs_conversation",
    "generate_elevenlabs_conversations",
]

DEFAULT_START = datetime(2025, 6, 1, tzinfo=UTC)
"""Where the time window begins when no ``start`` is given (fixed, so output is reproducible)."""

# ------------------------------------------------------------------ the shape of the traffic

_SCENARIOS_BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}
_LLMS = ("gemini-2.0-flash", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-2.5-flash", "gpt-4.1-mini")
_LLM_PRICES = {  # USD per 10⁹ tokens (input, output): integers, so prices print without float noise
    "gemini-2.0-flash": (100, 400),
    "gpt-4o-mini": (150, 600),
    "claude-3-5-sonnet": (3000, 15000),
    "gemini-2.5-flash": (300, 2500),
    "gpt-4.1-mini": (400, 1600),
}
_TIERS = ("creator", "pro", "scale", "business")
_US_CUSTOMERS = 100 * len(US_AREAS)  # +1 <area> 555-01xx is reserved for fiction
_CUSTOMERS = _US_CUSTOMERS + 1000 * len(UK_PREFIXES)
_HOURS_UTC = (13, 14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 20, 21, 22, 9, 10, 11, 12, 13, 15, 16, 23, 1)
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# Cumulative shares: mostly finished calls, most of them successful, mostly phone.
_STATUS_SHARES = ((0.88, "done"), (0.93, "failed"), (0.96, "in-progress"), (0.98, "processing"), (1.0, "initiated"))
_OUTCOME_SHARES = ((0.68, "success"), (0.9, "failure"), (1.0, "unknown"))
_CHANNEL_SHARES = ((0.64, "phone"), (0.9, "web"), (0.97, "chat"), (1.0, "whatsapp"))


# (role, line template or None, tool the turn calls or None)
_Beat = tuple[str, str | None, str | None]

# ----------------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class _Agent:
    agent_id: str
    name: str
    first_name: str
    company: Company
    llm: str
    agent_number: str
    escalation_number: str
    phone_number_id: str
    telephony: str  # "twilio" | "sip_trunking"
    tier: str
    scenarios: tuple[Scenario, ...]
    scenario_weights: tuple[float, ...]  # cumulative, over scenarios


def _ulid(rng: random.Random, unix_ms: int) -> str:
    """A lower-case ULID from ``unix_ms`` and 80 bits of ``rng`` — the shape of ElevenLabs ids."""
    value = (unix_ms << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


@lru_cache(maxsize=32)
def _agents(seed: int, count: int) -> tuple[_Agent, ...]:
    rng = random.Random(f"convhub-agents/{seed}")
    created_ms = int(DEFAULT_START.timestamp() * 1000) - 90 * 86_400_000
    agents = []
    for k in range(count):
        company = COMPANIES[(k + seed) % len(COMPANIES)]
        first = AGENT_FIRST_NAMES[(k * 5 + seed) % len(AGENT_FIRST_NAMES)]
        area = US_AREAS[(k * 7 + seed) % len(US_AREAS)]
        line = (k * 3) % 90
        scenarios = tuple(_SCENARIOS_BY_KEY[key] for key in company.scenarios)
        cumulative, total = [], 0.0
        for i in range(len(scenarios)):
            total += 4.0 if i == 0 else 1.5 if i == 1 else 1.0  # the company's main business first
            cumulative.append(total)
        agents.append(
            _Agent(
                agent_id="agent_" + _ulid(rng, created_ms + k * 3_600_000),
                name=f"{first} ({company.name})",
                first_name=first,
                company=company,
                llm=_LLMS[k % len(_LLMS)],
                agent_number=f"+1{area}55501{line:02d}",
                escalation_number=f"+1{area}55501{line + 1:02d}",
                phone_number_id="phnum_" + _ulid(rng, created_ms),
                telephony="twilio" if k % 3 else "sip_trunking",
                tier=_TIERS[k % len(_TIERS)],
                scenarios=scenarios,
                scenario_weights=tuple(cumulative),
            )
        )
    return tuple(agents)


def generate_elevenlabs_agents(*, seed: int = 0, agents: int = 5) -> list[dict[str, Any]]:
    """The agents the generated conversations belong to: ``agent_id``, ``name`` and phone line."""
    if agents < 1:
        raise ValueError("agents must be at least 1")
    return [
        {"agent_id": a.agent_id, "name": a.name, "agent_number": a.agent_number, "llm": a.llm}
        for a in _agents(seed, agents)
    ]


# ------------------------------------------------------------------ generation


def generate_elevenlabs_conversations(
    n: int,
    *,
    seed: int = 0,
    agents: int = 5,
    turns: int = 20,
    start: datetime | None = None,
    span_days: int = 30,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` ElevenLabs conversation-detail bodies (``GetConversationResponseModel`` shape).

    ``seed`` fixes the output; ``agents`` is how many agents share the traffic;
    ``turns`` is the typical transcript length of a finished conversation (each
    varies around it; failed and unfinished ones are shorter); conversations
    start within ``span_days`` days after ``start`` (default :data:`DEFAULT_START`;
    naive datetimes are taken as UTC).
    """
    if n < 0:
        raise ValueError("n must not be negative")
    generator = _Generator(seed=seed, agents=agents, turns=turns, start=start, span_days=span_days)
    return map(generator.conversation, range(n))


def generate_elevenlabs_conversation(
    index: int,
    *,
    seed: int = 0,
    agents: int = 5,
    turns: int = 20,
    start: datetime | None = None,
    span_days: int = 30,
) -> dict[str, Any]:
    """The ``index``-th body :func:`generate_elevenlabs_conversations` yields for the same settings."""
    if index < 0:
        raise ValueError("index must not be negative")
    generator = _Generator(seed=seed, agents=agents, turns=turns, start=start, span_days=span_days)
    return generator.conversation(index)


class _Generator:
    """The settings and agents shared by every body of one run; ``conversation(i)`` builds body ``i``."""

    __slots__ = ("agent_weights", "agents", "seed", "span_secs", "start_unix", "turns")

    def __init__(self, *, seed: int, agents: int, turns: int, start: datetime | None, span_days: int) -> None:
        if agents < 1:
            raise ValueError("agents must be at least 1")
        if turns < 0:
            raise ValueError("turns must not be negative")
        if span_days < 0:
            raise ValueError("span_days must not be negative")
        start = DEFAULT_START if start is None else start
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.seed = seed
        self.agents = _agents(seed, agents)
        # Some agents are busier than others.
        total, cumulative = 0.0, []
        for k in range(agents):
            total += 1.0 / (1 + k % 7) ** 0.5
            cumulative.append(total)
        self.agent_weights = tuple(cumulative)
        self.turns = turns
        self.start_unix = int(start.timestamp())
        self.span_secs = span_days * 86_400

    def conversation(self, index: int) -> dict[str, Any]:
        rng = random.Random(f"convhub-el/{self.seed}/{index}")
        return _Conversation(self, rng).body()


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[int(rng.random() * len(options))]


def _customer(k: int) -> tuple[str, str, str, bool]:
    """(first name, last name, E.164 number, is_uk) of customer ``k``: stable across conversations."""
    first = FIRST_NAMES[k % len(FIRST_NAMES)]
    last = LAST_NAMES[(k // len(FIRST_NAMES) + k * 7) % len(LAST_NAMES)]
    if k < _US_CUSTOMERS:
        return first, last, f"+1{US_AREAS[k // 100]}55501{k % 100:02d}", False
    j = k - _US_CUSTOMERS
    return first, last, f"{UK_PREFIXES[j // 1000]}0{j % 1000:03d}", True


class _Conversation:
    """Builds one body; an object only so the many small steps share state cheaply."""

    def __init__(self, generator: _Generator, rng: random.Random) -> None:
        self.g = generator
        self.rng = rng
        self.turns: list[dict[str, Any]] = []
        self.llm_nano_usd = 0  # LLM cost so far, in 10⁻⁹ USD
        self.likes_left = 0
        self.dislikes_left = 0
        self.slots: dict[str, Any] = {}

    # -- the body -----------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        g, rng = self.g, self.rng
        r = rng.random
        agent = g.agents[_bisect(g.agent_weights, r() * g.agent_weights[-1])]
        scenario = agent.scenarios[_bisect(agent.scenario_weights, r() * agent.scenario_weights[-1])]
        start_unix = self._start_unix()
        conversation_id = "conv_" + _ulid(rng, start_unix * 1000 + int(r() * 1000))

        status = _share(_STATUS_SHARES, r())
        outcome = _share(_OUTCOME_SHARES, r())
        resolved = outcome == "success" or (outcome == "unknown" and r() < 0.5)
        channel = _share(_CHANNEL_SHARES, r())
        outbound = channel == "phone" and bool(scenario.outbound_openers) and r() < 0.45
        text = channel in ("chat", "whatsapp")

        customer = int(r() * _CUSTOMERS)
        first, last, number, is_uk = _customer(customer)
        user_id = f"cust_{customer:05d}" if r() < 0.4 else None
        self.slots = self._slots(agent, first, last, is_uk)

        scripted = self._scripted(scenario, status, resolved, channel, outbound, text)
        duration = self._duration(status, len(scripted))
        feedback = self._feedback(status, outcome)  # before the turns, so per-turn thumbs can be placed
        self._turns_from_script(scripted, duration, text, agent)
        has_audio = status in ("done", "processing") and not text and r() < 0.93

        tools_used = {tool for _, _, tool in scripted}
        metadata = self._metadata(agent, status, outcome, channel, duration, feedback, tools_used, start_unix, is_uk)
        metadata["conversation_initiation_source"] = self._add_channel(metadata, agent, channel, outbound, number)
        dynamic_variables = _dynamic_variables(agent, conversation_id, metadata, channel, outbound, number)
        if user_id is not None:
            dynamic_variables["customer_name"] = self.slots["customer_full"]

        return {
            "agent_id": agent.agent_id,
            "agent_name": agent.name,
            "conversation_id": conversation_id,
            "status": status,
            "user_id": user_id,
            "branch_id": None,
            "transcript": self.turns,
            "metadata": metadata,
            "analysis": self._analysis(scenario, status, outcome, resolved, "transfer_to_number" in tools_used),
            "conversation_initiation_client_data": {
                "conversation_config_override": {"turn": None, "tts": None, "conversation": None, "agent": None},
                "custom_llm_extra_body": {},
                "user_id": user_id,
                "source_info": {"source": metadata["conversation_initiation_source"], "version": None},
                "dynamic_variables": dynamic_variables,
            },
            "has_audio": has_audio,
            "has_user_audio": has_audio,
            "has_response_audio": has_audio,
            "has_auxiliary_audio": False,
        }

    def _start_unix(self) -> int:
        """When the conversation starts: a day in the window, at an hour people call."""
        g, r = self.g, self.rng.random
        start_unix = g.start_unix
        if g.span_secs:
            day = int(r() * (g.span_secs // 86_400 or 1))
            hour = _HOURS_UTC[int(r() * len(_HOURS_UTC))]
            start_unix += min(day * 86_400 + hour * 3_600 + int(r() * 3_600), g.span_secs - 1)
        return start_unix

    def _scripted(
        self, scenario: Scenario, status: str, resolved: bool, channel: str, outbound: bool, text: bool
    ) -> list[_Beat]:
        """The beats of the transcript, cut short for a conversation that is not over or that failed."""
        r = self.rng.random
        target = self._target_turns()
        transfer = not resolved and channel == "phone" and r() < 0.3
        end_call = resolved and not text and r() < 0.35
        scripted = self._script(scenario, resolved, outbound, text, transfer, end_call, target)
        if status in ("in-progress", "initiated") or (status == "failed" and scripted):
            scripted = scripted[: self._cut(status, len(scripted))]
        return scripted

    def _duration(self, status: str, beats: int) -> int:
        r = self.rng.random
        if status == "initiated":
            return 0
        if status == "failed":
            return 10 + int(r() * 30)
        per_turn = (5 + r() * 17) * (2.5 if r() < 0.08 else 1.0)  # a few long, slow calls
        return max(10, min(900, int(beats * per_turn) + int(r() * 15)))

    def _metadata(
        self,
        agent: _Agent,
        status: str,
        outcome: str,
        channel: str,
        duration: int,
        feedback: dict[str, Any],
        tools_used: set[str | None],
        start_unix: int,
        is_uk: bool,
    ) -> dict[str, Any]:
        """The body's ``metadata``: times, cost and charging, termination, error; the channel comes after."""
        r = self.rng.random
        cost_credits = None if status in ("initiated", "in-progress") else int(duration * (6.5 + r() * 7))
        platform_micro_usd = int(duration * (80_000 + r() * 40_000) / 60)  # $0.08 to $0.12 a minute
        metadata: dict[str, Any] = {
            "start_time_unix_secs": start_unix,
            "accepted_time_unix_secs": start_unix + (1 if channel == "phone" else 0),
            "call_duration_secs": duration,
            "cost": cost_credits,
            "deletion_settings": {
                "deletion_time_unix_secs": None,
                "deleted_logs_at_time_unix_secs": None,
                "deleted_audio_at_time_unix_secs": None,
                "deleted_transcript_at_time_unix_secs": None,
                "delete_transcript_and_pii": False,
                "delete_audio": False,
            },
            "feedback": feedback,
            "authorization_method": "authorization_header" if channel == "phone" else "signed_url",
            "phone_call": None,
            "batch_call": None,
            "termination_reason": self._termination(status, outcome, duration, tools_used),
            "error": None,
            "warnings": [],
            "main_language": "en",
            "rag_usage": None,
            "text_only": channel in ("chat", "whatsapp"),
            "conversation_initiation_source": "unknown",
            "conversation_initiation_source_version": None,
            "timezone": "Europe/London" if is_uk else "America/New_York",
            "whatsapp": None,
        }
        if cost_credits is not None:
            llm_price = self.llm_nano_usd / 1e9
            llm_charge = int(llm_price * 10_000)
            metadata["charging"] = {
                "dev_discount": False,
                "is_burst": False,
                "tier": agent.tier,
                "llm_price": llm_price,
                "llm_charge": llm_charge,
                "call_charge": max(cost_credits - llm_charge, 0),
                "platform_price": platform_micro_usd / 1e6,
                "free_minutes_consumed": 0.0,
                "free_llm_dollars_consumed": 0.0,
            }
            if r() < 0.75:  # older conversations predate fiat cost tracking
                metadata["cost_fiat"] = (self.llm_nano_usd + platform_micro_usd * 1000) / 1e9
        if status == "failed":
            code, reason = ERRORS[int(r() * len(ERRORS))]
            metadata["error"] = {"code": code, "reason": reason}
        return metadata

    def _termination(self, status: str, outcome: str, duration: int, tools_used: set[str | None]) -> str:
        if "transfer_to_number" in tools_used and status == "done":
            return "Call transferred to a human agent."
        if "end_call" in tools_used and status == "done":
            return "end_call tool was called."
        if status == "failed":
            return "Call failed."
        if duration >= 900:
            return "Maximum call duration reached."
        if outcome == "unknown" and self.rng.random() < 0.5:
            return "Remote party hung up."
        return ""

    def _add_channel(
        self, metadata: dict[str, Any], agent: _Agent, channel: str, outbound: bool, number: str
    ) -> str:
        """Fills the phone or WhatsApp part of ``metadata``; returns where the conversation came from."""
        rng, r = self.rng, self.rng.random
        if channel == "phone":
            phone: dict[str, Any] = {
                "type": agent.telephony,
                "direction": "outbound" if outbound else "inbound",
                "phone_number_id": agent.phone_number_id,
                "agent_number": agent.agent_number,
                "external_number": number,
                "call_sid": "CA" + _hex(rng, 32),
            }
            if agent.telephony == "twilio":
                phone["stream_sid"] = "MZ" + _hex(rng, 32)
            metadata["phone_call"] = phone
            if outbound and r() < 0.5:
                metadata["batch_call"] = {
                    "batch_call_id": "btcal_" + _hex(rng, 24),
                    "batch_call_recipient_id": "btcrec_" + _hex(rng, 24),
                }
            return "twilio" if agent.telephony == "twilio" else "sip_trunk"
        if channel == "whatsapp":
            metadata["whatsapp"] = {
                "direction": "inbound",
                "whatsapp_phone_number_id": _hex(rng, 15),
                "whatsapp_user_id": number.lstrip("+"),
            }
            return "whatsapp"
        if r() < 0.5:
            return "react_sdk" if r() < 0.6 else "js_sdk"
        return "widget"

    # -- pieces -------------------------------------------------------------------

    def _slots(self, agent: _Agent, first: str, last: str, is_uk: bool) -> dict[str, Any]:
        rng, r = self.rng, self.rng.random
        company = agent.company
        currency = "£" if is_uk else "$"
        amount = int(1200 + r() * 23_800) / 100
        domain = ("example.com", "example.org", "example.net")[int(r() * 3)]
        local = last.lower().replace("'", "")
        return {
            "agent": agent.first_name,
            "company": agent.company.name,
            "customer": first,
            "customer_full": f"{first} {last}",
            "email": f"{first.lower()}.{local}@{domain}",
            "order": f"{agent.company.order_prefix}-{100_000 + int(r() * 900_000)}",
            "amount": f"{currency}{amount:.2f}",
            "amount_value": amount,
            "currency": "GBP" if is_uk else "USD",
            "price": f"{currency}{(9, 12, 15, 19, 25, 29, 39)[int(r() * 7)]}",
            "product": _pick(rng, company.products),
            "plan": _pick(rng, company.plans),
            "date": _pick(rng, DATES),
            "time": _pick(rng, TIMES),
            "service": _pick(rng, company.services),
            "device": _pick(rng, company.devices),
            "symptom": _pick(rng, company.symptoms),
            "carrier": _pick(rng, CARRIERS_UK if is_uk else CARRIERS_US),
            "eta": _pick(rng, ETAS),
            "city": _pick(rng, CITIES_UK if is_uk else CITIES_US),
            "reason": _pick(rng, REASONS),
            "team_size": _pick(rng, TEAM_SIZES),
            "ticket": f"TK-{100_000 + int(r() * 900_000)}",
            "invoice": f"INV-{10_000 + int(r() * 90_000)}",
            "confirmation": f"APT-{100_000 + int(r() * 900_000)}",
            "last4": f"{int(r() * 10_000):04d}",
            "refund_days": ("three to five", "five to seven", "two")[int(r() * 3)],
        }

    def _target_turns(self) -> int:
        base = self.g.turns
        if base == 0:
            return 0
        return max(2, int(base * (0.6 + self.rng.random() * 0.8)))

    def _cut(self, status: str, length: int) -> int:
        r = self.rng.random
        if status == "initiated":
            return 1 if r() < 0.5 else 0
        if status == "failed":
            return min(length, int(r() * 3))
        return max(1, int(length * (0.25 + r() * 0.5)))

    def _script(
        self,
        scenario: Scenario,
        resolved: bool,
        outbound: bool,
        text: bool,
        transfer: bool,
        end_call: bool,
        target: int,
    ) -> list[_Beat]:
        """The conversation as (role, template, tool) beats, sized to about ``target`` turns.

        A beat with a tool is an agent turn that calls it; ``_turns_from_script``
        adds the turn carrying its result. The skeleton is greeting, request,
        look-up, answer, the customer's reply, outcome, goodbye; identity checks,
        the action tool, the wrap-up and small talk come in as the target allows.
        """
        rng, r = self.rng, self.rng.random
        if target == 0:
            return []
        opening = self._opening(scenario, outbound, text)
        verify: list[_Beat] = [
            ("agent", _pick(rng, scenario.probes), None),
            ("user", _pick(rng, scenario.details), None),
        ]
        lookup: list[_Beat] = [
            ("agent", _pick(rng, scenario.holds), scenario.lookup_tool),
            ("agent", _pick(rng, scenario.found), None),
            ("user", _pick(rng, scenario.confirms), None),
        ]
        action: list[_Beat] = [("agent", None, scenario.action_tool)] if resolved else []
        ending, wrap, goodbye = self._closing(scenario, resolved, outbound, text, transfer, end_call)

        # Optional beats go in while the target allows; small talk fills what is left.
        budget = target - _size(opening) - _size(lookup) - _size(ending) - _size(goodbye)
        use_verify = not outbound and budget >= 2
        budget -= 2 if use_verify else 0
        use_action = bool(action) and budget >= 2 and r() < scenario.action_share
        budget -= 2 if use_action else 0
        use_wrap = len(wrap) <= budget
        budget -= len(wrap) if use_wrap else 0
        small_talk = self._small_talk(scenario, text, budget // 2) if budget >= 2 else []
        beats = (
            opening
            + (verify if use_verify else [])
            + lookup
            + (action if use_action else [])
            + ending[:1]
            + small_talk
            + ending[1:]
            + (wrap if use_wrap else [])
            + goodbye
        )
        return _hung_up_early(beats, target) if budget < 0 else beats

    def _opening(self, scenario: Scenario, outbound: bool, text: bool) -> list[_Beat]:
        rng = self.rng
        if outbound:
            return [
                ("agent", _pick(rng, scenario.outbound_openers), None),
                ("user", _pick(rng, scenario.outbound_replies), None),
            ]
        greeting = _pick(rng, GREETINGS_TEXT if text else GREETINGS_VOICE)
        return [("agent", greeting, None), ("user", _pick(rng, scenario.openers), None)]

    def _closing(
        self, scenario: Scenario, resolved: bool, outbound: bool, text: bool, transfer: bool, end_call: bool
    ) -> tuple[list[_Beat], list[_Beat], list[_Beat]]:
        """(ending, wrap-up, goodbye): a transfer, a resolution or an apology."""
        rng = self.rng
        if transfer:
            ending: list[_Beat] = [
                ("agent", _pick(rng, scenario.unresolved), None),
                ("user", _pick(rng, TRANSFER_ASKS), None),
                ("agent", _pick(rng, TRANSFER_LINES), "transfer_to_number"),
            ]
            return ending, [], []
        if resolved:
            ending = [
                ("agent", _pick(rng, scenario.resolved), None),
                ("user", _pick(rng, THANKS), None),
            ]
            wrap: list[_Beat] = [("agent", _pick(rng, ANYTHING_ELSE), None), ("user", _pick(rng, NOTHING_ELSE), None)]
            farewells = GOODBYES_TEXT if text else GOODBYES_OUTBOUND if outbound else GOODBYES
            return ending, wrap, [("agent", _pick(rng, farewells), "end_call" if end_call else None)]
        ending = [
            ("agent", _pick(rng, scenario.unresolved), None),
            ("user", _pick(rng, COMPLAINTS), None),
        ]
        return ending, [("agent", _pick(rng, APOLOGIES), None)], [("agent", _pick(rng, GOODBYES_FAIL), None)]

    def _small_talk(self, scenario: Scenario, text: bool, wanted: int) -> list[_Beat]:
        """``wanted`` exchanges the customer starts, each line at most once until every one was used."""
        rng, r = self.rng, self.rng.random
        pool = scenario.fillers + GENERIC_FILLERS + (() if text else VOICE_FILLERS)
        picks = rng.sample(range(len(pool)), min(wanted, len(pool)))
        picks += [int(r() * len(pool)) for _ in range(wanted - len(picks))]
        small_talk: list[_Beat] = []
        for i in picks:
            user_line, agent_line = pool[i]
            small_talk += [("user", user_line, None), ("agent", agent_line, None)]
        return small_talk

    def _turns_from_script(
        self,
        script: list[_Beat],
        duration: int,
        text: bool,
        agent: _Agent,
    ) -> None:
        rng, r = self.rng, self.rng.random
        slots = self.slots
        count = _size(script)
        step = duration / count if count else 0.0
        medium = "text" if text else "audio"
        price_in, price_out = _LLM_PRICES[agent.llm]
        agent_meta = {"agent_id": agent.agent_id}
        agent_turns: list[dict[str, Any]] = []
        index = 0
        for role, template, tool in script:
            message = template.format_map(slots) if template is not None else None
            at = int(step * (index + r() * 0.5))
            index += 1
            if role == "user":
                self.turns.append(_user_turn(message, at, medium, interrupted=r() < 0.03))
                continue
            tokens_in = 800 + 140 * index + int(r() * 200)
            tokens_out = 15 + int(r() * 70)
            nano_in, nano_out = tokens_in * price_in, tokens_out * price_out
            self.llm_nano_usd += nano_in + nano_out
            usage = {
                agent.llm: {
                    "input": {"tokens": tokens_in, "price": nano_in / 1e9},
                    "output_total": {"tokens": tokens_out, "price": nano_out / 1e9},
                }
            }
            turn = _agent_turn(agent_meta, message, at, {"model_usage": usage})
            turn["interrupted"] = not text and r() < 0.05
            turn["conversation_turn_metrics"] = {
                "metrics": {
                    "convai_llm_service_ttfb": {"elapsed_time": int(200 + r() * 600) / 1000},
                    "convai_tts_service_ttfb": {"elapsed_time": int(100 + r() * 300) / 1000},
                }
            }
            self.turns.append(turn)
            if message is not None:
                agent_turns.append(turn)
            if tool is None:
                continue
            call, result = self._tool(tool, agent)
            turn["tool_calls"] = [call]
            if tool == "end_call":
                turn["tool_results"] = [result]
                continue
            at = int(step * (index + r() * 0.5))
            index += 1
            follow = _agent_turn(agent_meta, None, at, None)
            follow["tool_results"] = [result]
            self.turns.append(follow)

        # Per-turn thumbs match the conversation's like/dislike counts.
        scores = ["like"] * self.likes_left + ["dislike"] * self.dislikes_left
        if scores and agent_turns:
            for score, turn in zip(scores, rng.sample(agent_turns, min(len(scores), len(agent_turns))), strict=False):
                turn["feedback"] = {"score": score, "time_in_call_secs": turn["time_in_call_secs"]}

    def _tool(self, name: str, agent: _Agent) -> tuple[dict[str, Any], dict[str, Any]]:
        rng, r, s = self.rng, self.rng.random, self.slots
        request_id = f"{name}_{_hex(rng, 24)}"
        latency = int(150 + r() * 1400) / 1000
        if name in ("transfer_to_number", "end_call"):
            if name == "transfer_to_number":
                params: dict[str, Any] = {
                    "transfer_number": agent.escalation_number,
                    "reason": "Customer asked for a human.",
                }
                outcome: dict[str, Any] = {
                    "result_type": "transfer_to_number_twilio_success",
                    "status": "success",
                    "transfer_number": agent.escalation_number,
                    "reason": "Customer asked for a human.",
                    "client_message": "Transferring you now, please hold.",
                    "agent_message": f"Incoming transfer: {s['customer_full']}, unresolved request.",
                    "conference_name": "conf_" + _hex(rng, 16),
                    "note": None,
                }
            else:
                params = {"reason": "The customer's request was handled."}
                outcome = {
                    "result_type": "end_call_success",
                    "status": "success",
                    "reason": "The customer's request was handled.",
                    "message": None,
                }
            params_json = json.dumps(params)
            call = {
                "type": "system",
                "request_id": request_id,
                "tool_name": name,
                "params_as_json": params_json,
                "tool_has_been_called": True,
                "tool_details": None,
            }
            result = {
                "type": "system",
                "request_id": request_id,
                "tool_name": name,
                "result_value": json.dumps(outcome),
                "is_error": False,
                "tool_has_been_called": True,
                "tool_latency_secs": latency,
                "dynamic_variable_updates": [],
                "result": outcome,
            }
            return call, result

        params, value = _webhook_payloads(name, s)
        is_error = r() < 0.03
        if is_error:
            value = {"error": "Upstream service timed out", "status": 504}
        params_json = json.dumps(params)
        call = {
            "type": "webhook",
            "request_id": request_id,
            "tool_name": name,
            "params_as_json": params_json,
            "tool_has_been_called": True,
            "tool_details": {
                "type": "webhook",
                "method": "POST",
                "url": f"https://api.{agent.company.domain}/v1/{name.replace('_', '-')}",
                "headers": {"Content-Type": "application/json"},
                "path_params": {},
                "query_params": {},
                "body": params_json,
            },
        }
        result = {
            "type": "webhook",
            "request_id": request_id,
            "tool_name": name,
            "result_value": json.dumps(value),
            "is_error": is_error,
            "tool_has_been_called": True,
            "tool_latency_secs": latency,
            "dynamic_variable_updates": [],
        }
        return call, result

    def _feedback(self, status: str, outcome: str) -> dict[str, Any]:
        r = self.rng.random
        rating: int | None = None
        likes = dislikes = 0
        comment: str | None = None
        if status == "done":
            if r() < 0.35:
                good = outcome == "success" or (outcome == "unknown" and r() < 0.5)
                rating = (5, 5, 4, 4, 3)[int(r() * 5)] if good else (1, 1, 2, 2, 3)[int(r() * 5)]
            if r() < 0.2:
                if outcome == "success":
                    likes = 2 if r() < 0.15 else 1
                else:
                    dislikes = 2 if r() < 0.15 else 1
            if (rating is not None or likes or dislikes) and r() < 0.4:
                positive = (rating or 3) >= 4 or likes > 0
                comment = _pick(self.rng, COMMENTS_OK if positive else COMMENTS_FAIL)
        self.likes_left, self.dislikes_left = likes, dislikes
        return {
            "type": "rating" if rating is not None else "thumbs" if likes or dislikes else None,
            "overall_score": "like" if likes > dislikes else "dislike" if dislikes else None,
            "likes": likes,
            "dislikes": dislikes,
            "rating": rating,
            "comment": comment,
        }

    def _analysis(
        self, scenario: Scenario, status: str, outcome: str, resolved: bool, transfer: bool
    ) -> dict[str, Any] | None:
        if status in ("initiated", "in-progress", "processing"):
            return None
        rng, r, s = self.rng, self.rng.random, self.slots
        if status == "failed":
            outcome = "failure" if r() < 0.7 else "unknown"
        ok = outcome == "success"
        polite = "success" if r() < 0.93 else "failure"
        criteria = {
            "issue_resolved": outcome,
            "polite_and_professional": polite if status == "done" else "unknown",
            "identity_verified": (
                ("success" if r() < 0.9 else "failure")
                if scenario.verifies_identity and status == "done"
                else "unknown"
            ),
        }
        evaluation = {
            cid: {"criteria_id": cid, "result": result, "rationale": RATIONALES[cid][result]}
            for cid, result in criteria.items()
        }
        order_value = s["amount_value"] if scenario.has_order_value and status == "done" else None
        wants_callback = (not ok and r() < 0.6) or (scenario.key == "sales_lead" and r() < 0.5)
        data = {
            "customer_intent": {
                "data_collection_id": "customer_intent",
                "value": scenario.intent,
                "json_schema": {"type": "string", "description": "Why the customer got in touch."},
                "rationale": f"The customer asked about {scenario.intent.replace('_', ' ')}.",
            },
            "order_value": {
                "data_collection_id": "order_value",
                "value": order_value,
                "json_schema": {"type": "number", "description": "Value of the order or charge discussed."},
                "rationale": (
                    f"The conversation mentioned {s['amount']}."
                    if order_value is not None
                    else "No order value came up in the conversation."
                ),
            },
            "wants_callback": {
                "data_collection_id": "wants_callback",
                "value": wants_callback,
                "json_schema": {"type": "boolean", "description": "Whether the customer asked to be called back."},
                "rationale": (
                    "The customer asked for a follow-up call."
                    if wants_callback
                    else "The customer did not ask to be contacted again."
                ),
            },
        }
        if status == "failed":
            summary = "The conversation ended before the customer's request could be handled."
            title = "Call failed"
        else:
            good = ok or (outcome == "unknown" and resolved)
            summary = _pick(rng, scenario.summaries_ok if good else scenario.summaries_fail).format_map(s)
            if transfer:
                summary += " The call was transferred to a human agent."
            title = _pick(rng, scenario.titles_ok if good else scenario.titles_fail).format_map(s)
            title = title[0].upper() + title[1:]
        return {
            "evaluation_criteria_results": evaluation,
            "data_collection_results": data,
            "call_successful": outcome,
            "transcript_summary": summary,
            "call_summary_title": title,
        }


def _dynamic_variables(
    agent: _Agent, conversation_id: str, metadata: dict[str, Any], channel: str, outbound: bool, number: str
) -> dict[str, Any]:
    """The ``system__`` variables ElevenLabs sets for every conversation."""
    start_unix = metadata["start_time_unix_secs"]
    variables: dict[str, Any] = {
        "system__agent_id": agent.agent_id,
        "system__conversation_id": conversation_id,
        "system__time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_unix)),
        "system__timezone": metadata["timezone"],
        "system__call_duration_secs": metadata["call_duration_secs"],
    }
    if channel == "phone":
        variables["system__caller_id"] = agent.agent_number if outbound else number
        variables["system__called_number"] = number if outbound else agent.agent_number
    return variables


def _webhook_payloads(name: str, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request params, response body) of the scenario tools, filled from the slots."""
    if name == "lookup_invoice":
        return {"email": s["email"], "card_last4": s["last4"]}, {
            "invoice_id": s["invoice"],
            "amount": s["amount_value"],
            "currency": s["currency"],
            "status": "paid",
            "plan": s["plan"],
        }
    if name == "issue_refund":
        return {"invoice_id": s["invoice"], "amount": s["amount_value"]}, {
            "refund_id": "re_" + s["invoice"][4:] + s["last4"],
            "status": "pending",
        }
    if name == "check_availability":
        return {"service": s["service"], "date": s["date"], "location": s["city"]}, {
            "available_slots": [s["time"], "4:30 pm"],
        }
    if name == "book_appointment":
        return {"service": s["service"], "date": s["date"], "time": s["time"], "name": s["customer_full"]}, {
            "confirmation_number": s["confirmation"],
            "status": "booked",
        }
    if name == "lookup_order":
        return {"order_id": s["order"]}, {
            "order_id": s["order"],
            "item": s["product"],
            "total": s["amount_value"],
            "status": "in_transit",
            "carrier": s["carrier"],
            "eta": s["eta"],
        }
    if name == "request_replacement":
        return {"order_id": s["order"], "reason": "not received"}, {
            "replacement_order_id": s["order"] + "-R",
            "status": "created",
        }
    if name == "run_diagnostics":
        return {"device": s["device"], "symptom": s["symptom"]}, {
            "line_status": "degraded",
            "firmware": "outdated",
        }
    if name == "create_support_ticket":
        return {"device": s["device"], "issue": s["symptom"], "email": s["email"]}, {
            "ticket_id": s["ticket"],
            "priority": "normal",
        }
    if name == "lookup_account":
        return {"email": s["email"]}, {"plan": s["plan"], "monthly_price": s["amount_value"], "renews": s["date"]}
    if name == "cancel_subscription":
        return {"email": s["email"], "reason": s["reason"]}, {"status": "cancelled", "effective": s["date"]}
    if name == "get_pricing":
        return {"plan": s["plan"], "team_size": s["team_size"]}, {
            "monthly_total": s["amount_value"],
            "currency": s["currency"],
        }
    if name == "schedule_demo":
        return {"email": s["email"], "team_size": s["team_size"], "date": s["date"], "time": s["time"]}, {
            "meeting_id": "mtg_" + s["confirmation"][4:],
            "status": "scheduled",
        }
    raise ValueError(f"no payloads for tool {name!r}")


def _user_turn(message: str | None, at: int, medium: str, *, interrupted: bool) -> dict[str, Any]:
    return {
        "role": "user",
        "agent_metadata": None,
        "message": message,
        "multivoice_message": None,
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "llm_override": None,
        "time_in_call_secs": at,
        "conversation_turn_metrics": None,
        "rag_retrieval_info": None,
        "llm_usage": None,
        "interrupted": interrupted,
        "original_message": None,
        "source_medium": medium,
    }


def _agent_turn(
    agent_meta: dict[str, Any], message: str | None, at: int, llm_usage: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "role": "agent",
        "agent_metadata": dict(agent_meta),
        "message": message,
        "multivoice_message": None,
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "llm_override": None,
        "time_in_call_secs": at,
        "conversation_turn_metrics": None,
        "rag_retrieval_info": None,
        "llm_usage": llm_usage,
        "interrupted": False,
        "original_message": None,
        "source_medium": None,
    }


def _hung_up_early(beats: list[_Beat], target: int) -> list[_Beat]:
    """The beats that fit in a very short ``target``: a caller who hangs up early."""
    total = 0
    for cut, (_, _, tool) in enumerate(beats):
        total += 2 if tool and tool != "end_call" else 1
        if total > target:
            return beats[:cut]
    return beats


def _size(beats: Sequence[_Beat]) -> int:
    """Turns a script makes: a tool call (other than end_call) adds a turn for its result."""
    return sum(2 if tool and tool != "end_call" else 1 for _, _, tool in beats)


def _share(table: tuple[tuple[float, str], ...], roll: float) -> str:
    """The first value whose cumulative share exceeds ``roll`` (0 ≤ roll < 1)."""
    for bound, value in table:
        if roll < bound:
            return value
    return table[-1][1]


def _bisect(cumulative: tuple[float, ...], x: float) -> int:
    for i, bound in enumerate(cumulative):
        if x < bound:
            return i
    return len(cumulative) - 1


# ------------------------------------------------------------------------- audio

# One MPEG-1 Layer III frame: 32 kbit/s, 48 kHz, mono, no CRC, no padding.
# 144 * 32000 / 48000 = 96 bytes; 1152 samples = 24 ms. Zeroed side information
# means no coded audio, i.e. silence every decoder accepts.
_MP3_FRAME = bytes((0xFF, 0xFB, 0x14, 0xC4)) + bytes(92)
_MP3_FRAME_MS = 24


def generate_audio_bytes(conversation_id: str, seconds: int = 2) -> bytes:
    """A short, silent, valid MP3 for ``conversation_id``: an ID3v2.3 tag naming it, then frames.

    Deterministic: the same id and length always give the same bytes.
    """
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    title = conversation_id.encode("latin-1", errors="replace")
    frame_body = b"\x00" + title  # text encoding 0 = ISO-8859-1
    id3_frame = b"TIT2" + len(frame_body).to_bytes(4, "big") + b"\x00\x00" + frame_body
    size = len(id3_frame)
    syncsafe = bytes(((size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F))
    tag = b"ID3\x03\x00\x00" + syncsafe + id3_frame
    frames = max(1, -(-seconds * 1000 // _MP3_FRAME_MS))
    return tag + _MP3_FRAME * frames

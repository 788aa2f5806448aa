"""``convhub simulate``: a provider API simulator on loopback, for demos, tests and benchmarks."""

from __future__ import annotations

from typing import Annotated

import typer

from convhub.cli._common import fail, note


def simulate(
    provider: Annotated[str, typer.Argument(help="elevenlabs, retell or vapi.")],
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8900,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    conversations: Annotated[int, typer.Option(min=0, help="How many conversations the account starts with.")] = 100,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added to every API request.")] = 0.0,
    max_concurrency: Annotated[int, typer.Option(min=0, help="Concurrent requests beyond this get 429 (0: no cap).")]
    = 0,
    fault_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of requests that fail (5xx, hang, bad body).")]
    = 0.0,
    seed: Annotated[int, typer.Option(help="Same seed, same conversations.")] = 0,
    api_key: Annotated[str, typer.Option(help="The API key the simulator accepts.")] = "sim-key",
    hang_secs: Annotated[float, typer.Option(min=0, envvar="CONVHUB_SIM_TIMEOUT_HOLD_SECS",
                                             help="How long a 'timeout' fault holds the request.")] = 30.0,
) -> None:
    """Serve a provider's API with generated conversations until interrupted (Ctrl-C)."""
    from convhub.simulators.common import VENDORS, SimulatorOptions, serve_simulator

    if provider not in VENDORS:
        fail(f"unknown provider {provider!r}; choose one of {', '.join(VENDORS)}", code=2)
    options = SimulatorOptions(conversations=conversations, latency_ms=latency_ms, max_concurrency=max_concurrency,
                               fault_rate=fault_rate, seed=seed, api_key=api_key,
                               timeout_hold_secs=hang_secs)
    note(f"{provider} simulator on http://{host}:{port} — {conversations} conversations, API key '{api_key}'; "
         f"control routes under /_simulator (stats, add, finish, webhooks). Ctrl-C stops it.")
    serve_simulator(provider, options, host=host, port=port)

"""A real simulator (uvicorn on a free port, in this process) shared by the payments tests; its
state is reset before every test. Gateway adapters use short timeouts so tok_timeout tests are quick."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordino.payments.gateway import HttpGateway
from ordino.payments.simulator import RunningServer, SimulatorConfig, SimulatorState, create_simulator, serve_in_thread
from tests.payments.support import CLIENT_TIMEOUT, SLOW_ANSWER, Sim


@pytest.fixture(scope="session")
def sim_server() -> Iterator[tuple[RunningServer, SimulatorState]]:
    state = SimulatorState()
    server = serve_in_thread(create_simulator(state))
    yield server, state
    server.stop()


@pytest.fixture
def sim(sim_server: tuple[RunningServer, SimulatorState]) -> Sim:
    server, state = sim_server
    state.reset(SimulatorConfig(timeout_delay=SLOW_ANSWER, expired_after=0.0))
    return Sim(server.url, state)


@pytest.fixture
def gateways(sim: Sim) -> Iterator[dict[str, HttpGateway]]:
    gateway = HttpGateway("simulator", sim.url, timeout=CLIENT_TIMEOUT, attempts=4, backoff=0.02, max_backoff=0.1)
    yield {"simulator": gateway}
    gateway.close()

"""The per-key request rate (budsim.web.rate_limit): the bucket on a fake clock, then 429s from a real server."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from budsim.core.auth import Scope
from budsim.settings import Settings
from budsim.web.rate_limit import RateLimiter
from tests.conftest import LiveServer, bearer, migrated_database, new_key, serve

QUERY = {"query": "{ gpuTypes { name } }"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_minute_is_the_burst_then_the_rate_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock)  # one a second
    assert [limiter.take("a") for _ in range(60)] == [None] * 60
    assert limiter.take("a") == 1
    clock.now += 0.5
    assert limiter.take("a") == 1  # half a token: still a second's wait, rounded up
    clock.now += 0.5
    assert limiter.take("a") is None
    assert limiter.take("a") == 1


def test_retry_after_is_the_wait_for_the_next_token_in_whole_seconds() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)  # one every 20 s
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == 20
    clock.now += 15
    assert limiter.take("a") == 5
    clock.now += 5
    assert limiter.take("a") is None


def test_a_quiet_key_refills_to_the_burst_and_no_further() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock)
    assert limiter.take("a") is None
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)] == [None, None, 30]


def test_each_key_has_its_own_bucket_and_the_development_principal_one() -> None:
    limiter = RateLimiter(1, Clock())
    assert limiter.take("a") is None
    assert limiter.take("a") == 60
    assert limiter.take("b") is None
    assert limiter.take(None) is None
    assert limiter.take(None) == 60


def test_a_clock_going_backwards_refills_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock)
    assert limiter.take("a") is None
    clock.now -= 100
    assert limiter.take("a") == 60


def test_no_limiter_below_one_a_minute() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0)


@pytest.fixture
async def server(tmp_path: Path, model_path: Path) -> AsyncIterator[LiveServer]:
    async with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(
            database_url=url, model_path=model_path, run_worker=False, auth_disabled=False, rate_limit_per_minute=3
        )
        async with serve(settings) as live:
            yield live


async def test_the_fourth_request_a_minute_is_429_and_another_key_is_unaffected(server: LiveServer) -> None:
    other = await new_key(server.app, Scope.READ)
    async with server.client() as http:
        # serve() made its key straight in the database, so all 3 of its tokens are left
        answered = [(await http.post("/graphql", json=QUERY)).status_code for _ in range(3)]
        refused = await http.post("/graphql", json=QUERY)
        rest = await http.get("/api/hardware-profiles")
        probes = [(await http.get(path)).status_code for path in ("/healthz", "/readyz") for _ in range(3)]
        others = await http.post("/graphql", json=QUERY, headers=bearer(other))
    assert answered == [200, 200, 200]
    assert refused.status_code == 429, refused.text
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfterSeconds"] in (19, 20)  # one token every 20 s, less the time taken
    assert "RATE_LIMIT_PER_MINUTE" in error["message"]
    assert refused.headers["retry-after"] == str(error["extensions"]["retryAfterSeconds"])
    assert rest.status_code == 429  # REST shares the key's bucket
    assert probes == [200] * 6  # the probes are not counted
    assert others.status_code == 200

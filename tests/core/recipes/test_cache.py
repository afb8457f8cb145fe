"""The hub's answers are kept by whoever holds the clients, for an hour, keyed by endpoint, region and account."""

from __future__ import annotations

from typing import Any

from airflow_provider_nova.core import AwsClients, Model
from airflow_provider_nova.core.cache import HUB_TTL_SECONDS, RecipeCache
from airflow_provider_nova.core.recipes import RecipeHub
from airflow_provider_nova.sandbox import rehearsal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hub_calls(clients: AwsClients) -> list[str]:
    calls: list[str] = []
    clients.sagemaker.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def test_answers_expire_after_an_hour() -> None:
    clock, loads = Clock(), []
    cache = RecipeCache(clock=clock)
    assert cache.ttl_seconds == HUB_TTL_SECONDS == 3600
    for _ in range(2):
        cache.get_or_load("k", lambda: loads.append(1) or len(loads))
    clock.now += 3599
    assert cache.get_or_load("k", lambda: loads.append(1) or len(loads)) == 1
    clock.now += 2
    assert cache.get_or_load("k", lambda: loads.append(1) or len(loads)) == 2
    assert len(loads) == 2


def test_each_clients_keep_their_own_answers(sandbox: Any) -> None:
    first = AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url)
    calls = hub_calls(first)
    RecipeHub(first).recipes(Model.NOVA_MICRO)
    RecipeHub(first).recipes(Model.NOVA_MICRO)  # a second hub on the same clients: no second call
    assert calls.count("DescribeHubContent") == 1
    second = AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url)
    assert second.recipe_cache is not first.recipe_cache
    calls_second = hub_calls(second)
    RecipeHub(second).recipes(Model.NOVA_MICRO)
    assert calls_second.count("DescribeHubContent") == 1


def test_a_shared_cache_never_mixes_endpoints_regions_or_accounts(sandbox: Any, monkeypatch: Any) -> None:
    cache = RecipeCache()
    endpoint = sandbox.endpoint_url
    other_host = endpoint.replace("127.0.0.1", "localhost")
    east = AwsClients(region_name="us-east-1", endpoint_url=endpoint)
    for clients in (
        east,
        AwsClients(region_name="us-east-1", endpoint_url=endpoint),  # same endpoint, region and account: shared
        AwsClients(region_name="us-east-1", endpoint_url=other_host),
        AwsClients(region_name="us-west-2", endpoint_url=endpoint),
    ):
        RecipeHub(clients, cache).recipes(Model.NOVA_MICRO)
    role = rehearsal.create_role(endpoint, "OtherAccountReader")
    other_account_role = role.replace("123456789012", "111122223333")
    for key, value in rehearsal.assume_role_env(endpoint, other_account_role).items():
        monkeypatch.setenv(key, value)
    other_account = AwsClients(region_name="us-east-1", endpoint_url=endpoint)
    assert other_account.account_id() == "111122223333"
    RecipeHub(other_account, cache).recipes(Model.NOVA_MICRO)

    docs = sorted(k[:3] for k in cache.entries() if "doc" in k)
    assert docs == sorted(
        [
            (endpoint, "us-east-1", "123456789012"),
            (other_host, "us-east-1", "123456789012"),
            (endpoint, "us-west-2", "123456789012"),
            (endpoint, "us-east-1", "111122223333"),
        ]
    )

"""Hardware profiles: create, read, page, update, delete — and every bad input answered with a typed error."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import (
    CREATE_PROFILE,
    DELETE_PROFILE,
    MISSING_ID,
    UPDATE_PROFILE,
    create_profile,
    row_counts,
    unique,
)
from tests.conftest import gql, gql_data


async def test_catalog_gpu_profile_is_filled_from_the_gpu_catalog(client: httpx.AsyncClient) -> None:
    profile = await create_profile(
        client, name=unique("h100"), gpuType="h100_sxm", nodeCount=2, interconnect="INFINIBAND"
    )

    assert profile["__typename"] == "HardwareProfile"
    assert profile["gpuType"] == "H100-SXM"
    assert profile["gpuMemoryGb"] == 80
    assert profile["totalGpus"] == 16
    assert profile["costPerGpuHour"] == 2.99
    assert profile["specs"]["bf16_tflops"] == 989
    assert profile["specs"]["memory_bandwidth_gbs"] == 3350
    assert profile["specs"]["intra_node_bandwidth_gbs"] == 900  # NVLink inside the node
    assert profile["specs"]["inter_node_bandwidth_gbs"] == 100  # NDR 400 Gb/s per GPU between nodes


async def test_pcie_only_gpu_defaults_to_pcie_and_rejects_nvlink(client: httpx.AsyncClient) -> None:
    profile = await create_profile(client, name=unique("l4"), gpuType="L4", gpuCount=4)
    assert profile["interconnect"] == "PCIE"
    assert profile["specs"]["intra_node_bandwidth_gbs"] == 64

    refused = await create_profile(client, name=unique("l4"), gpuType="L4", interconnect="NVLINK")
    assert refused == {"__typename": "ValidationError", "field": "input.interconnect", "message": refused["message"]}
    assert "no NVLink" in refused["message"]


async def test_user_specs_override_catalog_defaults(client: httpx.AsyncClient) -> None:
    profile = await create_profile(
        client, name=unique("h100"), specs={"memory_bandwidth_gbs": 3000}, costPerGpuHour=1.5
    )
    assert profile["specs"]["memory_bandwidth_gbs"] == 3000
    assert profile["specs"]["bf16_tflops"] == 989
    assert profile["costPerGpuHour"] == 1.5


async def test_custom_gpu_needs_memory_specs_and_price(client: httpx.AsyncClient) -> None:
    name = unique("custom")
    missing = await create_profile(client, name=name, gpuType="Gaudi3", specs={"bf16_tflops": 1835})
    assert missing["__typename"] == "ValidationError"
    assert missing["field"] == "input.gpuMemoryGb"

    profile = await create_profile(
        client,
        name=name,
        gpuType="Gaudi3",
        gpuMemoryGb=128,
        specs={"bf16_tflops": 1835, "memory_bandwidth_gbs": 3700},
        costPerGpuHour=3.0,
    )
    assert profile["gpuType"] == "Gaudi3"
    assert profile["interconnect"] == "PCIE"
    assert profile["specs"] == {"bf16_tflops": 1835, "memory_bandwidth_gbs": 3700}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "input.name"),
        ({"name": "x" * 201}, "input.name"),
        ({"gpuCount": 0}, "input.gpuCount"),
        ({"gpuCount": -8}, "input.gpuCount"),
        ({"gpuCount": 100_000}, "input.gpuCount"),
        ({"nodeCount": 0}, "input.nodeCount"),
        ({"gpuMemoryGb": -80.0}, "input.gpuMemoryGb"),
        ({"gpuMemoryGb": 1e9}, "input.gpuMemoryGb"),
        ({"costPerGpuHour": -1.0}, "input.costPerGpuHour"),
        ({"specs": [1, 2, 3]}, "input.specs"),
        ({"specs": "fast"}, "input.specs"),
        ({"specs": {"bf16_tflops": -5}}, "input.specs.bf16_tflops"),
        ({"specs": {"memory_bandwidth_gbs": "lots"}}, "input.specs.memory_bandwidth_gbs"),
        # PostgreSQL's text and jsonb hold no U+0000: refused by field rather than failing the write
        ({"name": "rack\x001"}, "input.name"),
        ({"specs": {"notes": ["ok", "bad\x00"]}}, "input.specs.notes[1]"),
        ({"specs": {"bad\x00key": 1}}, "input.specs"),
    ],
)
async def test_bad_profile_input_is_a_validation_error_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, fields: dict[str, Any], field: str
) -> None:
    before = await row_counts(engine)
    result = await create_profile(client, **{"name": unique("bad"), **fields})
    assert result["__typename"] == "ValidationError"
    assert result["field"] == field
    assert result["message"]
    assert await row_counts(engine) == before


async def test_wrong_types_are_rejected_before_anything_runs(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    before = await row_counts(engine)
    body = await gql(client, CREATE_PROFILE, input={"name": unique("bad"), "gpuType": "H100-SXM", "gpuCount": "eight"})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "gpuCount" in error["message"]
    assert await row_counts(engine) == before


async def test_duplicate_name_is_a_conflict_and_writes_nothing(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    name = unique("dup")
    await create_profile(client, name=name)
    before = await row_counts(engine)
    again = await create_profile(client, name=name)
    assert again["__typename"] == "ConflictError"
    assert again["field"] == "input.name"
    assert name in again["message"]
    assert await row_counts(engine) == before


async def test_profile_is_readable_by_id_and_unknown_ids_read_as_null(client: httpx.AsyncClient) -> None:
    created = await create_profile(client, name=unique("read"))
    query = "query($id: ID!) { hardwareProfile(id: $id) { name gpuType } }"
    data = await gql_data(client, query, id=created["id"])
    assert data["hardwareProfile"] == {"name": created["name"], "gpuType": "H100-SXM"}
    assert (await gql_data(client, query, id=MISSING_ID))["hardwareProfile"] is None

    malformed = await gql(client, query, id="not-a-uuid")
    [error] = malformed["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_profiles_page_by_name_with_cursors_and_filter(client: httpx.AsyncClient) -> None:
    gpu_type = unique("TPU")  # a custom type only this test uses, so the filtered set is exactly ours
    names = sorted(unique(f"page-{i}") for i in range(5))
    for name in names:
        await create_profile(
            client,
            name=name,
            gpuType=gpu_type,
            gpuMemoryGb=32,
            specs={"bf16_tflops": 197, "memory_bandwidth_gbs": 819},
            costPerGpuHour=1.2,
        )
    query = """
    query($after: String, $gpuType: String) {
      hardwareProfiles(first: 2, after: $after, gpuType: $gpuType) {
        totalCount
        edges { cursor node { name } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }
    """
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await gql_data(client, query, after=after, gpuType=gpu_type))["hardwareProfiles"]
        assert page["totalCount"] == 5
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [edge["node"]["name"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names
    assert pages == 3


@pytest.mark.parametrize(("first", "after"), [(0, None), (101, None), (5, "garbage!")])
async def test_bad_page_arguments_name_the_argument(client: httpx.AsyncClient, first: int, after: str | None) -> None:
    body = await gql(
        client,
        "query($f: Int!, $a: String) { hardwareProfiles(first: $f, after: $a) { totalCount } }",
        f=first,
        a=after,
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == ("first" if after is None else "after")


async def test_update_changes_only_given_fields(client: httpx.AsyncClient) -> None:
    created = await create_profile(client, name=unique("upd"), costPerGpuHour=2.0)
    updated = (await gql_data(client, UPDATE_PROFILE, id=created["id"], input={"gpuCount": 4, "interconnect": "PCIE"}))[
        "updateHardwareProfile"
    ]
    assert updated["__typename"] == "HardwareProfile"
    assert updated["gpuCount"] == 4
    assert updated["name"] == created["name"]
    assert updated["costPerGpuHour"] == 2.0
    assert updated["interconnect"] == "PCIE"
    assert updated["specs"]["intra_node_bandwidth_gbs"] == 128  # the fabric's bandwidth followed the new interconnect


async def test_update_errors_are_typed_and_leave_the_row_alone(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    first = await create_profile(client, name=unique("a"))
    second = await create_profile(client, name=unique("b"))
    cases = [
        (MISSING_ID, {"gpuCount": 2}, "NotFoundError"),
        ("nope", {"gpuCount": 2}, "ValidationError"),
        (first["id"], {"gpuCount": -1}, "ValidationError"),
        (first["id"], {"name": None}, "ValidationError"),
        (first["id"], {"name": second["name"]}, "ConflictError"),
    ]
    for profile_id, fields, typename in cases:
        result = (await gql_data(client, UPDATE_PROFILE, id=profile_id, input=fields))["updateHardwareProfile"]
        assert result["__typename"] == typename, (fields, result)
    unchanged = await gql_data(client, "query($id: ID!) { hardwareProfile(id: $id) { name gpuCount } }", id=first["id"])
    assert unchanged["hardwareProfile"] == {"name": first["name"], "gpuCount": 8}


async def test_delete_removes_the_profile_once(client: httpx.AsyncClient) -> None:
    created = await create_profile(client, name=unique("del"))
    deleted = (await gql_data(client, DELETE_PROFILE, id=created["id"]))["deleteHardwareProfile"]
    assert deleted == {"__typename": "DeletedHardwareProfile", "id": created["id"]}
    again = (await gql_data(client, DELETE_PROFILE, id=created["id"]))["deleteHardwareProfile"]
    assert again["__typename"] == "NotFoundError"
    assert again["entity"] == "HardwareProfile"

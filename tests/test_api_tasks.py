"""GET /task and friends, over task rows written directly (no engine needed)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_api_support import T0, ids, rows, rows_client, rows_engine  # noqa: F401 (fixtures)

URL = "/engine-rest/task"


@pytest.fixture
def inbox(rows):
    """Four open tasks of one birth registration, and one of a death notice."""
    birth = rows.definition("birth")
    death = rows.definition("death")
    pi = rows.instance(birth, business_key="HS-2026-001")
    other = rows.instance(death, business_key="KT-2026-009")
    return {
        "pi": pi,
        "open": rows.task(pi, id="t-open", groups=["civil-registry"], due=T0 + timedelta(days=2), priority=50),
        "claimed": rows.task(pi, id="t-claimed", groups=["civil-registry"], assignee="an",
                             created=T0 + timedelta(minutes=1), priority=80),
        "for_binh": rows.task(pi, id="t-binh", users=["binh"], activity_id="sign",
                              created=T0 + timedelta(minutes=2), due=T0 + timedelta(days=1), priority=10),
        "police": rows.task(other, id="t-police", groups=["police"], activity_id="verify",
                            created=T0 + timedelta(minutes=3)),
    }


def test_candidate_group_lists_only_unclaimed_tasks(rows_client, inbox):
    assert ids(rows_client.get(URL, query_string={"candidateGroup": "civil-registry"})) == ["t-open"]


def test_include_assigned_tasks_adds_claimed_ones(rows_client, inbox):
    response = rows_client.get(URL, query_string={"candidateGroup": "civil-registry", "includeAssignedTasks": "true"})
    assert ids(response) == ["t-open", "t-claimed"]


def test_candidate_user_and_candidate_groups(rows_client, inbox):
    assert ids(rows_client.get(URL, query_string={"candidateUser": "binh"})) == ["t-binh"]
    assert ids(rows_client.get(URL, query_string={"candidateUser": "an"})) == []
    both = rows_client.get(URL, query_string={"candidateGroups": "civil-registry,police"})
    assert ids(both) == ["t-open", "t-police"]


def test_assignee_and_instance_filters(rows_client, inbox):
    assert ids(rows_client.get(URL, query_string={"assignee": "an"})) == ["t-claimed"]
    assert ids(rows_client.get(URL, query_string={"processInstanceBusinessKey": "KT-2026-009"})) == ["t-police"]
    assert ids(rows_client.get(URL, query_string={"processDefinitionKey": "death"})) == ["t-police"]
    assert ids(rows_client.get(URL, query_string={"taskDefinitionKey": "sign"})) == ["t-binh"]
    assert len(ids(rows_client.get(URL, query_string={"processInstanceId": inbox["pi"]}))) == 3
    assert ids(rows_client.get(URL, query_string={"unassigned": "true", "processDefinitionKey": "birth"})) == [
        "t-open", "t-binh"]


def test_count_uses_the_same_filters(rows_client, inbox):
    assert rows_client.get(f"{URL}/count").get_json() == {"count": 4}
    response = rows_client.get(f"{URL}/count", query_string={"candidateGroup": "civil-registry"})
    assert response.get_json() == {"count": 1}


def test_sorting_and_paging(rows_client, inbox):
    by_priority = rows_client.get(URL, query_string={"sortBy": "priority", "sortOrder": "desc"})
    assert ids(by_priority) == ["t-claimed", "t-open", "t-police", "t-binh"]
    # Tasks without a due date come last in either direction.
    assert ids(rows_client.get(URL, query_string={"sortBy": "dueDate", "sortOrder": "asc"}))[:2] == ["t-binh", "t-open"]
    assert ids(rows_client.get(URL, query_string={"sortBy": "dueDate", "sortOrder": "desc"}))[:2] == ["t-open", "t-binh"]
    page = rows_client.get(URL, query_string={"sortBy": "created", "sortOrder": "asc", "firstResult": 1, "maxResults": 2})
    assert ids(page) == ["t-claimed", "t-binh"]


def test_sort_parameters_are_validated(rows_client, inbox):
    lonely = rows_client.get(URL, query_string={"sortBy": "created"})
    assert lonely.status_code == 400
    assert lonely.get_json()["type"] == "InvalidRequestException"
    assert "sortBy and sortOrder required" in lonely.get_json()["message"]
    unknown = rows_client.get(URL, query_string={"sortBy": "colour", "sortOrder": "asc"})
    assert unknown.status_code == 400
    assert "sortBy" in unknown.get_json()["fieldErrors"]
    negative = rows_client.get(URL, query_string={"maxResults": -1})
    assert negative.status_code == 400
    assert "maxResults" in negative.get_json()["fieldErrors"]


def test_get_task_has_camunda_shape(rows_client, inbox):
    response = rows_client.get(f"{URL}/t-open")
    assert response.status_code == 200
    task = response.get_json()
    assert task["id"] == "t-open"
    assert task["name"] == "Review"
    assert task["assignee"] is None
    assert task["created"] == "2026-11-23T08:00:00.000+0000"
    assert task["due"] == "2026-11-25T08:00:00.000+0000"
    assert task["followUp"] is None
    assert task["priority"] == 50
    assert task["processInstanceId"] == inbox["pi"]
    assert task["processDefinitionId"].startswith("birth:1")
    assert task["taskDefinitionKey"] == "review"
    assert task["suspended"] is False
    for key in ("owner", "formKey", "description", "executionId", "tenantId", "delegationState", "parentTaskId"):
        assert key in task


def test_unknown_task_is_404_in_camunda_shape(rows_client, inbox):
    response = rows_client.get(f"{URL}/nope")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body) >= {"type", "message"}
    assert body["message"] == "No matching task with id nope"
    assert rows_client.get(f"{URL}/nope/identity-links").status_code == 404


def test_identity_links_include_the_assignee(rows_client, inbox):
    links = rows_client.get(f"{URL}/t-claimed/identity-links").get_json()
    assert links == [
        {"userId": "an", "groupId": None, "type": "assignee"},
        {"userId": None, "groupId": "civil-registry", "type": "candidate"},
    ]
    candidates = rows_client.get(f"{URL}/t-claimed/identity-links", query_string={"type": "candidate"}).get_json()
    assert candidates == [{"userId": None, "groupId": "civil-registry", "type": "candidate"}]
    assert rows_client.get(f"{URL}/t-binh/identity-links").get_json() == [
        {"userId": "binh", "groupId": None, "type": "candidate"}
    ]


def test_due_date_filters(rows_client, inbox):
    response = rows_client.get(URL, query_string={"dueBefore": "2026-11-24T12:00:00.000+0000"})
    assert ids(response) == ["t-binh"]
    assert rows_client.get(URL, query_string={"dueAfter": "tomorrow"}).status_code == 400


def test_unencoded_plus_in_a_date_parameter(rows_client, inbox):
    # `?dueBefore=...+0000` typed into a URL: the "+" arrives as a space.
    response = rows_client.get(f"{URL}?dueBefore=2026-11-24T12:00:00.000+0000")
    assert ids(response) == ["t-binh"]


def test_date_parameters_with_an_offset(rows_client, inbox):
    # t-binh is due 2026-11-24 08:00 UTC, which is 15:00 in Hanoi (+07:00).
    assert ids(rows_client.get(URL, query_string={"dueBefore": "2026-11-24T15:30:00.000+0700"})) == ["t-binh"]
    assert ids(rows_client.get(URL, query_string={"dueBefore": "2026-11-24T14:30:00.000+0700"})) == []

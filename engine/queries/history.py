"""Activity history and the user operation log."""
from __future__ import annotations

from sqlalchemy import Select, select

from ..models import ActivityInstance, UserOperation
from .base import Query, columns_of, in_tenants, where_equal, where_flag


def _activity_instances(
    *, activity_instance_id=None, instance_id=None, definition_id=None, activity_id=None,
    activity_name=None, activity_type=None, task_assignee=None, finished=None, unfinished=None,
    canceled=None, tenant_ids=None,
) -> Select:
    stmt = where_equal(
        select(*columns_of(ActivityInstance)),
        (ActivityInstance.id, activity_instance_id), (ActivityInstance.instance_id, instance_id),
        (ActivityInstance.definition_id, definition_id), (ActivityInstance.activity_id, activity_id),
        (ActivityInstance.activity_name, activity_name), (ActivityInstance.activity_type, activity_type),
        (ActivityInstance.assignee, task_assignee),
    )
    stmt = in_tenants(stmt, ActivityInstance.instance_id, tenant_ids)
    stmt = where_flag(stmt, finished, ActivityInstance.end_time.is_not(None))
    stmt = where_flag(stmt, unfinished, ActivityInstance.end_time.is_(None))
    return where_flag(stmt, canceled, ActivityInstance.canceled.is_(True))


activity_instances = Query(
    _activity_instances,
    {
        "activityInstanceId": ActivityInstance.id, "instanceId": ActivityInstance.instance_id,
        "activityId": ActivityInstance.activity_id, "activityName": ActivityInstance.activity_name,
        "activityType": ActivityInstance.activity_type, "startTime": ActivityInstance.start_time,
        "endTime": ActivityInstance.end_time, "definitionId": ActivityInstance.definition_id,
        "occurrence": ActivityInstance.seq,
    },
    # seq (insertion order) breaks ties between activities that started in the same instant.
    (ActivityInstance.start_time, ActivityInstance.seq),
)


def _user_operations(
    *, instance_id=None, task_id=None, operation_type=None, user_id=None, entity_type=None,
    after_timestamp=None, before_timestamp=None,
) -> Select:
    stmt = where_equal(
        select(*columns_of(UserOperation)),
        (UserOperation.instance_id, instance_id), (UserOperation.task_id, task_id),
        (UserOperation.operation_type, operation_type), (UserOperation.user_id, user_id),
        (UserOperation.entity_type, entity_type),
    )
    if after_timestamp is not None:
        stmt = stmt.where(UserOperation.timestamp > after_timestamp)
    if before_timestamp is not None:
        stmt = stmt.where(UserOperation.timestamp < before_timestamp)
    return stmt


user_operations = Query(
    _user_operations,
    {"timestamp": UserOperation.timestamp},
    (UserOperation.timestamp, UserOperation.id),
)

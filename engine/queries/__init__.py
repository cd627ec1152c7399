"""Read-only queries over the plain indexed rows: filters, sorting, paging and counts.

Everything here answers from the query tables the unit of work keeps beside each instance; the
serialized workflow and the parsed specs are never selected, so a list of a thousand tasks costs
one indexed SELECT. Results are SQLAlchemy Rows (named tuples, detached from any session).

Each resource is a `Query`: a function that turns keyword filters into a SELECT, the sort keys a
caller may name (Camunda's `sortBy` values, so the REST layer passes them straight through), and
the default order. `Query.list` sorts and pages, `Query.count` counts with the same filters.
"""
from . import operations
from .base import ACTIVE, Query
from .definitions import definitions, deployments, latest_definition
from .history import activity_instances, user_operations
from .instances import historic_instances, instances, instances_by_id
from .jobs import incidents, job_stacktrace, jobs
from .tasks import task_identity_links, tasks

__all__ = [
    "operations",
    "ACTIVE",
    "Query",
    "activity_instances",
    "definitions",
    "deployments",
    "historic_instances",
    "incidents",
    "instances",
    "instances_by_id",
    "job_stacktrace",
    "jobs",
    "latest_definition",
    "task_identity_links",
    "tasks",
    "user_operations",
]

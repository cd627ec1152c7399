"""The engine's tables.

Two kinds of rows live here:
- the durable truth: definitions (with the parsed spec stored once per version), instances
  (with the serialized SpiffWorkflow state and a version counter), jobs and external tasks;
- plain indexed rows the engine keeps beside each instance so that every query (an inbox, a
  status page, a list of incidents) is answered without deserializing a workflow.
Both are written in the same transaction by the unit of work (engine/unit_of_work.py).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .variables import stored_text, text_hash


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the engine stores aware datetimes only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


ID = String(64)


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    deployment_time: Mapped[datetime] = mapped_column(UTCDateTime())


class Resource(Base):
    __tablename__ = "resource"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    version_tag: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    # The serialized BpmnProcessSpec plus the specs of its embedded subprocesses, once per version.
    spec: Mapped[dict] = mapped_column(JSON)
    called_elements: Mapped[list] = mapped_column(JSON, default=list)
    decision_refs: Mapped[list] = mapped_column(JSON, default=list)
    # Message names of message start events; a none start event makes it startable by key.
    start_messages: Mapped[list] = mapped_column(JSON, default=list)
    startable: Mapped[bool] = mapped_column(Boolean, default=True)
    start_timers: Mapped[list] = mapped_column(JSON, default=list)
    # Suspended by an operator: no instance starts on it (by key, message or timer) until activated.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)


class DecisionDefinition(Base):
    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    version_tag: Mapped[str | None] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"))
    resource_name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_key_state", "definition_key", "state"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    # ACTIVE, COMPLETED, EXTERNALLY_TERMINATED, INTERNALLY_TERMINATED (Camunda's history states)
    state: Mapped[str] = mapped_column(String(32))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_activity_id: Mapped[str | None] = mapped_column(String(255))
    start_user_id: Mapped[str | None] = mapped_column(String(255))
    # Camunda's tenant: here the agency that received the dossier; queries filter on it (jurisdiction).
    tenant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    delete_reason: Mapped[str | None] = mapped_column(Text)
    # Which version of each called process and decision this instance runs on (pinned at start).
    bindings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Held by an operator (PUT /process-instance/{id}/suspended): nothing of it runs until activated.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    # The SpiffWorkflow state without its specs (those come from the definition).
    workflow: Mapped[dict | None] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": revision}


class Variable(Base):
    """Process-scope variables as of the last committed wait state (a query index)."""

    __tablename__ = "variable"

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    # The JSON text of the value (engine.variables.stored_text), and its md5: correlation keys find
    # their rows by (name, value_hash) in any database, then compare the text itself. An index on the
    # text would refuse a value past ~2.7 kB on PostgreSQL (the btree row limit) and weighed 10.7 GB
    # at 1M dossiers.
    value_json: Mapped[str] = mapped_column(Text)
    value_hash: Mapped[str] = mapped_column(String(32))

    @classmethod
    def equals(cls, name: str, value):
        """Criteria: the variable `name` holds `value`."""
        text = stored_text(value)
        return and_(cls.name == name, cls.value_hash == text_hash(text), cls.value_json == text)


Index("ix_variable_name_hash", Variable.name, Variable.value_hash)


class Task(Base):
    """An open user task: the inbox row."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_assignee_created", "assignee", "created"),
        # A group's inbox: unassigned tasks in order, first page only; the planner walks this index
        # and stops after a page instead of sorting every open task (bench/query_scale.py).
        Index("ix_task_unassigned_created", "created", "id", postgresql_where=text("assignee IS NULL"),
              sqlite_where=text("assignee IS NULL")),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    definition_key: Mapped[str] = mapped_column(String(255), index=True)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    activity_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    due: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    follow_up: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(255))
    # The instance's suspension, copied here so that queries and claims read one table.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)


class IdentityLink(Base):
    """Candidate groups and users of an open task (Camunda's identity links)."""

    __tablename__ = "identity_link"
    __table_args__ = (
        Index("ix_identity_link_group", "group_id", "task_id"),
        Index("ix_identity_link_user", "user_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32), default="candidate")
    group_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))


class EventSubscription(Base):
    """Who waits for which message: an instance's catch event, or a definition's start event."""

    __tablename__ = "event_subscription"
    __table_args__ = (Index("ix_event_subscription_name", "event_type", "event_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(32))  # message
    event_name: Mapped[str] = mapped_column(String(255))
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[str | None] = mapped_column(ForeignKey("process_definition.id"), index=True)
    activity_id: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """Work the worker does after a commit: a service-task handler run or a due timer."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "due_at", "retries"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # service-task | timer | timer-start
    # None for a timer-start job, which belongs to a definition and starts instances.
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    definition_key: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    task_id: Mapped[str] = mapped_column(String(64), index=True)  # the SpiffWorkflow task id
    topic: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retries: Mapped[int] = mapped_column(Integer)
    retry_cycle: Mapped[str | None] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lock_owner: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exception_message: Mapped[str | None] = mapped_column(Text)
    exception_stacktrace: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # A timer-start job's schedule: {"cycles": left (-1: forever), "step": seconds} or {..., "cron": expression}.
    schedule: Mapped[dict | None] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)


class ExternalTask(Base):
    """A service task served by a remote worker through the external-task API."""

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_task_topic", "topic", "lock_expires_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    definition_key: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    task_id: Mapped[str] = mapped_column(String(64), index=True)  # the SpiffWorkflow task id
    topic: Mapped[str] = mapped_column(String(255))
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retries: Mapped[int | None] = mapped_column(Integer)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # failedJob | failedExternalTask
    # None when a definition's timer-start job failed (no instance exists yet).
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(255))
    configuration: Mapped[str] = mapped_column(String(64), index=True)  # the job or external task id
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ActivityInstance(Base):
    """History: every activity an instance entered, and when it left it."""

    __tablename__ = "activity_instance"
    __table_args__ = (Index("ix_activity_instance_instance", "instance_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # insertion order
    id: Mapped[str] = mapped_column(ID, unique=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(String(64))
    definition_id: Mapped[str] = mapped_column(String(64))
    definition_key: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    activity_name: Mapped[str | None] = mapped_column(String(255))
    activity_type: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(64))  # set for user tasks
    assignee: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled: Mapped[bool] = mapped_column(Boolean, default=False)


class UserOperation(Base):
    """History: who did what, when, and which variables it changed."""

    __tablename__ = "user_operation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    operation_type: Mapped[str] = mapped_column(String(64))  # Create, Claim, Complete, Delete, ...
    entity_type: Mapped[str] = mapped_column(String(64))  # ProcessInstance, Task, Deployment, Job
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

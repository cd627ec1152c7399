"""Deploying: parse and validate BPMN and DMN files, and store a new version of each definition
that changed (an identical file creates nothing), with its start-message subscriptions and
timer-start schedules, in one transaction."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import models as m
from .bpmn.specs import first_start
from .definitions import checksum, parse_deployment
from .errors import DeploymentError, NotFound, Problem
from .resolution import latest
from .runtime import new_id

log = logging.getLogger("lienthong.engine")


@dataclass
class DeployedDefinition:
    id: str
    key: str
    version: int
    name: str | None
    resource: str
    kind: str  # "process" or "decision"


@dataclass
class DeploymentResult:
    id: str
    name: str | None
    source: str | None
    deployment_time: object
    definitions: list[DeployedDefinition] = field(default_factory=list)
    # True when every resource was identical to what is deployed already (no new version).
    unchanged: bool = False
    tenant_id: str | None = None


class Deployments:
    def __init__(self, engine):
        self.engine = engine

    def deploy(self, resources: dict[str, bytes], name: str | None = None, source: str | None = None,
               user_id: str | None = None, tenant_id: str | None = None, changed_only: bool = False) -> DeploymentResult:
        """`tenant_id`: whose definitions these are (Camunda's tenant-id; versions and calls stay
        within it). `changed_only`: Camunda's deploy-changed-only, resources compared one by one
        with the latest of the same name in deployments of the same name: nothing changed answers
        that deployment; otherwise the new deployment holds the changed resources only."""
        engine = self.engine
        with engine.command() as session:
            deployed_processes = set(session.scalars(select(m.ProcessDefinition.key).where(
                _of_tenant(m.ProcessDefinition, tenant_id)).distinct()))
            deployed_decisions = set(session.scalars(select(m.DecisionDefinition.key).where(
                _of_tenant(m.DecisionDefinition, tenant_id)).distinct()))
            parsed = parse_deployment(resources, engine.serves_topic, deployed_processes, deployed_decisions,
                                      has_form=lambda name: name in engine.forms)
            self._refuse_shared_start_messages(session, parsed)
            changed_processes = [p for p in parsed.processes if self._changed(session, m.ProcessDefinition, p, tenant_id)]
            changed_decisions = [d for d in parsed.decisions if self._changed(session, m.DecisionDefinition, d, tenant_id)]
            if changed_only:
                resources = self._changed_resources(session, name, tenant_id, resources)
                same = self._latest_deployment_named(session, name, tenant_id)
                if not resources and same is not None:
                    unchanged = self._unchanged(session, parsed, tenant_id)
                    return DeploymentResult(same.id, same.name, same.source, same.deployment_time,
                                            unchanged.definitions, unchanged=True, tenant_id=tenant_id)
            unchanged = None
            if not changed_processes and not changed_decisions:
                unchanged = self._unchanged(session, parsed, tenant_id)
                # Camunda filters duplicates against the latest deployment of the same name only:
                # otherwise the files make a deployment of their own (an unchanged file still makes
                # no new version here), and the answer names that deployment.
                same = self._latest_deployment_named(session, name, tenant_id)
                if same is not None and self._holds(session, same, resources):
                    return DeploymentResult(same.id, same.name, same.source, same.deployment_time,
                                            unchanged.definitions, unchanged=True, tenant_id=tenant_id)
            now = engine.clock.now()
            deployment = m.Deployment(id=new_id(), name=name, source=source, deployment_time=now, tenant_id=tenant_id)
            session.add(deployment)
            resource_ids = {}
            for resource_name, content in resources.items():
                resource_ids[resource_name] = new_id()
                session.add(m.Resource(id=resource_ids[resource_name], deployment_id=deployment.id, name=resource_name,
                                       checksum=checksum(content), content=content))
            if unchanged is not None:
                engine.record_operation(session, "Create", "Deployment", user_id, deployment_id=deployment.id, definitions=[])
                return DeploymentResult(deployment.id, name, source, now, unchanged.definitions, unchanged=True,
                                        tenant_id=tenant_id)
            result = DeploymentResult(deployment.id, name, source, now, tenant_id=tenant_id)
            session.flush()
            for d in changed_decisions:
                row = m.DecisionDefinition(
                    id=new_id(), key=d.key, version=self._next_version(session, m.DecisionDefinition, d.key), name=d.name,
                    version_tag=d.version_tag, deployment_id=deployment.id, resource_id=resource_ids[d.resource_name],
                    resource_name=d.resource_name, checksum=d.checksum, tenant_id=tenant_id)
                session.add(row)
                result.definitions.append(DeployedDefinition(row.id, row.key, row.version, row.name, row.resource_name, "decision"))
            for p in changed_processes:
                version = self._next_version(session, m.ProcessDefinition, p.key)
                row = m.ProcessDefinition(
                    id=_definition_id(p.key, version), key=p.key, version=version, name=p.name, version_tag=p.version_tag,
                    deployment_id=deployment.id, resource_name=p.resource_name, checksum=p.checksum, spec=p.spec,
                    called_elements=p.called_elements, decision_refs=p.decision_refs,
                    start_messages=p.start_messages, startable=p.startable, start_timers=p.start_timers,
                    tenant_id=tenant_id, history_ttl_days=p.history_ttl_days)
                session.add(row)
                session.flush()
                self._subscribe_start_messages(session, row, p.start_signals)
                self._schedule_start_timers(session, row)
                result.definitions.append(DeployedDefinition(row.id, row.key, row.version, row.name, row.resource_name, "process"))
            engine.record_operation(session, "Create", "Deployment", user_id, deployment_id=deployment.id,
                      definitions=[d.id for d in result.definitions])
            log.info("deployed", extra={"deployment": deployment.id, "definitions": [d.id for d in result.definitions]})
            return result

    @staticmethod
    def _refuse_shared_start_messages(session: Session, parsed) -> None:
        """A message may start one process only (Camunda refuses the same)."""
        problems, starters = [], {}
        for process in parsed.processes:
            for message in process.start_messages:
                other = starters.setdefault(message, process.key)
                if other == process.key:
                    other = session.scalars(
                        select(m.ProcessDefinition.key).join(m.EventSubscription, m.EventSubscription.definition_id == m.ProcessDefinition.id)
                        .where(m.EventSubscription.event_name == message, m.ProcessDefinition.key != process.key)).first()
                if other and other != process.key:
                    problems.append(Problem(process.resource_name, process.key,
                                            f"the message '{message}' already starts process '{other}'; a message may start one process only"))
        if problems:
            raise DeploymentError(problems)

    @staticmethod
    def _changed(session: Session, model, parsed, tenant_id: str | None) -> bool:
        latest = session.scalars(select(model.checksum).where(model.key == parsed.key, _of_tenant(model, tenant_id))
                                 .order_by(model.version.desc()).limit(1)).first()
        return latest != parsed.checksum

    @staticmethod
    def _changed_resources(session: Session, name: str | None, tenant_id: str | None, resources: dict) -> dict:
        """The resources that differ from the latest of the same name in deployments of this name."""
        named = m.Deployment.name.is_(None) if name is None else m.Deployment.name == name
        held = session.execute(
            select(m.Resource.name, m.Resource.checksum).join(m.Deployment, m.Deployment.id == m.Resource.deployment_id)
            .where(named, _of_tenant(m.Deployment, tenant_id)).order_by(m.Deployment.deployment_time))
        latest = dict(held.all())  # the later deployment's checksum wins
        return {n: content for n, content in resources.items() if latest.get(n) != checksum(content)}

    @staticmethod
    def _next_version(session: Session, model, key: str) -> int:
        return (session.scalar(select(func.max(model.version)).where(model.key == key)) or 0) + 1

    @staticmethod
    def _latest_deployment_named(session: Session, name: str | None, tenant_id: str | None) -> m.Deployment | None:
        named = m.Deployment.name.is_(None) if name is None else m.Deployment.name == name
        return session.scalars(select(m.Deployment).where(named, _of_tenant(m.Deployment, tenant_id))
                               .order_by(m.Deployment.deployment_time.desc()).limit(1)).first()

    @staticmethod
    def _holds(session: Session, deployment: m.Deployment, resources: dict[str, bytes]) -> bool:
        held = session.execute(select(m.Resource.name, m.Resource.checksum).where(m.Resource.deployment_id == deployment.id))
        return set(held) == {(name, checksum(content)) for name, content in resources.items()}

    def _unchanged(self, session: Session, parsed, tenant_id: str | None) -> DeploymentResult:
        definitions = []
        for model, items, kind in ((m.ProcessDefinition, parsed.processes, "process"), (m.DecisionDefinition, parsed.decisions, "decision")):
            for item in items:
                row = latest(session, model, item.key, tenant_id)
                definitions.append(DeployedDefinition(row.id, row.key, row.version, row.name, row.resource_name, kind))
        first_model = m.ProcessDefinition if definitions[0].kind == "process" else m.DecisionDefinition
        first = session.get(first_model, definitions[0].id)
        deployment = session.get(m.Deployment, first.deployment_id)
        return DeploymentResult(deployment.id, deployment.name, deployment.source, deployment.deployment_time, definitions, unchanged=True)

    def _subscribe_start_messages(self, session: Session, definition: m.ProcessDefinition, signals: list[str]) -> None:
        older = select(m.ProcessDefinition.id).where(m.ProcessDefinition.key == definition.key, m.ProcessDefinition.id != definition.id)
        for subscription in session.scalars(select(m.EventSubscription).where(m.EventSubscription.definition_id.in_(older))):
            session.delete(subscription)
        for message in definition.start_messages:
            session.add(m.EventSubscription(event_type="message", event_name=message, definition_id=definition.id,
                                            activity_id=definition.key, created=self.engine.clock.now()))
        for signal in signals:  # the newest version only, as messages: a signal starts that one
            session.add(m.EventSubscription(event_type="signal", event_name=signal, definition_id=definition.id,
                                            activity_id=definition.key, created=self.engine.clock.now()))

    def _schedule_start_timers(self, session: Session, definition: m.ProcessDefinition) -> None:
        """The newest version's timer start events replace the older versions' schedules."""
        for job in session.scalars(select(m.Job).where(m.Job.type == "timer-start", m.Job.definition_key == definition.key)):
            session.delete(job)
        now = self.engine.clock.now()
        for timer in definition.start_timers:
            due, schedule = first_start(timer, now, self.engine.timezone)
            session.add(m.Job(id=new_id(), type="timer-start", instance_id=None, definition_id=definition.id,
                              definition_key=definition.key, activity_id=timer["activityId"], task_id=timer["activityId"],
                              due_at=due, retries=self.engine.retry_policy(None)[0], schedule=schedule, created=now))

    def resource_content(self, definition_id: str) -> tuple[str, bytes]:
        with self.engine.db.reading() as session:
            definition = session.get(m.ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"Process definition '{definition_id}' does not exist")
            resource = session.scalars(select(m.Resource).where(
                m.Resource.deployment_id == definition.deployment_id, m.Resource.name == definition.resource_name)).one()
            return resource.name, resource.content


def _of_tenant(model, tenant_id: str | None):
    return model.tenant_id.is_(None) if tenant_id is None else model.tenant_id == tenant_id


def _definition_id(key: str, version: int) -> str:
    """Camunda's `key:version:uuid`, or a plain uuid when that would not fit the column."""
    readable = f"{key}:{version}:{new_id()}"
    return readable if len(readable) <= 64 else new_id()

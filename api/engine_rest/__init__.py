"""The Camunda 7 compatible REST resources, one blueprint each, mounted under /engine-rest."""
from __future__ import annotations

from . import (
    console_support, decision_definition, deployment, external_task, history, incident, job, message, migration,
    process_definition,
    process_instance, task, version,
)

BLUEPRINTS = [
    version.blp,
    deployment.blp,
    decision_definition.blp,
    process_definition.blp,
    process_instance.blp,
    migration.blp,
    task.blp,
    message.blp,
    incident.blp,
    job.blp,
    history.blp,
    external_task.blp,
    console_support.blp,
]

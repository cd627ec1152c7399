"""Names written as `${...}`: a message a catch waits for and the topic of a service task, as in
Camunda 7, are evaluated in the instance's variables when the token reaches the element, and
kept for as long as it waits (later changes of the variables do not move a waiting subscription).

The resolved name is stored in the task's internal data before the state is serialized
(`resolve_names`, called when an instance is saved), so every later load reads the same name.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

from ..expressions import is_expression

MESSAGE_KEY, TOPIC_KEY = "_message_name", "_topic"


class ExpressionMessage(MessageEventDefinition):
    """A message event whose name holds `${...}`."""

    def resolved(self, my_task) -> str:
        name = my_task.internal_data.get(MESSAGE_KEY)
        if name is None:
            name = str(my_task.workflow.script_engine.evaluate(my_task, self.name))
            my_task.internal_data[MESSAGE_KEY] = name
        return name

    def catches(self, my_task, event):
        definition = event.event_definition
        return isinstance(definition, MessageEventDefinition) and definition.name == self.resolved(my_task)

    def update_task_data(self, my_task):
        payload = my_task.internal_data.get(self.resolved(my_task))
        if payload is not None:
            my_task.set_data(**payload)


def message_definition(definition: MessageEventDefinition) -> MessageEventDefinition:
    """The parsed definition, or its expression-named twin when its name holds `${...}`."""
    if not is_expression(definition.name):
        return definition
    return ExpressionMessage(definition.name, definition.correlation_properties, description=definition.description)


def topic_of(my_task) -> str:
    topic = my_task.task_spec.extensions["topic"]
    if not is_expression(topic):
        return topic
    resolved = my_task.internal_data.get(TOPIC_KEY)
    if resolved is None:
        resolved = str(my_task.workflow.script_engine.evaluate(my_task, topic))
        my_task.internal_data[TOPIC_KEY] = resolved
    return resolved

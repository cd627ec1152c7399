"""Camunda 7's Java delegates, served by Python handlers.

A service task written for Camunda names Java code in one of three ways; each maps to a key of
the handler registry (engine/handler_registry.py), so the diagram runs unchanged:

    camunda:class="org.example.CheckIdentityDelegate"        @handler(java_class="org.example.CheckIdentityDelegate")
    camunda:delegateExpression="${checkIdentity}"             @handler(bean="checkIdentity")
    camunda:expression="${checkIdentity.verify(execution)}"   @handler(bean="checkIdentity")

An expression's method and arguments are Java's business: the bean's handler is called with the
task's context, and with camunda:resultVariable what it returns becomes that one variable (as
the method's return value does in Camunda). A name nobody serves is refused at deploy.
"""
from __future__ import annotations

import re

CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
# `${name}` or `${name.method(...)}` (what delegateExpression and expression hold in practice)
_BEAN = re.compile(r"^\s*[$#]\{\s*([A-Za-z][\w]*)\s*(?:\.\s*[A-Za-z]\w*\s*\(.*\)\s*)?\}\s*$", re.S)


def class_key(java_class: str) -> str:
    return f"class:{java_class}"


def bean_key(bean: str) -> str:
    return f"bean:{bean}"


def bean_of(text: str) -> str | None:
    match = _BEAN.match(text or "")
    return match.group(1) if match else None


def delegate_of(node) -> tuple[str | None, str | None, str | None]:
    """(registry key, the attribute written, what it names) of a service task's Java delegate;
    the key is None when the attribute is there but names no bean we can read."""
    java_class = node.get(CAMUNDA + "class")
    if java_class is not None:
        return class_key(java_class.strip()), "camunda:class", java_class.strip()
    for attribute in ("delegateExpression", "expression"):
        text = node.get(CAMUNDA + attribute)
        if text is not None:
            bean = bean_of(text)
            return (bean_key(bean) if bean else None), f"camunda:{attribute}", text
    return None, None, None


def registration_hint(attribute: str, named: str) -> str:
    if attribute == "camunda:class":
        return f'@handler(java_class="{named}")'
    return f'@handler(bean="{bean_of(named)}")'

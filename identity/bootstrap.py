"""The embedded default's first accounts: on a database with none, one account per group the
deployed diagrams name (officers of each candidate group, supervisors of each escalation group),
plus an analyst, an operator and an auditor, each with a generated password printed once."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from engine.models import Resource
from engine.xml import parse_untrusted

from .accounts import Accounts

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/")
_EXPRESSION = re.compile(r"^\$\{\s*[\w.]*?(\w+)\s*\}$")


@dataclass
class CreatedAccount:
    id: str
    password: str
    roles: list[str]
    groups: list[str]


def groups_named(db) -> tuple[set[str], set[str]]:
    """(officer groups, supervisor groups) that the deployed diagrams name: the tasks'
    candidateGroups (an expression `${x.y}` is read as the literal values a decision table gives
    its output `y`), and the `candidateGroup` properties of the escalation tasks."""
    officers: set[str] = set()
    supervisors: set[str] = set()
    expressions: set[str] = set()
    with db.reading() as session:
        resources = [(r.name, r.content) for r in session.execute(select(Resource.name, Resource.content))]
    tables: dict[str, set[str]] = {}
    for name, content in resources:
        try:
            root = parse_untrusted(content, name)
        except Exception:  # noqa: BLE001 - a stored resource was accepted at deploy; skip anything odd
            continue
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            groups = element.get(f"{{{CAMUNDA}}}candidateGroups")
            if groups:
                match = _EXPRESSION.match(groups.strip())
                if match:
                    expressions.add(match.group(1))
                else:
                    officers.update(g.strip() for g in groups.split(",") if g.strip() and "$" not in g)
            if element.tag == f"{{{CAMUNDA}}}property" and element.get("name") == "candidateGroup" and element.get("value"):
                supervisors.add(element.get("value"))
        for namespace in DMN_NAMESPACES:
            for table in root.iter(f"{{{namespace}}}decisionTable"):
                outputs = [o.get("name") for o in table.findall(f"{{{namespace}}}output")]
                for rule in table.findall(f"{{{namespace}}}rule"):
                    for output, entry in zip(outputs, rule.findall(f"{{{namespace}}}outputEntry")):
                        text = (entry.findtext(f"{{{namespace}}}text") or "").strip()
                        if output and text.startswith('"') and text.endswith('"') and len(text) > 2:
                            tables.setdefault(output, set()).add(text[1:-1])
    for output in expressions:
        officers.update(v for v in tables.get(output, ()) if v and v != "none")
    return officers - supervisors, supervisors


def bootstrap(accounts: Accounts, db, agency: str) -> list[CreatedAccount]:
    """Creates the first accounts when there are none; answers them with their passwords."""
    if accounts.exist():
        return []
    officers, supervisors = groups_named(db)
    plan = [(f"officer.{g}", ["officer"], [g]) for g in sorted(officers)]
    plan += [(f"supervisor.{g}", ["supervisor"], [g]) for g in sorted(supervisors)]
    plan += [("analyst", ["analyst"], []), ("operator", ["operator"], []), ("auditor", ["auditor"], [])]
    created = []
    for account_id, roles, groups in plan:
        bound = agency if set(roles) & {"officer", "supervisor"} else None
        password = accounts.add(account_id, roles=roles, groups=groups, agency=bound)
        created.append(CreatedAccount(account_id, password, roles, groups))
    return created

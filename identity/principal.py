"""Who is calling: the roles, groups, agency and (for service accounts) topics and messages of one
authenticated caller, and the filters that follow from them."""
from __future__ import annotations

from dataclasses import dataclass, field

# Camunda 7's built-in administrators' group; here a role that every permission includes.
ADMIN = "admin"
ROLES = ("citizen", "officer", "supervisor", "analyst", "operator", "auditor", "service", ADMIN)
# Roles whose work is bound to the agency they belong to (jurisdiction).
AGENCY_BOUND = frozenset({"officer", "supervisor"})


@dataclass(frozen=True)
class Principal:
    id: str
    roles: frozenset[str]
    groups: frozenset[str] = frozenset()
    agency: str | None = None
    topics: frozenset[str] = frozenset()
    messages: frozenset[str] = frozenset()
    name: str | None = None
    source: str = "local"  # local (password), oidc (bearer token), session (browser)
    claims: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def has(self, *roles: str) -> bool:
        return self.is_admin or any(role in self.roles for role in roles)

    @property
    def tenants(self) -> list[str] | None:
        """The tenants (agencies) whose instances this caller may see; None: every one.

        Officers and supervisors see their agency's; the roles that keep the service running
        (operator, analyst, auditor) and administrators are not bound to one agency."""
        if self.is_admin or not (self.roles & AGENCY_BOUND) or self.roles & {"operator", "analyst", "auditor"}:
            return None
        return [self.agency] if self.agency else []

    @property
    def sees_every_task_of_agency(self) -> bool:
        """Supervisors (and administrators) see every task of their agency, not only their groups'."""
        return self.is_admin or "supervisor" in self.roles

    def may_fetch(self, topic: str) -> bool:
        return self.is_admin or topic in self.topics or "*" in self.topics

    def may_send(self, message: str) -> bool:
        return self.is_admin or message in self.messages or "*" in self.messages

    def may_signal(self, signal: str) -> bool:
        """Operators throw any signal; a service account those it lists as `signal:NAME` (or
        `signal:*`) among its messages (a token's scope `signal:NAME` says the same)."""
        return self.has("operator") or f"signal:{signal}" in self.messages or "signal:*" in self.messages

    def log_fields(self) -> dict:
        return {"user": self.id, "roles": sorted(self.roles), "agency": self.agency}

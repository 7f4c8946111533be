"""Generate the state diagram (Mermaid, in Markdown) from the transitions declared in code."""

from __future__ import annotations

from access_requests.models import AccessRequest, HolderTask
from access_requests.workflow import (
    STAGE_OWNER,
    STAGE_ROLES,
    TASK_TRANSITIONS,
    TRANSITIONS,
    HolderTaskState,
    Role,
    State,
)


def declared_edges() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every transition django-fsm knows on the model."""
    field = AccessRequest._meta.get_field("state")
    result = set()
    for transition in field.get_all_transitions(AccessRequest):
        target = transition.target
        targets = getattr(target, "allowed_states", None) or [target]
        for t in targets:
            result.add((str(transition.source), str(t), transition.name))
    order = list(State.values)
    return sorted(result, key=lambda e: (order.index(e[0]), order.index(e[1]), e[2]))


def declared_task_edges() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every transition django-fsm knows on a holder task."""
    field = HolderTask._meta.get_field("state")
    result = {(str(t.source), str(t.target), t.name) for t in field.get_all_transitions(HolderTask)}
    order = list(HolderTaskState.values)
    return sorted(result, key=lambda e: (order.index(e[0]), order.index(e[1]), e[2]))


def _roles(name: str, source: str) -> str:
    roles = TRANSITIONS[name].roles
    if STAGE_OWNER in roles:
        roles = (roles - {STAGE_OWNER}) | STAGE_ROLES.get(source, frozenset())
    return ", ".join(sorted(str(Role(r).value) for r in roles))


def render_markdown() -> str:
    lines = [
        "# State diagram of an access request",
        "",
        "Generated from the code by `make diagram` (`python manage.py state_diagram`); "
        "a test fails when this file and the code disagree. Do not edit by hand.",
        "",
        "```mermaid",
        "stateDiagram-v2",
    ]
    for state in State:
        lines.append(f"    {state.value}: {state.value} — {state.label}")
    lines.append("    [*] --> draft")
    for source, target, name in declared_edges():
        lines.append(f"    {source} --> {target}: {name}")
    for state in (State.REJECTED, State.WITHDRAWN, State.CLOSED):
        lines.append(f"    {state.value} --> [*]")
    lines += ["```", "", "| from | to | transition | roles | condition |", "|---|---|---|---|---|"]
    for source, target, name in declared_edges():
        condition = _condition_text(source, target)
        lines.append(f"| {source} | {target} | {name} | {_roles(name, source)} | {condition} |")
    lines += [
        "",
        "## Holder tasks",
        "",
        "After the decision each data holder of the request's datasets has its own task "
        "(`HolderTask`), opened in contracting when the request enters it. A task moves only while the "
        "request is in contracting, matching or extraction; the request's state is its least advanced "
        "task's, so the request's own transitions above fire when that task moves, and the request is "
        "delivered with its last task. `data_holder` here is the staff of the task's own holder.",
        "",
        "```mermaid",
        "stateDiagram-v2",
    ]
    for task_state in HolderTaskState:
        lines.append(f"    {task_state.value}: {task_state.value} — {task_state.label}")
    lines.append("    [*] --> contracting")
    for source, target, name in declared_task_edges():
        lines.append(f"    {source} --> {target}: {name}")
    lines += ["    delivered --> [*]", "```", "", "| from | to | transition | roles | condition |",
              "|---|---|---|---|---|"]
    for source, target, name in declared_task_edges():
        roles = ", ".join(sorted(str(Role(r).value) for r in TASK_TRANSITIONS[name].roles))
        lines.append(f"| {source} | {target} | {name} | {roles} | {_condition_text(source, target)} |")
    lines.append("")
    return "\n".join(lines)


def _condition_text(source: str, target: str) -> str:
    if source == State.SUBMITTED and target == State.CONTRACTING:
        return "route is reference_methodology or simplified"
    if source == State.CONTRACTING and target == State.MATCHING:
        return "requires_matching"
    if source == State.CONTRACTING and target == State.EXTRACTION:
        return "not requires_matching"
    if source == State.AWAITING_APPLICANT and target != State.WITHDRAWN:
        return "paused from this state"
    return ""

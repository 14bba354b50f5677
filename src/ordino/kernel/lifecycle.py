"""Lifecycles as data: a record's states and the actions that move it from some states to another.

Each capability's `domain.py` declares its `Lifecycle`; `target` checks an action against the
table, and the console's "available actions" are `lifecycle.actions_from(status)`. Pure: applying
a transition with its history row and event is `kernel.statemachine.apply`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ordino.kernel.errors import InvalidTransition


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    event: str | None = None  # defaults to "<entity>.<target>"


@dataclass(frozen=True)
class Lifecycle:
    entity: str  # e.g. "order_summary"; also the event prefix
    states: frozenset[str]
    initial: str
    transitions: Mapping[str, Transition] = field(default_factory=dict)
    terminal: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        entity: str,
        states: Iterable[str],
        initial: str,
        table: Iterable[tuple[str, Iterable[str], str]],
        terminal: Iterable[str] = (),
    ) -> Lifecycle:
        states = frozenset(states)
        transitions: dict[str, Transition] = {}
        for action, sources, target in table:
            if action in transitions:
                raise ValueError(f"{entity}: action '{action}' is declared twice")
            src = frozenset(sources)
            unknown = (src | {target}) - states
            if unknown:
                raise ValueError(f"{entity}: unknown states {sorted(unknown)} in '{action}'")
            transitions[action] = Transition(action, src, target)
        if initial not in states:
            raise ValueError(f"{entity}: initial state '{initial}' is not a state")
        terminal = frozenset(terminal)
        if terminal - states:
            raise ValueError(f"{entity}: unknown terminal states {sorted(terminal - states)}")
        return cls(entity, states, initial, transitions, terminal)

    def actions_from(self, status: str) -> list[str]:
        return [t.action for t in self.transitions.values() if status in t.sources]

    def target(self, status: str, action: str) -> str:
        t = self.transitions.get(action)
        if t is None:
            raise ValueError(f"{self.entity}: no action '{action}'")
        if status not in t.sources:
            entity = self.entity.replace("_", " ")
            article = "an" if entity[:1] in ("a", "e", "i", "o", "u") else "a"
            raise InvalidTransition(
                f"cannot {action.replace('_', ' ')} {article} {entity} that is {status.replace('_', ' ')}",
                extra={"current_status": status, "available_actions": self.actions_from(status)},
            )
        return t.target

    def event_type(self, action: str) -> str:
        t = self.transitions[action]
        return t.event or f"{self.entity}.{t.target}"

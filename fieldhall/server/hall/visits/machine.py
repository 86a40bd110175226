"""A visit request's states and the transitions between them, in one place.

::

    pending ──dispatch──▶ dispatched ──taken──▶ taken ──on_site──▶ on_site ──done──▶ done
                             ▲   │                 │                  │
                             │   └──────on_site / done / cannot_complete (skipping is fine:
                  reassign ──┘          an offline phone may report only the last step)
    (any open state) ──cancel──▶ cancelled

``cannot_complete`` (the agent could not do it: nobody home, wrong address…) leaves the
request open — its timers keep running — for the clerk to ``reassign`` or ``cancel``; the
agent may still report ``on_site`` or ``done`` later. Staff operations and device statuses
share the table; a status not allowed in the current state is recorded as ``stale``.
"""

from __future__ import annotations

__all__ = ["OPEN_STATES", "STAFF_ROLES", "STATES", "TRANSITIONS", "allowed"]

STATES = ("pending", "dispatched", "taken", "on_site", "cannot_complete", "done", "cancelled")
OPEN_STATES = frozenset({"pending", "dispatched", "taken", "on_site", "cannot_complete"})
_WORKING = frozenset({"dispatched", "taken", "on_site", "cannot_complete"})

# name -> (states it may happen in, the state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    # staff (clerk, supervisor)
    "dispatch": (frozenset({"pending"}), "dispatched"),
    "reassign": (_WORKING, "dispatched"),
    "cancel": (OPEN_STATES, "cancelled"),
    # the agent's visit_update statuses
    "taken": (frozenset({"dispatched"}), "taken"),
    "on_site": (frozenset({"dispatched", "taken", "cannot_complete"}), "on_site"),
    "done": (_WORKING, "done"),
    "cannot_complete": (frozenset({"dispatched", "taken", "on_site"}), "cannot_complete"),
}

# Who may create, dispatch, reassign and cancel requests, and read them.
STAFF_ROLES = ("clerk", "supervisor")


def allowed(name: str, state: str) -> bool:
    sources, _ = TRANSITIONS[name]
    return state in sources

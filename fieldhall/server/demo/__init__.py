"""Demo data for ``make run`` (``fieldhall demo``): a hall that has been working for six
weeks — grids, agents with enrolled simulated devices that filed real signed cases with
real photos, one staff account per role, 70-odd cases in every state of the workflow, some
near their deadline and some overdue, the mall station's day, and ten home-visit requests
in every state of theirs, one urgent ticket escalated by the sweep."""

from .credentials import DemoRecord, read_record
from .seeding import DEFAULT_SEED, DemoError, DemoHall, seed_demo
from .serve import run_demo

__all__ = [
    "DEFAULT_SEED",
    "DemoError",
    "DemoHall",
    "DemoRecord",
    "read_record",
    "run_demo",
    "seed_demo",
]

"""Scenarios: timed steps with narration for the audience, the trainer's faults and
actions, what dispatchers do at their consoles, and expectations that are checked.
The file format is documented in docs/scenarios.md; built-in scenarios are in
``builtin/``; ``cli`` runs one headless (``ipics-lab scenario run NAME``)."""

from ipics_lab.scenario.loader import builtin_names, load_scenario, parse_scenario
from ipics_lab.scenario.model import Expectation, Scenario, ScenarioError, Step
from ipics_lab.scenario.report import ScenarioReport, StepReport
from ipics_lab.scenario.runner import ScenarioRunner

__all__ = [
    "Expectation",
    "Scenario",
    "ScenarioError",
    "ScenarioReport",
    "ScenarioRunner",
    "Step",
    "StepReport",
    "builtin_names",
    "load_scenario",
    "parse_scenario",
]

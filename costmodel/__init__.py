"""OpenTCO cost engine: pure, typed, traceable. It never imports Streamlit."""

from costmodel.errors import CostModelError, ScenarioError, UnknownName
from costmodel.scenario import Scenario, Workload, load_scenario

__all__ = ["CostModelError", "Scenario", "ScenarioError", "UnknownName", "Workload", "load_scenario"]

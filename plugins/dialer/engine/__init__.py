"""The dial engine: a pure decision core (state + clock → actions), no I/O."""

from plugins.dialer.engine.config import CARRIER_PRESETS, CampaignConfig, ConfigError, SimLimits, limits_for, validate
from plugins.dialer.engine.core import new_state, outcome_of, step
from plugins.dialer.engine.state import EngineState, SimState, dump, load

__all__ = ["CARRIER_PRESETS", "CampaignConfig", "ConfigError", "EngineState", "SimLimits", "SimState", "dump",
           "limits_for", "load", "new_state", "outcome_of", "step", "validate"]

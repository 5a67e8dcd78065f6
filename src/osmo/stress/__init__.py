"""``osmo stress``: simulated game servers against a running osmo (HTTP, NATS, or the use case in-process),
open loop at a given rate, with latency per report, an end-of-run consistency check and a report folder
with plots. ``--ramp`` looks for the highest rate the service sustains under a latency bound."""

from osmo.stress.check import Consistency, check_consistency
from osmo.stress.core import Plan, Step, StressResult, run_stress

__all__ = ["Consistency", "Plan", "Step", "StressResult", "check_consistency", "run_stress"]

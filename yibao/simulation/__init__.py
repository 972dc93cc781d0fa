"""Policy impact simulation (基金测算): what a tariff change costs the funds, and who gains or loses.

`simulate(batch, set=[…] | reform=…)` scores a batch under the tariffs in force and under a
reform, through the one pipeline both times, and compares them claim by claim (docs/simulate.md).
"""

from yibao.simulation.simulation import Simulation, simulate_batch

__all__ = ["Simulation", "simulate_batch"]

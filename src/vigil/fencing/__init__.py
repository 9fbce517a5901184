"""Fencing: fence agents run as Pacemaker's fencer runs them, and the choice of devices."""

from vigil.fencing.agent import FenceAgents, FenceDevice, FenceRun
from vigil.fencing.fencer import FenceOutcome, Fencer, fence_devices

__all__ = ["FenceAgents", "FenceDevice", "FenceOutcome", "FenceRun", "Fencer", "fence_devices"]

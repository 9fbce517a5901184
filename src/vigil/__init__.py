"""vigil: a cluster resource manager in the Pacemaker model."""

__version__ = "0.1.0"

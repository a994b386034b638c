"""The trainer panel, its server cards, timeline plot and devices, and ``ipics-lab`` with no command."""

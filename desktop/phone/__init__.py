"""The Cisco Unified IP Phone window and ``ipics-lab phone``."""

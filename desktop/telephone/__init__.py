"""The standard telephone panel and ``ipics-lab telephone``."""

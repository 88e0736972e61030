"""Time-driven work: the scheduler, the jobs it runs, and the platform pollers."""

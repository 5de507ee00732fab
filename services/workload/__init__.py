"""Workload service: the work providers transfer to practices, logged as evidence for commissioners."""

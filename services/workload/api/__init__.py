"""Thin HTTP routers of the workload service."""

"""Pure logic of the workload service: no I/O, no framework."""

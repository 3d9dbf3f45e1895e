"""Pseudo-experiments stage: batched toy fits, coverage of the errors, sharded over jobs."""

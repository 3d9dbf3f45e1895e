"""Benchmark stage: kernel timings and whole-pipeline timings against the peers."""

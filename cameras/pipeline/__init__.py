"""Per-camera pipelines (recorder, detector): a registry of kinds, Redis leases and the supervisor that runs them.

A detector adds its kind to `registry.KINDS`; a runner reports non-fatal problems with `supervisor.report`.
"""

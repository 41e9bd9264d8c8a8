"""Scenario suites shipped with SimDrive (YAML data; see simdrive.evaluation.schema)."""

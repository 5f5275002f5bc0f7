"""Hyper-parameter sweeps with Optuna: the search space (:mod:`.space`), the study and its trials
(:mod:`.study`), the workers (:mod:`.worker`) and the ``sweep`` command (:mod:`.command`)."""

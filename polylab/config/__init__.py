"""Inputs, validated: `experiments.yaml` (experiments), `langs/*/lang.yaml` (manifests), the validation helpers
and the user-facing errors. Everything here turns YAML into frozen records once; later stages trust them.
May import: the standard library, pyyaml, cfgv, polylab.sample.rates (the sampling rates the sampler supports,
which sample_hz is checked against), polylab.sample.schedtrace (the `trace` modes), polylab.results.schema (the
workloads, modes and sinks a run can have) and polylab.workloads (what each workload needs: its modes, workers,
count). Nothing else of polylab.
"""

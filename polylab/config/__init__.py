"""Inputs, validated: `experiments.yaml` (experiments), `langs/*/lang.yaml` (manifests), the validation helpers
and the user-facing errors. Everything here turns YAML into frozen records once; later stages trust them.
May import: the standard library, pyyaml, cfgv, and polylab.sample.rates (the sampling rates the
sampler supports, which sample_hz is checked against). Nothing else of polylab.
"""

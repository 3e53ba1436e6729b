"""The sampling rates the sampler supports. A module of its own, with no imports, so that the config can refuse
a rate the sampler would refuse (experiments.yaml `sample_hz`) without importing the sampler."""

MIN_HZ, MAX_HZ = 1.0, 50.0

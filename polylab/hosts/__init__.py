"""Several machines: run a profile on hosts over SSH (Fabric) and merge their results sets.

Owns the inventory (`hosts.yaml`), the remote pipeline (ship the committed tree, set up, run the lab
detached, follow, pull), the hosts set's state in meta.json, and merging the hosts' sets into one with a
`host` column. May import polylab.config (validation, errors), polylab.run.lab (to check a request before
connecting), polylab.results (the set's files and tables), polylab.console and polylab.cli.commands (its
user-error wrapper, in the entry task); fabric, paramiko, invoke, cfgv, pyyaml and pandas.
Never analysis/, and nothing else in polylab imports this package except the CLI wiring.

Modules, in the order data flows: inventory → commands (the shell lines, all quoted) → targets (SSH or
this machine) → hostrun (one host's pipeline) → state (meta.json) → merge → orchestrate (threads, signals,
resume) → task (the entry tasks.py calls).
"""

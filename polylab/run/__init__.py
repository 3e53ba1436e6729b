"""Running the matrix: the lab (config + languages + chosen backends + builds), the plan (RunSpecs), the runner
(spawn, reap, judge one program), result checks, the reaper, machine metadata and the backends that build and
launch programs (local toolchains, containers).
May import: polylab.config, polylab.sample, polylab.results, polylab.workloads, polylab.console. Never analysis.
"""

"""What a results set is and how it is stored: the schema (run record, columns, file names, version history),
the append-only store and the per-run sample tables.
May import: polylab.config.errors, pandas. This and polylab.console are the only parts analysis/ imports.
"""

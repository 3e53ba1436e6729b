"""User-facing errors: one clear message, exit code 1, never a traceback."""


class UserError(Exception):
    """A mistake the user can fix; the task layer prints str(self) and exits 1."""


class ConfigError(UserError):
    """Bad input in a YAML file, located by file, entry and key (the message style of cfgv, pre-commit's validator)."""

    def __init__(self, file: str, entry: str, key: str | None, problem: str):
        self.file, self.entry, self.key, self.problem = file, entry, key, problem
        parts = [f"==> File {file}", f"==> At {entry}"]
        if key is not None:
            parts.append(f"==> At key: {key}")
        super().__init__(" ".join(parts) + f" =====> {problem}")

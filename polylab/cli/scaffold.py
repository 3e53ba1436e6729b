"""`invoke new-lang NAME`: a new language folder from the template, ready to fill in."""

from __future__ import annotations

from pathlib import Path

from polylab.config.errors import UserError
from polylab.config.manifests import NAME_PATTERN

TEMPLATE = Path(__file__).parent / "templates" / "lang"


def new_language(langs_dir: Path, name: str) -> Path:
    if not NAME_PATTERN.match(name):
        raise UserError(f"'{name}' is not a valid language name: use lowercase letters, digits and '-'")
    folder = langs_dir / name
    if folder.exists():
        raise UserError(f"{folder} already exists")
    folder.mkdir(parents=True)
    for template in sorted(TEMPLATE.iterdir()):
        target = folder / template.name.removesuffix(".tmpl")
        target.write_text(template.read_text().replace("__NAME__", name))
    return folder

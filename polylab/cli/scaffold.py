"""`invoke new-lang NAME` (or `--name NAME`): a new language folder from the template, ready to fill in. The
template's toolchain is a TODO placeholder that no machine has, so doctor shows the folder missing until it is filled
in (the language's own name is often a real, unrelated executable: `cpp` is the C preprocessor)."""

from __future__ import annotations

from pathlib import Path

from polylab.config.errors import UserError
from polylab.config.manifests import NAME_PATTERN

TEMPLATE = Path(__file__).parent / "templates" / "lang"


def new_language(langs_dir: Path, name: str) -> Path:
    if not NAME_PATTERN.match(name):
        raise UserError(f"'{name}' is not a valid language name: use lowercase letters, digits and '-', "
                        "starting with a letter (C++ is 'cpp')")
    folder = langs_dir / name
    if folder.exists():
        raise UserError(f"{folder} already exists")
    folder.mkdir(parents=True)
    for template in sorted(TEMPLATE.iterdir()):
        target = folder / template.name.removesuffix(".tmpl")
        target.write_text(template.read_text().replace("__NAME__", name))
    return folder

"""Load the lab (config + languages), pick a backend per language, detect its variants, fetch what they lack,
build each. The steps before any run.

Languages are selected by name (`python`: every variant of it) or by variant (`python:pypy`), on the command
line and in an experiment's `langs`. From detection on, the unit is one variant, named by its key
(`python:pypy`, or `go` for a language's only variant).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from polylab.run.backends import Backend, BuildError, BuildOutcome, Detection, Target, get_backend
from polylab.run.backends.engine import find_engine
from polylab.config.experiments import BACKENDS, Config, Profile, load_config
from polylab.config.errors import ConfigError, UserError
from polylab.config.manifests import Language, survey
from polylab.console import say
from polylab.results.schema import split_key

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Lab:
    root: Path
    config: Config
    languages: dict[str, Language]
    build_root: Path
    broken: dict[str, ConfigError] = field(default_factory=dict)   # folder -> its error (only with keep_broken)

    def profile(self, name: str | None) -> Profile:
        """The profile to run (None: the default), once its experiments' `langs` are found to name only known
        languages and variants: a typo would quietly drop its runs. Only the profile run is checked, so that a
        langs/ without a folder another profile names (a scratch copy, a language removed) runs the others."""
        chosen = self.config.profile(name)
        folders = [*self.languages, *self.broken]
        for experiment in chosen.experiments:
            for lang in experiment.langs or ():
                problem = selection_problem(lang, self.languages, folders)
                if problem:
                    raise ConfigError(self.config.file, f"profile '{chosen.name}' / experiment '{experiment.name}'",
                                      "langs", problem)
        return chosen


@dataclass(frozen=True)
class Choice:
    """The backend chosen for one variant of a language, and the target (what it found, where it builds)."""

    backend: Backend
    target: Target
    build_root: Path

    @classmethod
    def of(cls, backend: Backend, language: Language, detection: Detection, build_root: Path) -> "Choice":
        return cls(backend, Target(language, detection, backend.build_dir(language, detection.variant, build_root)),
                   build_root)

    @property
    def language(self) -> Language:
        return self.target.language

    @property
    def detection(self) -> Detection:
        return self.target.detection

    @property
    def key(self) -> str:
        return self.detection.key


def langs_folder(root: Path = ROOT) -> Path:
    """langs/ of the repository, or $POLYLAB_LANGS (lets tests point the lab at a scratch copy)."""
    return Path(os.environ.get("POLYLAB_LANGS") or root / "langs")


def load_lab(config_path: str | None = None, langs_dir: str | None = None, root: Path = ROOT,
             keep_broken: bool = False) -> Lab:
    """The config and the languages. A broken language folder stops everything with its one line, unless
    keep_broken (doctor), which keeps the folders that load and lists the broken ones in `broken`."""
    path = Path(config_path) if config_path else root / "experiments.yaml"
    shown = str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else str(path)
    config = load_config(path, shown)
    folder = Path(langs_dir) if langs_dir else langs_folder(root)
    found = survey(folder, folder.parent)
    if not keep_broken:
        found.raise_first()
    return Lab(root=root, config=config, languages=found.languages, build_root=root / "build", broken=found.broken)


def selection_problem(name: str, languages: dict[str, Language], folders: list[str]) -> str | None:
    """What is wrong with naming `lang` or `lang:variant`: an unknown language, or a variant its manifest does
    not declare (a search variant's names are known only once found, so any name passes for those)."""
    lang, variant = split_key(name)
    if lang not in folders:
        return f"unknown language '{lang}'; known: {', '.join(folders)}"
    language = languages.get(lang)
    declared = [v.name for v in language.variants] if language else []
    if language and ":" in name and not language.searches and variant not in declared:
        return f"unknown variant '{name}'; {lang} has {', '.join(f'{lang}:{v}' for v in declared)}"
    return None


def parse_lang_list(text: str | None, flag: str = "--langs") -> list[str] | None:
    """`go,python:pypy` → its names; None (the flag left out) → None, which means every language. A flag given
    with no name at all (`--langs ""`) is refused rather than read as every language."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UserError(f"{flag} names no language: give some (e.g. {flag} go,python:pypy), or leave it out to run "
                        "every language")
    return names


def select_langs(lab: Lab, names: list[str] | None, flag: str = "--langs") -> list[str]:
    """Languages (`python`) and variants (`python:pypy`) to run, checked; every language when none is named."""
    if not names:
        return list(lab.languages)
    for name in names:
        problem = selection_problem(name, lab.languages, list(lab.languages))
        if problem:
            raise UserError(problem.replace(";", f" in {flag};", 1))
    return names


def _selected(detection: Detection, names: list[str]) -> bool:
    return detection.lang in names or detection.key in names


def _not_found(language: Language, name: str, found: list[Detection], backend: str) -> Detection:
    """A variant asked for by name that detection did not find (a JDK that is not installed here)."""
    template = next(v for v in language.variants if v.search)
    variant = replace(template, name=split_key(name)[1], search=())
    names = ", ".join(d.key for d in found if d.ok) or "none"
    return Detection(language.name, backend, variant, None, None, None,
                     problem=f"no installation named '{name}' found (found: {names})",
                     hint=" | ".join(t.install for t in template.toolchains))


def parse_images(values) -> dict[str, str]:
    """--image LANG=NAME (repeatable) into {lang: image}."""
    images = {}
    for value in values or []:
        lang, sep, image = value.partition("=")
        if not sep or not lang.strip() or not image.strip():
            raise UserError(f"--image expects LANG=IMAGE, got '{value}'")
        images[lang.strip()] = image.strip()
    return images


def choose(lab: Lab, names: list[str], backend: str | None = None, images: dict | None = None) -> list[Choice]:
    """Pick a backend per language: --backend > config `backends.<lang>` > config `backend` (auto); then one
    choice per selected variant, found or not (`names` as select_langs returns them).

    `auto` uses the container backend where an engine answers and the image is present, else local, and
    says so once. Nothing is pulled here: see fetch_absent."""
    if backend is not None and backend not in BACKENDS:
        raise UserError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if backend == "container" and find_engine() is None:
        raise UserError("--backend container: no container engine answers (docker or podman; DOCKER_HOST / "
                        "CONTAINER_HOST are honoured) — start one, or use --backend local or auto")
    images = {**lab.config.images, **(images or {})}
    langs = list(dict.fromkeys(split_key(name)[0] for name in names))
    wanted = {name: backend or lab.config.backends.get(name) or lab.config.backend for name in langs}
    container, local = get_backend("container", images), get_backend("local")
    engine_answers = find_engine() is not None
    if "auto" in wanted.values() and not engine_answers:
        say("no container engine answers (docker/podman): backend auto uses the local toolchains")
    choices, not_present = [], []
    for name in langs:
        language = lab.languages[name]
        chosen, found = local, None
        if wanted[name] == "container" or (wanted[name] == "auto" and engine_answers):
            found = container.detect(language)
            if wanted[name] == "container" or any(d.ok and not d.absent for d in found):
                chosen = container
            elif any(d.absent for d in found):
                not_present.append(name)
        found = found if chosen is container else local.detect(language)
        picked = [d for d in found if _selected(d, names)]
        picked += [_not_found(language, asked, found, chosen.name) for asked in names
                   if split_key(asked)[0] == name and ":" in asked and not any(d.key == asked for d in found)]
        choices += [Choice.of(chosen, language, detection, lab.build_root) for detection in picked]
    if not_present:
        say(f"backend auto: the images of {', '.join(not_present)} are not present here, so those use the local "
            f"toolchains (pull the images, or use --backend container, which pulls them)")
    return choices


def fetch_absent(choices: list[Choice]) -> list[Choice]:
    """Get what detection found absent (the container backend pulls its image) and detect again. Only the
    commands that build call this; `doctor` never does."""
    fetched = []
    for choice in choices:
        if choice.detection.absent:
            detection = choice.backend.fetch(choice.language, choice.detection)
            choice = Choice.of(choice.backend, choice.language, detection, choice.build_root)
        fetched.append(choice)
    return fetched


def usable(choices: list[Choice], strict: bool) -> list[Choice]:
    """Variants that cannot run are skipped with the install hint, or stop everything under --strict."""
    missing = [c for c in choices if not c.detection.ok]
    for choice in missing:
        message = f"{choice.key}: {choice.detection.problem} — {choice.detection.hint}"
        if strict:
            raise UserError(f"{message} (--strict makes a missing toolchain an error)")
        say(f"skipping {message}")
    return [c for c in choices if c.detection.ok]


def build_all(lab: Lab, choices: list[Choice]) -> dict[str, BuildOutcome | BuildError]:
    """Build each variant into its own folder; outcomes by variant key."""
    outcomes: dict[str, BuildOutcome | BuildError] = {}
    for choice in choices:
        try:
            outcome = choice.backend.build(choice.target)
        except BuildError as exc:
            say(f"{choice.key}: {exc}" + (f"\n{exc.log_tail.rstrip()}" if exc.log_tail.strip() else ""))
            outcomes[choice.key] = exc
            continue
        if outcome.compiled:
            say(f"{choice.key}: built with {choice.detection.toolchain} {choice.detection.version} "
                f"in {outcome.seconds:.1f} s → {_shown_path(outcome.build_dir, lab.root)}")
        else:
            say(f"{choice.key}: up to date (cached build, nothing compiled)")
        outcomes[choice.key] = outcome
    return outcomes


def _shown_path(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

"""Load the lab (config + languages), pick a backend per language, fetch what it lacks, build. The steps
before any run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from polylab.run.backends import Backend, BuildError, BuildOutcome, Detection, Target, get_backend
from polylab.run.backends.engine import find_engine
from polylab.config.experiments import BACKENDS, Config, load_config
from polylab.config.errors import ConfigError, UserError
from polylab.config.manifests import Language, survey
from polylab.console import say

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Lab:
    root: Path
    config: Config
    languages: dict[str, Language]
    build_root: Path
    broken: dict[str, ConfigError] = field(default_factory=dict)   # folder -> its error (only with keep_broken)


@dataclass(frozen=True)
class Choice:
    """The backend chosen for one language, and the target (what it found, where it builds) it works on."""

    backend: Backend
    target: Target

    @classmethod
    def of(cls, backend: Backend, language: Language, detection: Detection, build_root: Path) -> "Choice":
        return cls(backend, Target(language, detection, backend.build_dir(language, build_root)))

    @property
    def language(self) -> Language:
        return self.target.language

    @property
    def detection(self) -> Detection:
        return self.target.detection


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
    _check_experiment_langs(config, [*found.languages, *found.broken])
    return Lab(root=root, config=config, languages=found.languages, build_root=root / "build", broken=found.broken)


def _check_experiment_langs(config: Config, languages: list[str]) -> None:
    """An experiment's `langs` may only name known languages: a typo would quietly drop its runs."""
    for profile in config.profiles.values():
        for experiment in profile.experiments:
            unknown = [name for name in experiment.langs or () if name not in languages]
            if unknown:
                raise ConfigError(config.file, f"profile '{profile.name}' / experiment '{experiment.name}'", "langs",
                                  f"unknown language '{unknown[0]}'; known: {', '.join(languages)}")


def parse_lang_list(text: str | None) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


def select_langs(lab: Lab, names: list[str] | None, flag: str = "--langs") -> list[str]:
    if not names:
        return list(lab.languages)
    unknown = [name for name in names if name not in lab.languages]
    if unknown:
        raise UserError(f"unknown language '{unknown[0]}' in {flag}; known: {', '.join(lab.languages)}")
    return names


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
    """Pick a backend per language: --backend > config `backends.<lang>` > config `backend` (auto).

    `auto` uses the container backend where an engine answers and the image is present, else local, and
    says so once. Nothing is pulled here: see fetch_absent."""
    if backend is not None and backend not in BACKENDS:
        raise UserError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if backend == "container" and find_engine() is None:
        raise UserError("--backend container: no container engine answers (docker or podman; DOCKER_HOST / "
                        "CONTAINER_HOST are honoured) — start one, or use --backend local or auto")
    images = {**lab.config.images, **(images or {})}
    wanted = {name: backend or lab.config.backends.get(name) or lab.config.backend for name in names}
    container, local = get_backend("container", images), get_backend("local")
    engine_answers = find_engine() is not None
    if "auto" in wanted.values() and not engine_answers:
        say("no container engine answers (docker/podman): backend auto uses the local toolchains")
    choices, not_present = [], []
    for name in names:
        language = lab.languages[name]
        if wanted[name] == "container" or (wanted[name] == "auto" and engine_answers):
            found = container.detect(language)
            if wanted[name] == "container" or (found.ok and not found.absent):
                choices.append(Choice.of(container, language, found, lab.build_root))
                continue
            if found.absent:
                not_present.append(name)
        choices.append(Choice.of(local, language, local.detect(language), lab.build_root))
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
            choice = Choice(choice.backend, Target(choice.language, detection, choice.target.build_dir))
        fetched.append(choice)
    return fetched


def usable(choices: list[Choice], strict: bool) -> list[Choice]:
    """Languages that cannot run are skipped with the install hint, or stop everything under --strict."""
    missing = [c for c in choices if not c.detection.ok]
    for choice in missing:
        message = f"{choice.language.name}: {choice.detection.problem} — {choice.detection.hint}"
        if strict:
            raise UserError(f"{message} (--strict makes a missing toolchain an error)")
        say(f"skipping {message}")
    return [c for c in choices if c.detection.ok]


def build_all(lab: Lab, choices: list[Choice]) -> dict[str, BuildOutcome | BuildError]:
    outcomes: dict[str, BuildOutcome | BuildError] = {}
    for choice in choices:
        try:
            outcome = choice.backend.build(choice.target)
        except BuildError as exc:
            say(f"{choice.language.name}: {exc}" + (f"\n{exc.log_tail.rstrip()}" if exc.log_tail.strip() else ""))
            outcomes[choice.language.name] = exc
            continue
        if outcome.compiled:
            say(f"{choice.language.name}: built with {choice.detection.variant} {choice.detection.version} "
                f"in {outcome.seconds:.1f} s → {outcome.build_dir.relative_to(lab.root)}")
        else:
            say(f"{choice.language.name}: up to date (cached build, nothing compiled)")
        outcomes[choice.language.name] = outcome
    return outcomes

"""`crawler deploy`: scrapyd-deploy, run on a temporary copy of the source checkout.

scrapyd-deploy builds the egg with `setup.py bdist_egg` in the project folder: it writes a
setup.py there when there is none and leaves it, with build/ and *.egg-info, behind. This project
is pyproject-only (the `scrapy` entry point and the package data are declared in pyproject.toml),
so the copy gets those files and the checkout stays as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# What building the egg reads: the project metadata (its readme too), the deploy targets, the package.
PROJECT_FILES = ("pyproject.toml", "README.md", "scrapy.cfg")
PACKAGE = "crawler"


class DeployError(Exception):
    """The deployment cannot be built or sent; the message says what to do."""


def project_root(start: Path) -> Path:
    """The source checkout around `start`: the folder of the closest scrapy.cfg that also holds
    pyproject.toml and the package (an installed copy has no pyproject.toml to build from)."""
    for folder in (start, *start.parents):
        if (folder / "scrapy.cfg").is_file():
            if all((folder / name).is_file() for name in PROJECT_FILES) and (folder / PACKAGE).is_dir():
                return folder
            raise DeployError(
                f"{folder} has scrapy.cfg but not pyproject.toml, README.md and {PACKAGE}/: "
                "run `crawler deploy` in the project's source checkout"
            )
    raise DeployError("no scrapy.cfg here or above: run `crawler deploy` in the project's source checkout")


def copy_project(root: Path, destination: Path) -> None:
    """The files the egg is built from, without caches."""
    for name in PROJECT_FILES:
        shutil.copy2(root / name, destination / name)
    shutil.copytree(root / PACKAGE, destination / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def scrapyd_deploy_command() -> list[str]:
    """scrapyd-deploy of the running interpreter (the one whose setuptools builds the egg)."""
    try:
        import scrapyd_client.deploy  # noqa: F401
    except ImportError:
        raise DeployError("scrapyd-client is not installed: pip install scrapyd-client==2.0.3") from None
    return [sys.executable, "-m", "scrapyd_client.deploy"]


def deploy(
    start: Path,
    *,
    target: str = "default",
    project: str | None = None,
    version: str | None = None,
    build_egg: Path | None = None,
) -> int:
    """Run scrapyd-deploy (to `target` of scrapy.cfg, or only `--build-egg`) on a copy of the
    checkout around `start`; its messages go to the terminal, its exit status is returned."""
    root = project_root(start)
    command = scrapyd_deploy_command()
    if build_egg is not None:
        command += ["--build-egg", str(build_egg.resolve())]
    else:
        command.append(target)
        if project:
            command += ["--project", project]
        if version:
            command += ["--version", version]
    with tempfile.TemporaryDirectory(prefix="crawler-deploy-") as folder:
        copy = Path(folder)
        copy_project(root, copy)
        return subprocess.run(command, cwd=copy, check=False).returncode

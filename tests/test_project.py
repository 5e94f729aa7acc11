"""The project's promises to a new user: the README's two commands work and CI runs the second."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel

import meterlib
from meterlib._model import MeterlibModel
from meterlib.frames import MissingDependencyError

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash|console)\n(.+?)\n```", section)


def test_readme_opens_with_two_commands():
    assert len(_quick_start_commands()) == 2
    assert (
        README.index("## Quick start") < README.index("\n## ", README.index("# meterlib") + 1) + 5
    )


def test_ci_runs_exactly_the_readme_test_command():
    test_command = _quick_start_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_the_main_job_command_runs_on_the_shipped_example():
    main_job = _quick_start_commands()[0]
    # The install step is what the user runs once; the job itself is what follows it.
    job = main_job.split(" && ")[-1]
    argv = shlex.split(job)
    assert argv[0] == "meterlib"
    result = subprocess.run(  # noqa: S603  (our own CLI with arguments from our own README)
        [sys.executable, "-m", "meterlib", *argv[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_public_api_is_curated_sorted_and_importable():
    assert meterlib.__all__ == sorted(meterlib.__all__)
    missing = [name for name in meterlib.__all__ if not hasattr(meterlib, name)]
    assert missing == []


def test_every_public_name_has_one_lazy_home_and_one_typed_import():
    exports = meterlib._EXPORTS
    assert sorted(exports) == meterlib.__all__
    tree = ast.parse((ROOT / "src" / "meterlib" / "__init__.py").read_text(encoding="utf-8"))
    typed = {
        alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("meterlib")
        for alias in node.names
    }
    assert typed == exports


def test_import_meterlib_loads_no_heavy_module():
    # Start-up speed is measured in bench/bench_startup.py; this pins the cause structurally.
    code = (
        "import sys, meterlib; "
        "print(sorted(m for m in ('pydantic', 'babel', 'dateutil', 'decimal') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_version_comes_from_the_package_metadata():
    assert meterlib.__version__ == metadata.version("meterlib")
    result = subprocess.run(
        [sys.executable, "-m", "meterlib", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"meterlib {meterlib.__version__}"


def test_readme_links_work_on_a_package_index():
    # A package index shows the README without the repository beside it: every link is absolute,
    # and a link into this repository names a file that exists.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    home = project["project"]["urls"]["Repository"].rstrip("/")
    links = re.findall(r"\]\(([^)\s]+)\)", README) + re.findall(r'src="([^"]+)"', README)
    assert links
    assert [link for link in links if not link.startswith("https://")] == []
    for link in links:
        if link.startswith(f"{home}/blob/main/"):
            assert (ROOT / link.removeprefix(f"{home}/blob/main/")).is_file(), link


def test_license_and_metadata_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert set(project["urls"]) >= {"Homepage", "Documentation", "Repository", "Changelog"}


def _meterlib_modules() -> list[str]:
    """Every meterlib module this environment can import (an absent extra's modules are left out:
    their own CI step installs the extra and runs these checks with them)."""
    found = []
    for info in pkgutil.walk_packages(meterlib.__path__, "meterlib."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except MissingDependencyError:
            continue
        found.append(info.name)
    return found


def test_no_class_name_is_used_twice_in_the_public_surface():
    homes: dict[str, list[str]] = {}
    for name in _meterlib_modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and not attribute.startswith("_")
                and value.__module__ == module.__name__
            ):
                homes.setdefault(attribute, []).append(module.__name__)
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}


def test_no_private_name_is_imported_across_modules():
    found: list[str] = []
    for path in sorted((ROOT / "src" / "meterlib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("meterlib"):
                found.extend(
                    f"{path.relative_to(ROOT)}: {alias.name} from {node.module}"
                    for alias in node.names
                    if alias.name.startswith("_")
                )
    # The renderers are being moved out of the domain packages (issue 14, point 6), which
    # removes this last one; until then it is the only exception.
    assert [line for line in found if "_Fmt from meterlib.backbill.render" not in line] == []


def test_every_pydantic_model_raises_meterlib_errors():
    # Building or validating any model must raise meterlib's DocumentError, never pydantic's
    # ValidationError: every model derives from MeterlibModel, which translates at the boundary.
    stray = []
    for name in _meterlib_modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
                and not issubclass(value, MeterlibModel)
            ):
                stray.append(f"{name}.{attribute}")
    assert stray == []


def test_the_test_extra_holds_what_the_readme_command_uses_and_nothing_benchmark_only():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower() for spec in extras["test"]}
    command = _quick_start_commands()[1]
    if " -n " in f"{command} ":  # tests run in parallel: pytest-xdist is installed by the command
        assert "pytest-xdist" in names
    # Benchmark-only contenders and the Spark path stay out of the light environment.
    assert names.isdisjoint({"polars", "bframelib", "pyspark"})
    assert {"polars"} <= {re.split(r"[<>=!~\[ ;]", s, maxsplit=1)[0] for s in extras["bench"]}

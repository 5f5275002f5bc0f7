"""The install locks: requirements.txt (runtime) and requirements-dev.txt (runtime + tests and lint),
compiled by ``.ci/lock`` (pip-compile) from the ranges in pyproject.toml.

Every package is pinned with ``==`` so that no release changes the app under a user (Streamlit 1.67's
selectbox is another widget than 1.40's); torch is the CPU build's version, and no CUDA package
(nvidia-*, triton) slipped in through a CUDA torch wheel.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.txt", "requirements-dev.txt")
TORCH = "2.13.0"
# What the app and its browser tests (tests/e2e: the selectbox as a react-aria combobox) were written for.
CHECKED_INSTALLED = ("streamlit", "playwright", "pytest-playwright", "torch")


@cache
def lock(name: str) -> dict[str, Requirement]:
    """Package name -> requirement of every requirement line (comments and pip-compile's ``# via``
    notes skipped; no options such as -r, -c, --index-url allowed)."""
    reqs: dict[str, Requirement] = {}
    for number, raw in enumerate((REPO / name).read_text().splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"{name}:{number}: pip option {line!r} (the lock holds only pins)"
        req = Requirement(line)
        key = canonicalize_name(req.name)
        assert key not in reqs, f"{name}:{number}: {req.name} twice"
        reqs[key] = req
    assert reqs, f"{name} holds no requirement"
    return reqs


def pin(req: Requirement) -> str:
    (spec,) = req.specifier
    return spec.version


@cache
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("name", LOCKS)
def test_every_requirement_is_pinned_exactly(name):
    for req in lock(name).values():
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{name}: {req} is not pinned with =="
        assert "*" not in specs[0].version, f"{name}: {req}: a wildcard is no pin"
        assert not req.url and not req.extras, f"{name}: {req}: plain name==version only"


@pytest.mark.parametrize("name", LOCKS)
def test_torch_is_the_cpu_version_and_no_cuda_package_is_locked(name):
    reqs = lock(name)
    assert str(reqs["torch"].specifier) == f"=={TORCH}", "torch==2.13.0 (no +cpu: the CUDA image's torch matches too)"
    cuda = [str(r) for key, r in reqs.items() if key.startswith("nvidia-") or key in ("triton", "pytorch-triton")]
    assert not cuda, f"{name}: CUDA packages locked (torch resolved to a CUDA wheel): {cuda}"


@pytest.mark.parametrize(("name", "group"), [("requirements.txt", None), ("requirements-dev.txt", "dev")])
def test_every_direct_requirement_is_locked_within_its_range(name, group):
    direct = [Requirement(r) for r in pyproject()["dependencies"]]
    if group:
        direct += [Requirement(r) for r in pyproject()["optional-dependencies"][group]]
    reqs = lock(name)
    for want in direct:
        key = canonicalize_name(want.name)
        assert key in reqs, f"{name}: {want.name} (pyproject.toml) is not in the lock: run .ci/lock"
        assert want.specifier.contains(pin(reqs[key]), prereleases=True), (
            f"{name}: {reqs[key]} is outside pyproject.toml's {want}: run .ci/lock"
        )
    assert str(Requirement(next(r for r in pyproject()["dependencies"] if r.startswith("torch"))).specifier) == (
        f"=={TORCH}"
    )


def test_dev_lock_keeps_the_runtime_pins():
    runtime, dev = lock("requirements.txt"), lock("requirements-dev.txt")
    assert runtime.keys() <= dev.keys()
    assert {k: pin(runtime[k]) for k in runtime} == {k: pin(dev[k]) for k in runtime}


def test_locks_name_the_command_that_regenerates_them():
    for name in LOCKS:
        head = (REPO / name).read_text().splitlines()[:6]
        assert any(".ci/lock" in line and "pip-compile" in line for line in head), f"{name}: {head}"
    assert (REPO / ".ci" / "lock").stat().st_mode & 0o111, ".ci/lock must be executable"


def test_installs_use_the_locks():
    assert re.search(r"pip install .*-r requirements-dev\.txt", (REPO / ".ci" / "run").read_text())
    assert "pip install -r requirements.txt" in (REPO / "Dockerfile").read_text()


@pytest.mark.parametrize("package", CHECKED_INSTALLED)
def test_installed_versions_match_the_lock(package):
    """What runs here is what the lock says (``.ci/run`` installs requirements-dev.txt first)."""
    try:
        installed = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{package} is not installed: pip install -r requirements-dev.txt")
    locked = pin(lock("requirements-dev.txt")[canonicalize_name(package)])
    assert installed.split("+", 1)[0] == locked, f"{package} {installed} installed, {locked} locked"

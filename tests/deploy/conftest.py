"""Shared fixtures of the deployment tests: paths, the settings each binary
reads (from its own --help), and rendering a chart with the real Helm engine."""
import os
import pathlib
import re
import subprocess

import helm_python as helm
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
# Kubernetes versions every rendered object is validated against: the
# oldest the charts support (kubeVersion >= 1.33) and a recent one.
KUBE_VERSIONS = ["1.33.0", "1.36.0"]


def binary(name: str) -> pathlib.Path:
    path = TARGET / "debug" / name
    assert path.exists(), f"{path} missing: run `cargo build --workspace --bins` first"
    return path


def env_settings(*command: str) -> set:
    """Environment variables a clap binary reads, from its --help."""
    out = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\[env:\s+([A-Z0-9_]+)[=\]]", out))


@pytest.fixture(scope="session")
def api_settings() -> set:
    return env_settings(str(binary("vectadb")))


@pytest.fixture(scope="session")
def operator_settings() -> set:
    return env_settings(str(binary("vectadb-operator")))


def manifests(chart: str, values: dict, namespace: str = "observability") -> dict:
    """What the real Helm engine renders for `values`, by template path."""
    with helm.Chart.load(str(CHARTS / chart)) as loaded:
        return loaded.render(values, name="rel", namespace=namespace, is_install=True)


def render(chart: str, values: dict, namespace: str = "observability") -> list:
    """Every object the chart renders with `values` (NOTES.txt left out)."""
    objects = []
    for path, text in sorted(manifests(chart, values, namespace).items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def notes(chart: str, values: dict) -> str:
    return next(text for path, text in manifests(chart, values).items() if path.endswith("NOTES.txt"))


def by_kind(objects: list, kind: str) -> list:
    return [o for o in objects if o["kind"] == kind]

"""The package metadata says what the brief says."""
import pathlib
import sys

import pytest

import hospital_sdk

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is 3.11+")
def test_pyproject():
    import tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    assert project["name"] == "hospital-open-sdk"
    assert project["requires-python"] == ">=3.10"
    assert [d.split(">")[0].split("=")[0] for d in project["dependencies"]] == ["requests"]
    assert data["build-system"]["build-backend"] == "setuptools.build_meta"
    assert data["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "hospital_sdk.__version__"


def test_public_names():
    for name in ("OpenApiClient", "OpenApiError", "AuthenticationError", "RateLimited",
                 "ValidationError", "NotFound", "ServerError", "Department", "Doctor",
                 "Schedule", "canonical_request", "sign"):
        assert name in hospital_sdk.__all__ and hasattr(hospital_sdk, name)

"""Names, paths and the base model the blueprint's sections share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lares import hostpaths

NAME_RE = r"^[a-z0-9][a-z0-9-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_RE)]
Exposure = Literal["none", "lan", "public"]


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must be an absolute path (start with /)")
    return value.rstrip("/") or "/"


def _relative(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"{value!r} must be a path relative to the pool, without '..'")
    return value.strip("/")


def _root(value: str) -> str:
    problem = hostpaths.root_problem(value)
    if problem:
        raise ValueError(problem)
    return hostpaths.normal(value)


def device_path(value: str) -> str:
    problem = hostpaths.device_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _host_paths(value: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, reason in value.items():
        problem = hostpaths.declared_problem(path)
        if problem:
            raise ValueError(f"host_paths: {problem}")
        if len(reason.strip()) < 10:
            raise ValueError(f"host_paths: {path} needs a one-line reason")
        out[hostpaths.normal(path)] = reason
    return out


AbsPath = Annotated[str, AfterValidator(_absolute)]
RelPath = Annotated[str, AfterValidator(_relative)]
#: A folder the blueprint builds on: absolute, without '..', never a system folder.
RootPath = Annotated[str, AfterValidator(_root)]
#: Host paths outside the blueprint's roots that a container may mount, each with a reason.
HostPaths = Annotated[dict[str, str], AfterValidator(_host_paths)]


class Model(BaseModel):
    """Base of every blueprint object: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

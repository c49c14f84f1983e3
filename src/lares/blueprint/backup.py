"""The blueprint's backups: restic repositories, retention, checks and restore drills."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from lares import hostpaths
from lares.blueprint.fields import NAME_RE, Model, Name

# ── backup ─────────────────────────────────────────────────────────────────────────────────


class Retention(Model):
    keep_last: int | None = Field(None, ge=1)
    keep_daily: int = Field(7, ge=0)
    keep_weekly: int = Field(4, ge=0)
    keep_monthly: int = Field(12, ge=0)
    keep_yearly: int = Field(0, ge=0)


#: An environment variable name, as restic's backends read them (``AWS_SECRET_ACCESS_KEY``).
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
#: A restic extended option (``-o``): ``backend.option``, e.g. ``s3.storage-class``.
OPTION_RE = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9._-]*$")
#: What lares itself gives restic: the repository, its password (a file) and the other
#: repository of a copy. None of these may come from a repository's env or secret_env.
RESERVED_ENV = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_FROM_", "RESTIC_CACHE_DIR")


def _backend_env_names(values: Mapping[str, Any], key: str) -> None:
    for var in values:
        if not ENV_NAME_RE.match(var):
            raise ValueError(
                f"{key}: {var!r} is not an environment variable name "
                "(upper-case letters, digits and _, e.g. AWS_SECRET_ACCESS_KEY)"
            )
        if var.startswith("RESTIC_PASSWORD"):
            raise ValueError(
                f"{key}: {var} cannot be set here: lares keeps each repository's password as "
                "the secret restic_<repository> and gives it to restic as a file"
            )
        if var.startswith(RESERVED_ENV):
            raise ValueError(f"{key}: {var} is set by lares itself")


class Repository(Model):
    """A restic repository, and what its backend needs: environment, secrets and options.

    restic's backends read their settings and credentials from the environment. ``env`` holds
    the values that are not secret (a region, an endpoint); ``secret_env`` names, for each
    secret variable, the lares secret that holds its value (``lares secret set NAME``): it is
    read when restic runs and reaches restic only through its environment, never its
    arguments or a log. ``options`` are restic's extended options (``-o key=value``), given to
    every restic command on the repository; they are visible in the process list, so they
    never carry a secret.
    """

    url: str = Field(description="a restic repository: a path, sftp:, s3:, b2:, rest:, rclone:")
    schedule: str = Field("daily", description="systemd OnCalendar expression")
    copy_from: Name | None = Field(None, description="fill this repository with restic copy")
    retention: Retention | None = None
    env: dict[str, str] = Field(
        default_factory=dict,
        description="non-secret environment for the backend (e.g. AWS_DEFAULT_REGION: eu-west-1)",
    )
    secret_env: dict[str, str] = Field(
        default_factory=dict,
        description="secret environment for the backend: variable → the name of the lares "
        "secret holding its value (e.g. AWS_SECRET_ACCESS_KEY: offsite-s3-key), "
        "set with `lares secret set NAME`",
    )
    options: dict[str, str] = Field(
        default_factory=dict,
        description="restic extended options, passed as -o key=value to every restic command "
        "on this repository (e.g. sftp.command, s3.storage-class); never secrets",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        known = ("/", "sftp:", "s3:", "b2:", "rest:", "rclone:", "azure:", "gs:", "swift:")
        if not value.startswith(known):
            raise ValueError(
                f"{value!r} is not a restic repository; use an absolute path or one of "
                "sftp:, s3:, b2:, rest:, rclone:, azure:, gs:, swift:"
            )
        if value.startswith("/"):
            problem = hostpaths.root_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("env", "secret_env")
    @classmethod
    def _env_names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        _backend_env_names(value, str(info.field_name))
        if info.field_name == "secret_env":
            for var, name in value.items():
                if not re.match(NAME_RE, name):
                    raise ValueError(
                        f"secret_env: {var}: {name!r} is not a secret name "
                        "(lower-case letters, digits and -, e.g. offsite-s3-key)"
                    )
        return value

    @field_validator("options")
    @classmethod
    def _option_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not OPTION_RE.match(key):
                raise ValueError(
                    f"{key!r} is not a restic option; options are backend.name "
                    "(e.g. sftp.command, s3.storage-class)"
                )
            if any(c in text for c in "\n\r\0"):
                raise ValueError(f"the value of option {key} must be one line")
        return value

    @model_validator(mode="after")
    def _env_or_secret(self) -> Repository:
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise ValueError(
                f"{', '.join(both)} is both in env and in secret_env; "
                "keep a secret value only in secret_env"
            )
        return self

    def backend_env(self) -> dict[str, tuple[str, str]]:
        """Each backend variable → ("env", value) or ("secret", secret name)."""
        out = {var: ("env", value) for var, value in self.env.items()}
        out |= {var: ("secret", name) for var, name in self.secret_env.items()}
        return out


def shared_run_conflicts(a: Repository, b: Repository) -> list[str]:
    """What ``a`` and ``b`` set differently although restic runs with one environment and one
    set of options for both (``restic copy``, ``init --copy-chunker-params``)."""
    out: list[str] = []
    env_a, env_b = a.backend_env(), b.backend_env()
    for var in sorted(set(env_a) & set(env_b)):
        if env_a[var] != env_b[var]:
            out.append(var)
    for key in sorted(set(a.options) & set(b.options)):
        if a.options[key] != b.options[key]:
            out.append(f"option {key}")
    return out


class DrillQuery(Model):
    """A question a restored database must answer exactly, e.g. that the admin account is there."""

    db: Name | None = Field(
        None,
        description="which of the app's databases, as backup reports name it (db:<this>): its "
        "container, or container-file when a container holds several; needed when the app "
        "backs up more than one",
    )
    database: str | None = Field(None, description="the database to connect to, if not the default")
    sql: str = Field(min_length=1, description="a read-only query")
    expect: list[str] = Field(
        description="the rows it must return, one string per row, columns joined by | "
        "(as `psql -At`, `mariadb --batch` and the sqlite3 shell print them)"
    )


class Drill(Model):
    schedule: str = "monthly"
    repository: Name | None = None
    queries: dict[Name, list[DrillQuery]] = Field(
        default_factory=dict,
        description="per app id: queries its restored databases must answer, beside the row "
        "counts every drill compares",
    )


class Check(Model):
    schedule: str = "weekly"
    read_data_subset: str = Field("5%", pattern=r"^(\d{1,3}%|\d+/\d+)$")


SNAPSHOTS_WHEN = ("before-backup", "off")


class Backup(Model):
    snapshots: Annotated[
        Literal["before-backup"] | None,
        WithJsonSchema({"enum": [*SNAPSHOTS_WHEN, None]}),
    ] = Field(
        "before-backup",
        description="before-backup: every backup run first takes read-only btrfs snapshots of "
        "the folders it backs up and reads them, so files and databases are saved as of one "
        "moment; off (or null): the live folders are read",
    )
    repositories: dict[Name, Repository] = Field(default_factory=dict)
    retention: Retention = Retention()
    snapshot_retention: int = Field(7, ge=0, description="read-only snapshots kept on the pool")
    check: Check = Check()
    drill: Drill = Drill()

    @field_validator("snapshots", mode="before")
    @classmethod
    def _snapshots_when(cls, value: Any) -> Any:
        if value is None or value is False or value == "off":
            return None
        if value == "before-backup":
            return value
        text = value.strip() if isinstance(value, str) else ""
        if text.lower() in ("hourly", "daily", "weekly", "monthly") or re.match(
            r"^([A-Za-z]{3}\S* )?\*-", text
        ):
            raise ValueError(
                f"{value!r} is a schedule, but snapshots have none of their own: every backup "
                "run takes them first, at the repositories' schedules; write before-backup, "
                "or off"
            )
        raise ValueError(f"{value!r} is not one of {', '.join(SNAPSHOTS_WHEN)}")

    @model_validator(mode="after")
    def _copy_sources_exist(self) -> Backup:
        for name, repo in self.repositories.items():
            if repo.copy_from is not None and repo.copy_from not in self.repositories:
                raise ValueError(
                    f"repository {name!r} copies from {repo.copy_from!r}, which is not defined"
                )
            if repo.copy_from == name:
                raise ValueError(f"repository {name!r} cannot copy from itself")
            if repo.copy_from is not None:
                clash = shared_run_conflicts(repo, self.repositories[repo.copy_from])
                if clash:
                    raise ValueError(
                        f"repository {name!r} copies from {repo.copy_from!r}, but they set "
                        f"{', '.join(clash)} differently; restic copy runs with one environment "
                        "and one set of options for both repositories"
                    )
        if self.drill.repository and self.drill.repository not in self.repositories:
            raise ValueError(f"drill repository {self.drill.repository!r} is not defined")
        return self

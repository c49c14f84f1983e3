"""The blueprint's monitor section: notification targets and thresholds."""

from __future__ import annotations

from pydantic import Field, model_validator

from lares.blueprint.fields import Model, Name
from lares.units import Duration

# ── monitor ────────────────────────────────────────────────────────────────────────────────


class Notify(Model):
    """Where alerts go: an Apprise URL, or the name of a secret file holding one."""

    url: str | None = None
    secret: Name | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Notify:
        if (self.url is None) == (self.secret is None):
            raise ValueError("give either url or secret")
        return self


class Thresholds(Model):
    disk_warn: float = Field(80, gt=0, le=100)
    disk_crit: float = Field(90, gt=0, le=100)
    drive_temp_warn: float = 45
    drive_temp_crit: float = 55
    cpu_temp_warn: float = 80
    cert_days: int = Field(14, ge=1)
    forecast_days: float = Field(7, gt=0, description="alert when a disk is full in fewer days")
    restart_loop: int = Field(3, ge=1, description="restarts within the window that alert")
    pending_samples: int = Field(2, ge=1, description="samples a problem must last to fire")
    repeat: Duration = 6 * 3600

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.disk_crit < self.disk_warn:
            raise ValueError("disk_crit must not be below disk_warn")
        if self.drive_temp_crit < self.drive_temp_warn:
            raise ValueError("drive_temp_crit must not be below drive_temp_warn")
        return self


class Monitor(Model):
    interval: Duration = 30
    intervals: dict[str, Duration] = Field(
        default_factory=dict, description="per collector, e.g. smart: 1h, http: 1m"
    )
    notify: tuple[Notify, ...] = ()
    thresholds: Thresholds = Thresholds()
    history_days: int = Field(90, ge=1)

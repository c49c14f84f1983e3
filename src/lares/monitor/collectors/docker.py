"""Containers: state, health, restarts, OOM kills, CPU and memory of every lares container.

Containers are the ones labelled ``io.lares.stack`` (what ``lares up`` creates), read into the
same :class:`~lares.deploy.status.ContainerState` that ``lares ps`` prints. Inside ``lares
watch`` a :class:`ContainerWatch` follows the Docker event stream in a thread and re-reads a
container only when an event names it, so a quiet host costs no API calls; each event also wakes
the loop, so a container that dies is seen within seconds rather than at the next interval.
``lares status`` reads everything once. The old container Compose renames and removes while it
recreates one (``<id>_<name>``) is not reported: it is being replaced, not failing.

CPU and memory come from the containers' cgroup files (v1 or v2) when this process can see
them, else from one-shot stats. Memory is usage minus inactive file cache, as ``docker stats``
shows it; CPU is the percentage of one core since the previous reading (absent on the first).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lares.monitor.collectors import Context
from lares.monitor.rules import Condition, Inputs, rule
from lares.monitor.sample import Sample

if TYPE_CHECKING:
    from lares.deploy.status import ContainerState
    from lares.dockerapi import DockerAPI
    from lares.monitor.config import WatchConfig

ID = "docker"
DEFAULT_INTERVAL: float | None = None
LABEL = "io.lares.stack"
EVENTS = (
    "create",
    "start",
    "restart",
    "die",
    "stop",
    "kill",
    "oom",
    "destroy",
    "health_status",
    "pause",
    "unpause",
    "update",
    "rename",
)
CGROUP_ROOT = "/sys/fs/cgroup"


def collect(ctx: Context) -> list[Sample]:
    from lares.dockerapi import DockerAPI

    memo = ctx.memo(ID)
    if ctx.watching:
        watch: ContainerWatch | None = memo.get("watch")
        if watch is None:
            wake = ctx.wake
            watch = ContainerWatch(
                DockerAPI(ctx.config.docker_host),
                on_change=(lambda: wake(ID)) if wake is not None else None,
            )
            watch.start()
            memo["watch"] = watch
            ctx.on_close(watch.stop)
        containers, ooms = watch.snapshot()
        api = watch.api
    else:
        api = DockerAPI(ctx.config.docker_host)
        ctx.on_close(api.close)
        containers = read_all(api)
        ooms = past_ooms(api, time.time())
    usage: Usage = memo.setdefault("usage", Usage())
    items = list(containers.items())
    readings = usage.read(api, [data for _, data in items], time.monotonic())
    states = [state_of(data) for _, data in items]
    pairs = list(zip(states, items, strict=True))
    names = {ident: state.name for state, (ident, _) in pairs}
    return samples(
        states,
        ctx.config,
        usage={state.name: r for state, r in zip(states, readings, strict=True)},
        limits={
            state.name: float((data.get("HostConfig") or {}).get("Memory") or 0)
            for state, (_, data) in pairs
        },
        health_logs={state.name: _health_output(data) for state, (_, data) in pairs},
        oom_at={names[ident]: at for ident, at in ooms.items() if ident in names},
    )


OOM_LOOKBACK = 3600.0


def past_ooms(api: DockerAPI, until: float) -> dict[str, float]:
    """When each lares container was last OOM-killed in the hour before ``until``, by id.

    Docker's ``State.OOMKilled`` flag is set only when the daemon hears of the kill before the
    exit, which it does not always (moby#18510, #41929); the ``oom`` event it keeps is reliable.
    """
    last: dict[str, float] = {}
    stream = api.events(
        since=until - OOM_LOOKBACK,
        until=until,
        filters={"type": ["container"], "label": [LABEL], "event": ["oom"]},
    )
    for event in stream:
        ident = _event_id(event)
        if ident:
            last[ident] = max(last.get(ident, 0.0), _event_time(event))
    return last


def _event_id(event: Mapping[str, Any]) -> str:
    return str(event.get("id") or (event.get("Actor") or {}).get("ID") or "")


def _event_time(event: Mapping[str, Any]) -> float:
    nano = event.get("timeNano")
    return nano / 1e9 if isinstance(nano, int) else float(event.get("time") or time.time())


def state_of(data: dict[str, Any]) -> ContainerState:
    """A :class:`ContainerState` from raw ``docker inspect`` data, as ``lares ps`` reads it."""
    from lares.deploy.status import container_state

    return container_state(data)


def read_all(api: DockerAPI) -> dict[str, dict[str, Any]]:
    """Inspect data of every lares container, by id."""
    found: dict[str, dict[str, Any]] = {}
    for summary in api.containers(LABEL):
        data = api.inspect(summary["Id"])
        if data is not None:
            found[summary["Id"]] = data
    return found


class ContainerWatch:
    """Keeps the inspect data of every lares container current by following Docker events.

    A thread lists the containers, then follows ``/events`` from the moment before the list
    (so nothing between the two is lost) and re-inspects the container each event names. When
    the daemon goes away the thread retries with a growing pause (up to 30 s) and
    :meth:`snapshot` raises :class:`~lares.dockerapi.EngineDown` meanwhile.
    """

    def __init__(self, api: DockerAPI, on_change: Callable[[], None] | None = None) -> None:
        self.api = api
        self._on_change = on_change or (lambda: None)
        self._lock = threading.Lock()
        self._containers: dict[str, dict[str, Any]] = {}
        self._ooms: dict[str, float] = {}
        self._error: str | None = "not connected yet"
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name="lares-docker-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def snapshot(self, timeout: float = 10.0) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
        """(inspect data by id, time of the last OOM kill by id); raises while the daemon is
        away."""
        from lares.dockerapi import HINT, EngineDown

        self._ready.wait(timeout)
        with self._lock:
            if self._error is not None:
                raise EngineDown(self._error, hint=HINT)
            return dict(self._containers), dict(self._ooms)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        self._thread.join(timeout=5)
        self.api.close()

    def _run(self) -> None:
        from lares.dockerapi import EngineDown

        pause = 1.0
        while not self._stop.is_set():
            try:
                since = time.time()
                ooms = past_ooms(self.api, since)
                containers = read_all(self.api)
                stream = self.api.events(
                    since=since,
                    filters={"type": ["container"], "label": [LABEL], "event": list(EVENTS)},
                )
                with self._lock:
                    self._containers, self._error, self._stream = containers, None, stream
                    self._ooms = ooms
                    stopping = self._stop.is_set()
                if stopping:  # stop() came between the list and the stream: it saw no stream
                    stream.close()
                self._ready.set()
                self._on_change()
                pause = 1.0
                for event in stream:
                    self._apply(event)
                if self._stop.is_set():
                    break
                raise EngineDown("the Docker event stream ended: the daemon stopped or restarted")
            except EngineDown as exc:
                with self._lock:
                    self._error, self._stream = exc.message, None
                self._ready.set()
                self._on_change()
                self._stop.wait(pause)
                pause = min(pause * 2, 30.0)

    def _apply(self, event: Mapping[str, Any]) -> None:
        ident = _event_id(event)
        action = str(event.get("Action") or event.get("status") or "")
        if not ident:
            return
        data = None if action == "destroy" else self.api.inspect(ident)
        with self._lock:
            if data is None:
                self._containers.pop(ident, None)
                self._ooms.pop(ident, None)
            else:
                self._containers[ident] = data
            if action == "oom":
                self._ooms[ident] = _event_time(event)
        self._on_change()


class Usage:
    """CPU and memory readings per container, remembering the last CPU counter for rates."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[str, str, str, bool] | None] = {}
        self._last: dict[str, tuple[float, int]] = {}

    def read(
        self, api: DockerAPI, containers: Iterable[Mapping[str, Any]], now: float
    ) -> list[tuple[float | None, float | None]]:
        """(CPU percent of one core, memory bytes) per container, in order; None when unknown."""
        out: list[tuple[float | None, float | None]] = []
        seen: set[str] = set()
        for data in containers:
            ident = str(data.get("Id", ""))
            seen.add(ident)
            state = data.get("State") or {}
            if not state.get("Running"):
                self._last.pop(ident, None)
                out.append((None, None))
                continue
            reading = self._from_cgroup(ident, int(state.get("Pid") or 0))
            if reading is None:
                reading = _from_stats(api.stats(ident))
            cpu_ns, memory = reading
            percent = None
            last = self._last.get(ident)
            if cpu_ns is not None:
                if last is not None and now > last[0] and cpu_ns >= last[1]:
                    percent = round(100.0 * (cpu_ns - last[1]) / ((now - last[0]) * 1e9), 2)
                self._last[ident] = (now, cpu_ns)
            out.append((percent, memory))
        for gone in set(self._files) - seen:
            self._files.pop(gone, None)
            self._last.pop(gone, None)
        return out

    def _from_cgroup(self, ident: str, pid: int) -> tuple[int | None, float | None] | None:
        if ident not in self._files:
            self._files[ident] = cgroup_files(pid) if pid else None
        files = self._files[ident]
        if files is None:
            return None
        cpu_file, usage_file, stat_file, v2 = files
        try:
            cpu_text = _read(cpu_file)
            usage = int(_read(usage_file))
            stat = _read(stat_file)
        except (OSError, ValueError):
            self._files[ident] = None
            return None
        return parse_cgroup(cpu_text, usage, stat, v2=v2)


def _read(path: str) -> str:
    with open(path, encoding="ascii") as fh:
        return fh.read()


def cgroup_files(pid: int, root: str = CGROUP_ROOT) -> tuple[str, str, str, bool] | None:
    """(cpu file, memory usage file, memory.stat, is v2) of the cgroup ``pid`` lives in.

    None when ``/proc/<pid>/cgroup`` is out of sight (another PID namespace) or names folders
    that do not exist here (another cgroup namespace).
    """
    try:
        text = _read(f"/proc/{pid}/cgroup")
    except OSError:
        return None
    v1: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            folder = f"{root}{path}" if os.path.isdir(f"{root}/cgroup.controllers") else None
            if folder and os.path.exists(f"{folder}/cpu.stat"):
                return (
                    f"{folder}/cpu.stat",
                    f"{folder}/memory.current",
                    f"{folder}/memory.stat",
                    True,
                )
        for controller in controllers.split(","):
            v1[controller] = path
    if "cpuacct" in v1 and "memory" in v1:
        for mount in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
            cpu = f"{root}/{mount}{v1['cpuacct']}/cpuacct.usage"
            if os.path.exists(cpu):
                memory = f"{root}/memory{v1['memory']}"
                if os.path.exists(f"{memory}/memory.usage_in_bytes"):
                    return cpu, f"{memory}/memory.usage_in_bytes", f"{memory}/memory.stat", False
    return None


def parse_cgroup(cpu: str, usage: int, stat: str, *, v2: bool) -> tuple[int | None, float]:
    """(CPU time in ns, memory in use) from cgroup file contents.

    v2: ``cpu.stat`` ``usage_usec`` and ``memory.stat`` ``inactive_file``; v1: ``cpuacct.usage``
    (ns) and ``total_inactive_file``.
    """
    cpu_ns: int | None = None
    if v2:
        for line in cpu.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                cpu_ns = int(value) * 1000
    elif cpu.strip().isdigit():
        cpu_ns = int(cpu.strip())
    inactive_key = "inactive_file" if v2 else "total_inactive_file"
    inactive = 0
    for line in stat.splitlines():
        key, _, value = line.partition(" ")
        if key == inactive_key and value.strip().isdigit():
            inactive = int(value)
    return cpu_ns, float(max(usage - inactive, 0))


def _from_stats(stats: Mapping[str, Any] | None) -> tuple[int | None, float | None]:
    if not stats:
        return None, None
    cpu = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    details = memory.get("stats") or {}
    inactive = details.get("inactive_file", details.get("total_inactive_file", 0)) or 0
    return (
        int(cpu) if isinstance(cpu, int) else None,
        float(max(usage - inactive, 0)) if isinstance(usage, int) else None,
    )


def _health_output(data: Mapping[str, Any]) -> str:
    log = ((data.get("State") or {}).get("Health") or {}).get("Log") or []
    if not log:
        return ""
    last = log[-1]
    text = " ".join(str(last.get("Output") or "").split())
    return f"exit {last.get('ExitCode')}: {text[:200]}" if text else f"exit {last.get('ExitCode')}"


def role_of(service: str, config: WatchConfig) -> str:
    """``database`` or ``proxy`` for the containers other alerts depend on, else ``""``."""
    if service in config.databases:
        return "database"
    if config.proxy is not None and service == config.proxy:
        return "proxy"
    return ""


#: Compose renames a container it recreates to ``<first 12 hex digits of its id>_<name>`` while
#: it creates the replacement, then removes it (docker/compose ``convergence.go``).
_REPLACED = re.compile(r"^[0-9a-f]{12}_(?P<name>.+)$")


def replaced(c: ContainerState) -> bool:
    """Whether ``c`` is the old container Compose is replacing: it is on its way out, and its
    state (stopped, renamed) says nothing about the app."""
    match = _REPLACED.match(c.name)
    return match is not None and match.group("name") in (c.service, f"{c.stack}-{c.service}-1")


def samples(
    states: Iterable[ContainerState],
    config: WatchConfig,
    *,
    usage: Mapping[str, tuple[float | None, float | None]] | None = None,
    limits: Mapping[str, float] | None = None,
    health_logs: Mapping[str, str] | None = None,
    oom_at: Mapping[str, float] | None = None,
) -> list[Sample]:
    """Samples of every container; a container the deployed apps need and Docker lacks is
    ``state`` ``missing``. Subjects are container names (the Compose service names)."""
    usage = usage or {}
    limits = limits or {}
    health_logs = health_logs or {}
    oom_at = oom_at or {}
    out = [Sample(ID, "engine", "up", 1.0, "up")]
    seen: set[str] = set()
    for c in states:
        if replaced(c):
            continue
        seen.add(c.name)
        app = c.app or (a.id if (a := config.app_of_service(c.name)) else "")
        labels = {
            "stack": c.stack,
            "app": app,
            "service": c.service,
            "role": role_of(c.name, config),
            "image": c.image,
        }
        detail = f"exit code {c.exit_code}" if c.state != "running" else ""
        out += [
            Sample(
                ID, c.name, "state", 1.0 if c.state == "running" else 0.0, c.state, detail, labels
            ),
            Sample(
                ID,
                c.name,
                "health",
                0.0 if c.health == "unhealthy" else 1.0,
                c.health or "none",
                health_logs.get(c.name, "") if c.health == "unhealthy" else "",
                labels,
            ),
            Sample(ID, c.name, "restarts", float(c.restarts), labels=labels),
            Sample(ID, c.name, "oom_killed", 1.0 if c.oom_killed else 0.0, labels=labels),
            Sample(ID, c.name, "exit_code", float(c.exit_code), labels=labels),
        ]
        if c.started_at is not None:
            out.append(Sample(ID, c.name, "started_at", c.started_at, labels=labels))
        cpu, memory = usage.get(c.name, (None, None))
        if cpu is not None:
            out.append(Sample(ID, c.name, "cpu_percent", cpu, labels=labels))
        if memory is not None:
            out.append(Sample(ID, c.name, "memory_bytes", memory, labels=labels))
        if limits.get(c.name):
            out.append(Sample(ID, c.name, "memory_limit_bytes", limits[c.name], labels=labels))
        if oom_at.get(c.name):
            out.append(Sample(ID, c.name, "oom_at", oom_at[c.name], labels=labels))
    for app_target in config.apps:
        for service in app_target.services:
            if service in seen:
                continue
            labels = {
                "stack": app_target.stack,
                "app": app_target.id,
                "service": service,
                "role": role_of(service, config),
                "image": "",
            }
            out.append(Sample(ID, service, "state", 0.0, "missing", "no such container", labels))
    return out


# ---------------------------------------------------------------------------------------------
# Rules: the most telling condition of each container, first


@rule(
    "container-oom",
    "container-restarting",
    "container-down",
    "container-unhealthy",
    "container-paused",
)
def containers(x: Inputs) -> Iterator[Condition]:
    lim = x.limits
    for state in x.each("docker", "state"):
        name = state.subject
        labels = state.labels
        app = labels.get("app") or None
        role = labels.get("role") or ""
        restarts = x.value("docker", name, "restarts")
        oom = x.value("docker", name, "oom_killed")
        health = x.get("docker", name, "health")
        recent = None
        if restarts is not None and x.history is not None:
            before = x.history.value_since(("docker", name, "restarts"), x.now - lim.restart_window)
            if before is not None and restarts >= before:
                recent = restarts - before
        oom_at = x.value("docker", name, "oom_at")
        oom_recent = oom_at is not None and x.now - oom_at <= lim.restart_window
        what = {"database": " (database", "proxy": " (LAN proxy"}.get(role, "")
        who = f"{name}{what}{' of ' + app if what and app and role == 'database' else ''}"
        who += ")" if what else ""
        running = state.state == "running"

        limit = x.value("docker", name, "memory_limit_bytes")
        limit_text = f" (limit {limit / 1024**2:g} MiB)" if limit else ""
        found: tuple[str, str, str, str | None] | None = None
        if oom or oom_recent:
            found = (
                "container-oom",
                "warning" if running else "critical",
                f"{who} was killed for running out of memory{limit_text}"
                + ("; it runs again" if running else f"; it is {state.state}"),
                "raise its memory limit in the blueprint (memory: limit) or find what grows",
            )
        elif state.state == "restarting" or (recent is not None and recent >= lim.restart_loop):
            count = (
                f"{recent:g} restarts in {lim.restart_window / 60:g} min"
                if recent
                else "restarting"
            )
            found = (
                "container-restarting",
                "critical",
                f"{who} is restart-looping ({count}; {state.detail or 'no exit code'})",
                f"docker logs --tail 50 {name}",
            )
        elif state.state == "missing":
            found = ("container-down", "critical", f"{who} does not exist", "lares up recreates it")
        elif state.state == "paused":
            found = ("container-paused", "warning", f"{who} is paused", f"docker unpause {name}")
        elif not running:
            found = (
                "container-down",
                "critical",
                f"{who} is {state.state}" + (f" ({state.detail})" if state.detail else ""),
                f"docker logs --tail 50 {name}; lares up starts it again",
            )
        elif health is not None and health.state == "unhealthy":
            found = (
                "container-unhealthy",
                "warning",
                f"{who} is unhealthy" + (f": {health.detail}" if health.detail else ""),
                f"docker inspect --format '{{{{json .State.Health}}}}' {name}",
            )
        if found is not None:
            rule_id, severity, message, hint = found
            yield Condition(
                f"{rule_id}:{name}",
                rule_id,
                severity,
                name,
                message,
                "docker",
                app=app,
                hint=hint,
                labels={"role": role, "state": state.state or ""},
            )


RULES = (containers,)

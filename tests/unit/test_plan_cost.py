"""`lares cost`: the cost model of the reference homelab and two variants, as golden output, and
the arithmetic's invariants on generated blueprints.

Golden files are ``tests/golden/cost-*.txt`` (the text of `lares cost`) and
``tests/golden/cost-reference.json`` (its ``--json``). After an intended change:

    LARES_UPDATE_GOLDEN=1 python3 -m pytest tests/unit/test_plan_cost.py -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TESTS, LaresRunner
from lares.blueprint.load import load_reference, load_text, reference_text
from lares.plan import catalog_for
from lares.plan.cost import CostModel, model
from lares.plan.costplot import BOTTOM, HEIGHT, TOP, series, svg

UPDATE = os.environ.get("LARES_UPDATE_GOLDEN") == "1"
GOLDEN = TESTS / "golden"

NO_VPS = ("    vps: {amount: 5, per: month}          # the tunnel's VPS (2 vCPU, 2 GB)\n", "")
SECOND_DRIVES = (
    "    drives: {price: 600, note: 4 HDDs}\n",
    "    drives: {price: 600, note: 4 HDDs, bought: 2025-01-10, lifetime_years: 4}\n"
    "    drives-2: {price: 600, note: a second set of 4 HDDs, bought: 2027-01-20}\n"
    "    cpu-fan: {price: 80, bought: 2025-01-10}\n",
)
VARIANTS = {"reference": None, "no-vps": NO_VPS, "second-drives": SECOND_DRIVES}


def _variant(name: str) -> str:
    text = reference_text()
    edit = VARIANTS[name]
    if edit is not None:
        assert edit[0] in text, f"the reference blueprint no longer has {edit[0]!r}"
        text = text.replace(edit[0], edit[1])
    return text


def _golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing (run with LARES_UPDATE_GOLDEN=1)"
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs from the output"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_cost_text_matches_golden(name: str, tmp_path: Path, run_lares: LaresRunner) -> None:
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(_variant(name), encoding="utf-8")
    done = run_lares("cost", "-f", str(blueprint))
    assert done.returncode == 0, done.stderr
    _golden(GOLDEN / f"cost-{name}.txt", done.stdout)


def test_cost_json_matches_golden(run_lares: LaresRunner) -> None:
    done = run_lares("cost", "--json", "--years", "5")
    assert done.returncode == 0, done.stderr
    _golden(GOLDEN / "cost-reference.json", done.stdout)


def _model(text: str, years: int = 5) -> CostModel:
    loaded = load_text(text, filename="lares.yaml", base_dir=Path("."))
    return model(loaded.blueprint, catalog_for(loaded).apps, years=years)


def test_reference_reproduces_the_seed_inputs_and_finds_its_double_count() -> None:
    loaded = load_reference()
    m = model(loaded.blueprint, catalog_for(loaded).apps, years=5)
    assert m.investment == 1290
    assert m.running_per_year.__round__(2) == Fraction(147)
    assert m.saas_per_month == Fraction("48.5")
    assert m.break_even_month == 36  # 1290 / (435 / 12) = 35.6 months
    by_name = {d.what: d for d in m.differences}
    assert not by_name["investment"].agrees
    assert "3 years of vps, domain (216.00 EUR)" in by_name["investment"].note
    assert by_name["running_per_year"].agrees and by_name["saas_per_month"].agrees
    assert by_name["net_after_5_years"].implied == 669  # what the seed's own table gives
    assert by_name["break_even_years"].implied is not None
    assert round(float(by_name["break_even_years"].implied), 2) == 3.46


def test_no_vps_lowers_running_costs_by_the_vps() -> None:
    ref, variant = _model(_variant("reference")), _model(_variant("no-vps"))
    assert ref.running_per_year - variant.running_per_year == 60
    assert variant.break_even_month is not None and ref.break_even_month is not None
    assert variant.break_even_month < ref.break_even_month


def test_second_drive_set_is_paid_when_bought_and_the_first_replaced_after_its_life() -> None:
    m = _model(_variant("second-drives"))
    drives = [(p.item, p.month, p.replacement) for p in m.purchases if p.item.startswith("drives")]
    assert drives == [("drives", 0, False), ("drives-2", 24, False), ("drives", 48, True)]
    rows = m.year_rows()
    assert rows[2].bought == 600 and rows[4].bought == 600
    assert m.tco == m.bought + m.running_per_year * 5


def test_disabled_app_saves_nothing_and_override_replaces_catalog_price() -> None:
    text = _variant("reference").replace(
        "      emby: {exposure: public}", "      emby: {enabled: false}"
    )
    text = text.replace("    immich: 0 ", "    immich: 0\n    vaultwarden: 7.5 ")
    m = _model(text)
    apps = {s.app: s for s in m.savings}
    assert "emby" not in apps
    assert apps["vaultwarden"].per_month == Fraction("7.5")
    assert apps["vaultwarden"].source == "blueprint"


def test_measured_watts_replace_idle_and_load() -> None:
    text = _variant("reference").replace(
        "    idle_watts: 30 ", "    measured_watts: 40\n    idle_watts: 30 "
    )
    m = _model(text)
    electricity = next(r for r in m.running if r.name == "electricity")
    assert electricity.per_year == Fraction(40 * 24 * 365, 1000) * Fraction("0.2854")
    assert "40 W measured" in electricity.detail


def test_bad_power_is_reported_with_its_place(tmp_path: Path, run_lares: LaresRunner) -> None:
    blueprint = tmp_path / "lares.yaml"
    text = _variant("reference").replace("load_hours_per_day: 0 ", "load_hours_per_day: 30 ")
    blueprint.write_text(text, encoding="utf-8")
    done = run_lares("cost", "-f", str(blueprint))
    assert done.returncode == 2
    line = (
        text.splitlines().index(
            "    load_hours_per_day: 30       # the €75/year electricity figure counts idle all day"
        )
        + 1
    )
    assert done.stderr.startswith(f"{blueprint}:{line}:5: costs.power.load_hours_per_day: error")
    assert "less than or equal to 24" in done.stderr and "Traceback" not in done.stderr


def test_saas_price_for_an_app_no_stack_runs_is_a_warning(
    tmp_path: Path, run_lares: LaresRunner
) -> None:
    blueprint = tmp_path / "lares.yaml"
    text = _variant("reference").replace("    immich: 0 ", "    nosuchapp: 3\n    immich: 0 ")
    blueprint.write_text(text, encoding="utf-8")
    done = run_lares("cost", "-f", str(blueprint), "--json")
    assert done.returncode == 0, done.stderr
    assert "costs.saas: no stack runs an app 'nosuchapp'" in done.stderr
    data = json.loads(done.stdout)
    assert data["unknown_saas"] == ["nosuchapp"] and data["saas_per_month"] == "48.50"


def test_plot_reads_back_as_the_two_cumulative_series(
    tmp_path: Path, run_lares: LaresRunner
) -> None:
    path = tmp_path / "cost.svg"
    done = run_lares("cost", "--plot", str(path), "--years", "6")
    assert done.returncode == 0, done.stderr
    root = ET.parse(path).getroot()  # noqa: S314 (the file this test just had written)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    lo, hi = float(root.get("data-min", "nan")), float(root.get("data-max", "nan"))
    months = int(root.get("data-months", "0"))
    assert months == 72
    lines = {p.get("data-series"): p for p in root.iter(f"{ns}polyline")}
    assert set(lines) == {"server", "saas"}
    values = {}
    for name, line in lines.items():
        pts = [tuple(map(float, pair.split(","))) for pair in (line.get("points") or "").split()]
        assert len(pts) == months + 1
        height = HEIGHT - TOP - BOTTOM
        values[name] = [hi - (y - TOP) * (hi - lo) / height for _, y in pts]
    assert values["server"][0] == pytest.approx(1290, abs=5)  # the hardware, on day one
    assert values["saas"][0] == pytest.approx(0, abs=5)
    assert values["saas"][-1] == pytest.approx(582 * 6, abs=5)
    crossed = next(
        i for i, (s, c) in enumerate(zip(values["saas"], values["server"], strict=True)) if s >= c
    )
    assert abs(crossed - 36) <= 1  # the lines cross at break-even
    assert any(e.get("data-mark") == "break-even" for e in root.iter(f"{ns}line"))


# ── the arithmetic's invariants ──────────────────────────────────────────────────────────────

money = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def cost_texts(draw: st.DrawFn) -> tuple[str, int]:
    items = draw(st.lists(st.tuples(money, st.none() | st.integers(1, 8)), min_size=1, max_size=4))
    lines = ["costs:", "  currency: EUR", "  hardware:"]
    for i, (price, life) in enumerate(items):
        extra = f", lifetime_years: {life}" if life else ""
        lines.append(f"    item{i}: {{price: {price}{extra}}}")
    lines += [
        "  power:",
        f"    idle_watts: {draw(st.integers(0, 200))}",
        f"    kwh_price: {draw(st.decimals(min_value=0, max_value=1, places=4))}",
        "  recurring:",
        f"    vps: {{amount: {draw(money)}, per: {draw(st.sampled_from(['month', 'year']))}}}",
        "  saas:",
        f"    nextcloud: {draw(st.decimals(min_value=0, max_value=200, places=2))}",
    ]
    base = reference_text().split("\ncosts:")[0]
    return base + "\n" + "\n".join(lines) + "\n", draw(st.integers(1, 12))


@settings(max_examples=60, deadline=None)
@given(cost_texts())
def test_break_even_is_where_the_cumulative_curve_crosses_zero(case: tuple[str, int]) -> None:
    text, years = case
    m = _model(text, years)
    if m.break_even_month is None:
        assert all(v < 0 for v in m.curve)
        assert m.net_per_year <= 0
    elif m.break_even_extrapolated:
        assert all(v < 0 for v in m.curve)
        month = m.break_even_month
        after = m.curve[-1] + (month - (len(m.curve) - 1)) * m.net_per_year / 12
        before = after - m.net_per_year / 12
        assert before < 0 <= after
    else:
        month = m.break_even_month
        assert m.curve[month] >= 0
        assert all(v < 0 for v in m.curve[:month])


@settings(max_examples=60, deadline=None)
@given(cost_texts())
def test_tco_adds_up(case: tuple[str, int]) -> None:
    text, years = case
    m = _model(text, years)
    assert m.tco == sum(p.price for p in m.purchases) + years * sum(r.per_year for r in m.running)
    assert m.curve[-1] == m.saas_per_year * years - m.tco
    assert sum(y.net for y in m.year_rows()) == m.curve[-1]
    assert m.per_month * 12 * years == m.tco
    assert all(p.month < 12 * years for p in m.purchases)
    server = series(m)["server"]
    assert server[-1] == m.tco
    assert svg(m).startswith("<svg")
    assert abs(Fraction(m.to_dict()["tco"]) - m.tco) <= Fraction(1, 200)  # shown to the cent


# ── offsite storage by the repository's measured size ────────────────────────────────────────

OFFSITE = "  # offsite: {repository: offsite, per_tb_month: PRICE, estimate: SIZE}"


def _with_offsite() -> str:
    text = _variant("reference")
    assert OFFSITE in text
    return text.replace(OFFSITE, "  offsite: {repository: offsite, per_tb_month: 6, estimate: 2TB}")


def test_offsite_is_priced_by_the_estimate_until_measured() -> None:
    text = _with_offsite()
    m = _model(text)
    storage = next(r for r in m.running if r.name == "offsite (offsite)")
    assert storage.per_year == 2 * 6 * 12
    assert storage.detail == "2.00 TB estimated at 6 EUR/TB-month"
    loaded = load_text(text, filename="lares.yaml", base_dir=Path("."))
    measured = model(loaded.blueprint, catalog_for(loaded).apps, offsite_bytes=500 * 10**9)
    storage = next(r for r in measured.running if r.name == "offsite (offsite)")
    assert storage.per_year == 36 and "0.50 TB measured" in storage.detail


def test_cost_command_reads_the_last_measured_size(tmp_path: Path, run_lares: LaresRunner) -> None:
    from lares.backup.records import Records
    from lares.state import StateDir

    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(_with_offsite(), encoding="utf-8")
    state = tmp_path / "state"
    done = run_lares("cost", "-f", str(blueprint), "--state-dir", str(state), "--json")
    assert done.returncode == 0, done.stderr
    assert not state.exists()  # reading costs creates no state folder
    row = next(r for r in json.loads(done.stdout)["running"] if r["name"] == "offsite (offsite)")
    assert row["per_year"] == "144.00"
    records = Records(StateDir.open(state))
    records.size_done("offsite", 3 * 10**12, datetime(2026, 1, 1, tzinfo=UTC))
    records.size_done("offsite", 1 * 10**12, datetime(2026, 2, 1, tzinfo=UTC))
    done = run_lares("cost", "-f", str(blueprint), "--state-dir", str(state), "--json")
    row = next(r for r in json.loads(done.stdout)["running"] if r["name"] == "offsite (offsite)")
    assert row["per_year"] == "72.00" and "1.00 TB measured" in row["detail"]


def test_offsite_must_name_a_backup_repository(tmp_path: Path, run_lares: LaresRunner) -> None:
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(_with_offsite().replace("repository: offsite,", "repository: cloud,"))
    done = run_lares("cost", "-f", str(blueprint))
    assert done.returncode == 2
    assert "costs.offsite names repository 'cloud'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_blueprint_without_costs_says_only_saas_is_counted(
    tmp_path: Path, run_lares: LaresRunner
) -> None:
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(reference_text().split("\ncosts:")[0] + "\n", encoding="utf-8")
    done = run_lares("cost", "-f", str(blueprint), "--json")
    assert done.returncode == 0, done.stderr
    assert "names no hardware, power or bills, so only the SaaS replaced is counted" in done.stderr
    data = json.loads(done.stdout)
    assert data["tco"] == "0.00" and data["break_even_month"] == 0

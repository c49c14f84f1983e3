"""The Python reader of compose files, on its own (the integration tests compare it with the
Compose binary): interpolation as Compose does it, and what it leaves to Compose."""

from __future__ import annotations

import pytest

from lares.audit.native import NeedsCompose, native_model
from lares.audit.rules import table

ENV = {"SET": "value", "EMPTY": "", "DOLLAR": "a$b"}


def _image(text: str) -> str:
    model = native_model({"services": {"a": {"image": text}}}, "/srv/proj", env=ENV)
    return str(model["services"]["a"]["image"])


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("x:${SET}", "x:value"),
        ("x:$SET", "x:value"),
        ("x:${UNSET}", "x:"),
        ("x:${UNSET:-d}", "x:d"),
        ("x:${EMPTY:-d}", "x:d"),
        ("x:${EMPTY-d}", "x:"),
        ("x:${SET:+alt}", "x:alt"),
        ("x:${UNSET+alt}", "x:"),
        ("x:$$HOME", "x:$$HOME"),  # Compose prints $ escaped again
        ("x:${DOLLAR}", "x:a$$b"),
        ("x:1", "x:1"),
    ],
)
def test_variables_resolve_as_compose_resolves_them(written: str, printed: str) -> None:
    assert _image(written) == printed


@pytest.mark.parametrize("text", ["x:${UNSET:?set it}", "x:${A:-${B}}", "x:${}"])
def test_a_form_only_compose_resolves_is_left_to_it(text: str) -> None:
    with pytest.raises(NeedsCompose):
        _image(text)


def test_the_project_is_named_after_the_folder_and_gets_a_default_network() -> None:
    model = native_model({"services": {"a": {"image": "x:1"}}}, "/srv/My_Proj", env={})
    assert model["name"] == "my_proj"
    assert model["services"]["a"]["networks"] == {"default": None}
    assert model["networks"] == {"default": {"name": "my_proj_default"}}


def test_compose_variables_in_the_environment_leave_the_file_to_compose() -> None:
    with pytest.raises(NeedsCompose):
        native_model({"services": {}}, "/srv/p", env={"COMPOSE_PROJECT_NAME": "other"})


def test_a_family_whose_text_and_tests_differ_is_refused() -> None:
    with pytest.raises(RuntimeError, match="rule family images: its text and its tests"):
        table("images", {"image-latest": lambda c: []})

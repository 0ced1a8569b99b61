"""docs/design.md documents every simulator parameter and every option of the design commands."""

from __future__ import annotations

from pathlib import Path

import typer.main

from securebase.analysis.design.parameters import OutcomeModel, ResourceItem, SimulationParameters
from securebase.cli.design import design_app

DOC = (Path(__file__).parents[2] / "docs" / "design.md").read_text()


def test_every_simulator_parameter_is_documented() -> None:
    for model in (SimulationParameters, OutcomeModel, ResourceItem):
        missing = [name for name in model.model_fields if f"`{name}`" not in DOC]
        assert not missing, f"undocumented {model.__name__} fields: {missing}"


def test_every_design_command_option_is_documented() -> None:
    group = typer.main.get_command(design_app)
    assert hasattr(group, "commands")
    for name, cmd in group.commands.items():
        assert f"securebase design {name}" in DOC
        for param in cmd.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in DOC, f"option {opt} of 'design {name}' is not in docs/design.md"

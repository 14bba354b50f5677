"""`ordino flows list / show / validate`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ordino.cli import app

runner = CliRunner()


def test_validate_says_the_packaged_flows_are_valid() -> None:
    result = runner.invoke(app, ["flows", "validate"], env={"ORDINO_FLOWS_DIR": ""})

    assert (result.exit_code, result.output.strip()) == (0, "7 flows, 32 steps: valid")


def test_validate_names_the_file_line_and_step_of_a_wrong_file(tmp_path: Path) -> None:
    (tmp_path / "pos.yaml").write_text(
        "flow: order-activation\nversion: 2\nscope: {channel: POS}\nsteps:\n"
        "  - name: route\n    on: order.created\n    when: order.chanel == 'POS'\n"
        "    action: orders.credit_check_and_route\n")

    result = runner.invoke(app, ["flows", "validate", "--flows-dir", str(tmp_path)], env={"COLUMNS": "300"})

    assert result.exit_code == 1
    assert result.output.startswith(f"{tmp_path / 'pos.yaml'}:7: step 'route': when: order.chanel: order has number")


def test_list_and_show(tmp_path: Path) -> None:
    (tmp_path / "pos.yaml").write_text("flow: order-activation\nversion: 2\nscope: {channel: POS}\nenabled: false\n")

    listed = runner.invoke(app, ["flows", "list", "--flows-dir", str(tmp_path)], env={"COLUMNS": "200"})
    shown = runner.invoke(app, ["flows", "show", "payment"], env={"COLUMNS": "200", "ORDINO_FLOWS_DIR": ""})

    assert listed.exit_code == 0
    assert "│ order-activation │ 2       │ deployment │ channel=POS │ disabled │ 0     │" in listed.output
    assert shown.exit_code == 0
    assert "payment.authorization_failed │      │ process_exceptions.authorization_failed │" in shown.output


def test_show_an_unknown_flow() -> None:
    result = runner.invoke(app, ["flows", "show", "nope"], env={"ORDINO_FLOWS_DIR": ""})

    assert (result.exit_code, result.output.strip()) == (1, "no flow named 'nope'")

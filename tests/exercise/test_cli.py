"""``ipics-lab exercise``: the list, and bad input refused in words with exit status 2
before any lab starts."""

from __future__ import annotations

import pytest

from ipics_lab.exercise.cli import main


def test_the_list_names_each_exercise_its_trainee_and_title(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["split-brain-method-1", "administrator"] for line in lines)
    assert any(line.split()[:2] == ["phone-user-services", "phone-user"] for line in lines)


@pytest.mark.parametrize(
    "argv, said",
    [
        (["run", "nope"], "bad exercise: nope: no such exercise file, and not a built-in exercise"),
        (["run", "split-brain-method-1", "--time-limit", "soon"], "bad option: 'soon' is not a duration"),
        (["run", "split-brain-method-1", "--time-scale", "0"], "bad option:"),
    ],
)
def test_bad_input_is_refused_with_exit_status_2(argv, said, capsys, tmp_path):
    assert main([*argv, "--recording", str(tmp_path / "r.ipicsrec")]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "r.ipicsrec").exists()

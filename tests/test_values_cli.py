"""Issue 4 as a user meets it: --value in every form, --rng torch, --dtype, --save, and bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TUTORIAL = ["sum((relu(x@W)-y)**2)", "--rng", "torch", "--seed", "0",
            "--shape", "x=10x4", "--shape", "W=4x4", "--shape", "y=10x4"]


def gradcalc(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}, cwd=cwd, input=stdin, timeout=120)


def test_tutorial_numbers_are_reproduced_without_torch() -> None:
    run = gradcalc("eval", *TUTORIAL, "--wrt", "W")
    assert run.returncode == 0, run.stderr
    assert "f = 99.9048" in run.stdout
    assert " 18.2980  2.7573  2.3914  -0.1974    18.2980  2.7573  2.3914  -0.1974" in run.stdout
    assert "torch.randn(seed=0)" in run.stdout and run.stdout.rstrip().endswith("verdict: equal")


def test_tutorial_numbers_in_json_for_every_gradient() -> None:
    doc = json.loads(gradcalc("eval", *TUTORIAL, "--json").stdout)
    assert round(doc["value"], 4) == 99.9048
    rows = {name: np.round(doc["gradients"][name]["autograd"][0], 4).tolist() for name in "Wxy"}
    assert rows == {"W": [18.2980, 2.7573, 2.3914, -0.1974], "x": [1.1002, 0.0860, 5.3377, 0.2788],
                    "y": [2.8885, 4.1639, 3.4134, 3.0501]}
    assert doc["verdict"] == "equal"


def _files(folder: Path) -> dict[str, str]:
    matrix = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])
    np.save(folder / "w.npy", matrix)
    np.savez(folder / "both.npz", W=matrix, other=np.zeros(2))
    (folder / "w.csv").write_text("1,-2,0.5\n3,0.25,-1\n")
    (folder / "w.json").write_text("[[1, -2, 0.5],\n [3, 0.25, -1]]\n")
    (folder / "w.txt").write_text("# two rows\n1 -2 0.5\n3 0.25 -1\n")
    return {"npy": "W=w.npy", "npz": "W=both.npz:W", "csv": "W=w.csv", "json": "W=w.json", "txt": "W=w.txt",
            "inline": "W=[[1,-2,0.5],[3,0.25,-1]]", "stdin": "W=-"}


@pytest.mark.parametrize("form", ["npy", "npz", "csv", "json", "txt", "inline", "stdin"])
def test_every_value_form_gives_the_same_gradient(tmp_path: Path, form: str) -> None:
    option = _files(tmp_path)[form]
    stdin = "[[1, -2, 0.5], [3, 0.25, -1]]" if form == "stdin" else None
    run = gradcalc("eval", "sum(W*W*a)", "--value", option, "--value", "a=2.5", "--json", cwd=tmp_path, stdin=stdin)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["variables"]["W"]["shape"] == [2, 3] and doc["variables"]["a"]["shape"] == []
    assert doc["gradients"]["W"]["autograd"] == [[5.0, -10.0, 2.5], [15.0, 1.25, -5.0]]
    assert doc["gradients"]["a"]["autograd"] == pytest.approx(1 + 4 + 0.25 + 9 + 0.0625 + 1)
    assert doc["verdict"] == "equal"


@pytest.mark.parametrize(("name", "content", "option", "message"), [
    ("missing", None, "W=nothere.npy", "--value W=nothere.npy: file 'nothere.npy' not found (looked for "),
    ("ragged", "[[1, 2],\n [3]]", "W=r.json", ("--value W=r.json: file 'r.json' is ragged: row [1] has 1 entry but "
                                             "row [0] has 2 (line 2, column 2)")),
    ("cell", "1,2\n3,x\n", "W=c.csv", "--value W=c.csv: file 'c.csv': line 2, column 2 is 'x', not a number"),
    ("nan", "1 2\nnan 4\n", "W=n.txt", "--value W=n.txt: file 'n.txt': line 2, column 1 is 'nan', NaN; values must be finite"),
    ("inf", "[[1, 2], [3, 1e400]]", "W=i.json", "--value W=i.json: file 'i.json': [1][1] is inf"),
    ("rank", np.zeros((2, 2, 2)), "W=r3.npy", "--value W=r3.npy: file 'r3.npy' has 3 dimensions (2x2x2)"),
    ("key", {"A": np.zeros(2)}, "W=k.npz:W", "--value W=k.npz:W: file 'k.npz' has no array 'W'; available: A"),
    ("corrupt", b"not an npy file", "W=bad.npy", "--value W=bad.npy: file 'bad.npy' is not a .npy file"),
])
def test_bad_value_file_exits_2_naming_the_file(tmp_path: Path, name: str, content: object, option: str,
                                               message: str) -> None:
    path = tmp_path / option.split("=", 1)[1].split(":")[0]
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        np.savez(path, **content)
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    run = gradcalc("eval", "sum(W*W)", "--value", option, cwd=tmp_path)
    assert run.returncode == 2, run.stdout
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradcalc: error: " + message), run.stderr
    assert run.stdout == ""


def test_value_fixes_the_shape_and_a_conflicting_shape_is_an_error() -> None:
    run = gradcalc("eval", "sum(W*W)", "--value", "W=[[1,2],[3,4]]", "--shape", "W=3x2")
    assert run.returncode == 2
    assert run.stderr.strip() == ("gradcalc: error: --shape W=3x2 conflicts with --value W, which is 2x2; "
                                  "a value fixes the shape, so drop the --shape")
    doc = json.loads(gradcalc("eval", "sum(X@W)", "--value", "W=[[1,2],[3,4]]", "--json").stdout)
    assert doc["variables"]["X"]["shape"][1] == 2  # X's columns follow W's given rows


def test_value_for_an_unknown_variable_is_an_error() -> None:
    run = gradcalc("eval", "sum(W*W)", "--value", "V=[[1]]")
    assert run.returncode == 2 and "--value V: no variable 'V' in the expression" in run.stderr


def test_save_writes_the_gradient_for_the_next_tool(tmp_path: Path) -> None:
    run = gradcalc("eval", *TUTORIAL, "--wrt", "W", "--save", "W=gW.npy", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    saved = np.load(tmp_path / "gW.npy")
    assert saved.shape == (4, 4) and saved.dtype == np.float64
    assert saved.tolist() == json.loads(run.stdout)["gradients"]["W"]["autograd"]
    chained = gradcalc("eval", "sum(G*W)", "--value", "G=gW.npy", "--wrt", "W", "--json", cwd=tmp_path)
    assert json.loads(chained.stdout)["gradients"]["W"]["autograd"] == saved.tolist()


@pytest.mark.parametrize(("option", "message"), [
    ("W=g.txt", "--save W=g.txt: the file must end in .npy (NumPy's format), e.g. --save W=grad_W.npy"),
    ("W=nofolder/g.npy", "--save W=nofolder/g.npy: folder 'nofolder' does not exist"),
    ("Q=g.npy", "--save Q=g.npy: no gradient with respect to Q was taken; add --wrt Q"),
    ("g.npy", "--save g.npy: expected NAME=path.npy, e.g. --save W=grad_W.npy"),
])
def test_bad_save_exits_2(tmp_path: Path, option: str, message: str) -> None:
    run = gradcalc("eval", "sum(W*W)", "--save", option, cwd=tmp_path)
    assert (run.returncode, run.stderr.strip()) == (2, "gradcalc: error: " + message)
    assert not list(tmp_path.iterdir())


def test_float32_computes_in_float32_with_float32_tolerances() -> None:
    doc = json.loads(gradcalc("eval", *TUTORIAL, "--dtype", "float32", "--json").stdout)
    assert doc["dtype"] == "float32" and doc["tolerance"]["rtol"] == 1e-4
    assert doc["value"] == 99.90478  # float32's shortest digits
    w = np.array(doc["gradients"]["W"]["autograd"])
    assert all(float(str(np.float32(v))) == v for v in w.ravel())  # shortest digits of float32 numbers
    assert doc["verdict"] == "equal"


def test_bad_choices_are_one_line_errors() -> None:
    for option, value, message in [("--rng", "jax", "--rng jax: not one of numpy, torch; e.g. --rng torch"),
                                   ("--dtype", "float16", ("--dtype float16: not one of float64, float32; "
                                                          "e.g. --dtype float32"))]:
        run = gradcalc("eval", "sum(W)", option, value)
        assert (run.returncode, run.stderr.strip()) == (2, "gradcalc: error: " + message)


def test_torch_gradients_match_pytorch_itself() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    x, w, y = (torch.randn(*s, requires_grad=True) for s in [(6, 5), (5, 3), (6, 3)])
    loss = ((torch.relu(x @ w) - y) ** 2).sum()
    loss.backward()
    doc = json.loads(gradcalc("eval", "sum((relu(x@w)-y)**2)", "--rng", "torch", "--seed", "3", "--shape", "x=6x5",
                              "--shape", "w=5x3", "--shape", "y=6x3", "--dtype", "float32", "--json").stdout)
    assert doc["value"] == pytest.approx(loss.item(), rel=1e-6)
    for name, t in {"x": x, "w": w, "y": y}.items():
        np.testing.assert_allclose(doc["gradients"][name]["autograd"], t.grad.numpy(), rtol=1e-5, atol=1e-5)

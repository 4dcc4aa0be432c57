"""ssem diagnose: a synthetic log with known plateaus reports them (their steps and
references), the final gap to the floor, a PNG; malformed logs are one-line errors naming the
line."""

from __future__ import annotations

import json
import math
import random

import pytest

from ssem_symbolic.cli import main
from ssem_symbolic.report import diagnose, parse_log
from ssem_symbolic.setting import Batch

BATCH = ["--loss", "supcon", "--classes", "3", "--per-class", "4"]


def _curve(seed=0, noise=0.002):
    """log 23 (every logit equal) for steps 0..79, then a descent to the floor of supcon on a
    3 x 4 x 2 batch at alpha 0.3, tau 0.5 (2.0224578), with Gaussian noise."""
    rng = random.Random(seed)
    floor = 2.022457765499667
    out = []
    for s in range(300):
        v = math.log(23) if s < 80 else floor + 0.5 * math.exp(-(s - 80) / 10)
        out.append({"step": float(s), "loss": v + rng.gauss(0, noise)})
    return out


def test_a_known_plateau_is_found_with_its_steps_and_reference():
    d = diagnose("supcon", Batch.balanced(3, 4, 2), _curve(), "0.3", "0.5")
    first = d.plateaus[0]
    assert first.references == ("complete-collapse", "random")
    assert (first.first_step, first.last_step) == (0.0, 79.0)
    last = d.plateaus[-1]
    assert "floor" in last.references and last.last_step == 299.0
    assert abs(d.final.gap) < 0.01
    assert [a["kind"] for a in d.final.advice] == ["converged"]


def test_no_plateau_on_a_curve_that_never_stops():
    log = [{"step": float(s), "loss": 3.5 - s * 0.001} for s in range(100)]
    d = diagnose("supcon", Batch.balanced(3, 4, 2), log, "0.3", "0.5")
    assert d.plateaus == ()


def test_alpha_and_tau_from_the_log_override_the_flags():
    log = [{"step": float(s), "loss": math.log(23), "tau": 0.5 if s < 20 else 0.25,
            "alpha": 0.3} for s in range(40)]
    d = diagnose("supcon", Batch.balanced(3, 4, 2), log)
    assert len(d.references) == 2
    # log(M - 1) is the complete-collapse value at every tau: one plateau through both
    assert [(p.first_step, p.last_step) for p in d.plateaus] == [(0.0, 39.0)]


def test_csv_and_jsonl_read_alike():
    rows = _curve()[:20]
    csv_lines = ["step,loss"] + [f"{r['step']:g},{r['loss']!r}" for r in rows]
    jsonl = [json.dumps(r) for r in rows]
    assert parse_log(csv_lines) == parse_log(jsonl) == rows


@pytest.mark.parametrize("lines, message", [
    ([], "empty"),
    (["step,loss"], "no entries"),
    (["step,loss", "0,1.5", "1,x"], "line 3: loss 'x' is not a number"),
    (["step,loss", "0,1.5", "1"], "line 3: 1 fields"),
    (["step,loss", "0,nan"], "line 2: loss is 'nan'"),
    (["step,loss", "5,1", "3,1"], "line 3: step 3 comes after step 5"),
    (["step,value", "0,1"], "line 2: no 'loss'"),
    (['{"step": 0, "loss": 1}', "{nope"], "line 2: not JSON"),
    (['{"step": 0, "loss": 1}', "[1, 2]"], "line 2: expected an object"),
])
def test_malformed_logs_name_the_line(lines, message):
    with pytest.raises(ValueError, match=message):
        parse_log(lines)


def test_cli_text_json_and_png(capsys, tmp_path):
    log = tmp_path / "run.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in _curve()) + "\n")
    png = tmp_path / "run.png"
    args = ["diagnose", str(log), *BATCH, "--alpha", "0.3", "--tau", "0.5"]
    assert main([*args, "--out", str(png)]) == 0
    text = capsys.readouterr().out
    assert "Plateau at complete collapse = random, d -> inf (3.13549): steps 0 .. 79" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plateaus"][0]["references"] == ["complete-collapse", "random"]
    assert data["final"]["advice"][0]["kind"] == "converged"


@pytest.mark.parametrize("content, extra, message", [
    ("step,loss\n0,abc\n", [], "line 2: loss 'abc' is not a number"),
    ("step,loss\n0,1\n", ["--out", "/nonexistent-dir/x.png"], "nonexistent-dir"),
    ("step,loss\n0,1\n", ["--min-steps", "x"], "--min-steps must be an integer"),
])
def test_cli_bad_input_is_one_line(capsys, tmp_path, content, extra, message):
    log = tmp_path / "run.csv"
    log.write_text(content)
    try:
        status = main(["diagnose", str(log), *BATCH, "--alpha", "0.3", "--tau", "0.5", *extra])
    except SystemExit as exc:  # argparse's own errors exit
        status = exc.code
    err = capsys.readouterr().err
    assert status in (2, 3) and message in err and err.count("\n") == 1


def test_cli_needs_alpha_and_tau_from_the_flags_or_the_log(capsys, tmp_path):
    log = tmp_path / "run.csv"
    log.write_text("step,loss\n0,1\n")
    assert main(["diagnose", str(log), *BATCH, "--alpha", "0.3"]) == 2
    assert "no tau" in capsys.readouterr().err

"""`make bench`'s bookkeeping: targets judged, the table and bench.json written.

The measurements themselves are ``make bench``'s (speed and memory are never
asserted in the suite); here only what turns figures into a verdict, and the
frame-log follower the end-to-end figures are read with.
"""

import json

from benchmarks import __main__ as bench
from benchmarks.common import FrameFollower, percentile


def row(value, target, unit="ms", what="a figure"):
    return {"part": "test", "what": what, "value": value, "unit": unit, "target": target}


def test_each_kind_of_target_is_judged():
    assert bench.met(row(16.0, ("<=", 16.7))) is True
    assert bench.met(row(17.0, ("<=", 16.7))) is False
    assert bench.met(row(120.0, (">=", 100.0), "presses/s")) is True
    assert bench.met(row(-4.9, ("within", 5.0), "%")) is True
    assert bench.met(row(5.1, ("within", 5.0), "%")) is False
    assert bench.met(row(3.0, None)) is None
    assert bench.met(row(float("nan"), ("<=", 1.0))) is None


def test_targets_are_said_in_words():
    assert bench.target_text(row(1.0, ("<=", 50.0), "MiB")) == "≤ 50 MiB"
    assert bench.target_text(row(1.0, (">=", 100.0), "presses/s")) == "≥ 100 presses/s"
    assert bench.target_text(row(1.0, ("within", 5.0), "%")) == "within ±5 %"
    assert bench.target_text(row(1.0, ("<=", 16.84, "floor + 16.7 ms"))) == \
        "≤ floor + 16.7 ms (16.8 ms)"


def test_the_table_marks_what_is_not_met():
    text = bench.table([row(0.9, ("<=", 1.0), what="one-tile update"),
                        dict(row(55.0, ("<=", 50.0), "MiB", "PSS"), note="in a window")])
    lines = text.splitlines()
    assert lines[2] == "| test | one-tile update | 0.9 | ms | ≤ 1 ms | met |"
    assert lines[3] == "| test | PSS (in a window) | 55 | MiB | ≤ 50 MiB | **not met** |"


def test_a_run_writes_the_report_and_the_json(tmp_path, monkeypatch):
    class Part:
        @staticmethod
        def measure():
            return [row(2.0, ("<=", 3.0), what="full redraw"), row(7.0, None, what="other")]

    monkeypatch.setattr(bench, "PARTS", ("fake",))
    monkeypatch.setattr(bench.importlib, "import_module", lambda name: Part)
    monkeypatch.setattr(bench, "versions", lambda: {"python": "3.x"})
    out, data = tmp_path / "BENCHMARKS.md", tmp_path / "bench.json"
    assert bench.main(["--out", str(out), "--json", str(data)]) == 0
    assert "| fake | full redraw | 2 | ms | ≤ 3 ms | met |" in out.read_text()
    figures = json.loads(data.read_text())["figures"]
    assert figures[0] == {"part": "fake", "what": "full redraw", "value": 2.0, "unit": "ms",
                          "target": "≤ 3 ms", "met": True, "note": None}
    assert figures[1]["met"] is None


def test_the_follower_reads_whole_lines_as_they_come(tmp_path):
    path = tmp_path / "frames.jsonl"
    follower = FrameFollower(str(path))
    assert follower.poll() == []
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"t": 1.0, "tiles": []}\n{"t": 2.0, "ti')
    assert follower.poll() == [{"t": 1.0, "tiles": []}]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('les": []}\n')
    assert follower.wait(lambda frame: frame["t"] == 2.0, timeout=1) == {"t": 2.0,
                                                                         "tiles": []}


def test_percentiles_are_by_nearest_rank():
    samples = list(range(1, 101))
    assert percentile(samples, 0.5) in (50, 51)
    assert percentile(samples, 0.99) == 99
    assert percentile([7], 0.99) == 7


def test_a_target_in_words_only_is_shown_and_not_judged():
    assert bench.target_text(row(3.0, "≤ 1 % of a core")) == "≤ 1 % of a core"
    assert bench.met(row(3.0, "≤ 1 % of a core")) is None


# -- ratio targets: a timing judged against a figure of the same run ---------------

def test_a_timing_is_also_judged_by_its_ratio_to_a_figure_of_the_same_run():
    rows = [dict(row(800.0, ("<=", 1000.0), what="burst: 10000 states across 200 wards"),
                 part="paint"),
            dict(row(140.0, None, what="  … of which the broker took the messages in"),
                 part="paint"),
            dict(row(2000.0, ("<=", 1000.0), what="burst: 10000 states elsewhere"),
                 part="other")]
    judged = bench.by_ratio(rows)
    assert len(judged) == 4
    ratio = judged[1]
    assert ratio["part"] == "paint" and ratio["unit"] == "×"
    assert abs(ratio["value"] - 800.0 / 140.0) < 1e-9
    assert bench.met(ratio) is True
    assert "140 ms, same run" in ratio["what"]
    slower = bench.by_ratio([dict(rows[0], value=1200.0), rows[1]])
    assert bench.met(slower[1]) is False        # 8.6 × the broker's intake
    assert bench.by_ratio([rows[0]]) == [rows[0]]   # no reference measured: no verdict


def test_the_ratio_targets_name_figures_the_parts_report():
    from benchmarks import paint
    with open(paint.__file__, encoding="utf-8") as handle:
        source = handle.read()
    for part, what, reference, _, _ in bench.RATIOS:
        assert part == "paint"
        assert what == "burst: %d states" % paint.BURST_MESSAGES
        assert 'what="burst: %d states across' in source
        assert reference in source

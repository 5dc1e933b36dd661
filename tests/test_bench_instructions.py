"""`make bench`'s instruction counts: the machinery, on tiny parts (never a speed asserted).

The full counts take minutes under valgrind and are ``make bench``'s; here,
that counting starts and stops where the marks say (no interpreter start-up,
no imports), that a count repeats within the 2 % the report promises, that
the scenarios name the parts the report expects, and the projection's
arithmetic.
"""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import callgrind, counted, instructions, pi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SNIPPET = """
from benchmarks.callgrind import Marks
marks = Marks()
def work(n):
    return sum(i * i for i in range(n))
work(1000)
marks.start(); work(20000); marks.stop("work x1")
marks.start(); work(40000); marks.stop("twice the work x1")
marks.start(); marks.stop("nothing x1")
"""


@pytest.fixture(scope="module")
def marks_library(tmp_path_factory):
    why = callgrind.available()
    if why:
        pytest.skip("cannot count instructions here: %s" % why)
    return callgrind.build_marks(str(tmp_path_factory.mktemp("marks")))


def test_only_the_marked_part_is_counted_and_again_the_same(marks_library):
    env = dict(os.environ, PYTHONPATH=ROOT)
    runs = [callgrind.count([callgrind.python(), "-c", SNIPPET], env=env,
                            library=marks_library) for _ in range(2)]
    for parts, objects in runs:
        assert set(parts) == {"work x1", "twice the work x1", "nothing x1"}
        # nothing between the marks: a few thousand instructions for the calls
        # themselves, not the interpreter's start-up (~40 M) or an import
        assert parts["nothing x1"] < 20000
        assert parts["work x1"] > 1000000
        assert 1.9 < parts["twice the work x1"] / parts["work x1"] < 2.1
        # the libraries' shares add up to the part's count
        assert sum(objects["work x1"].values()) == parts["work x1"]
        assert instructions.shares(objects["work x1"]) == "Python 100 %"
    counts = [parts["work x1"] for parts, _ in runs]
    assert instructions.spread(counts) < instructions.SPREAD_TARGET


def test_a_whole_process_is_counted_from_its_start(marks_library):
    parts, _ = callgrind.count([callgrind.python(), "-c", "pass"], at_start=True)
    assert 5000000 < parts["process"] < 500000000


def test_outside_valgrind_the_marks_do_nothing_but_time(marks_library):
    marks = callgrind.Marks(marks_library)
    assert not marks.counting
    marks.start()
    marks.stop("a part x3")
    assert marks.names == ["a part x3"] and marks.seconds["a part x3"] >= 0


def test_the_scenarios_count_the_parts_the_report_names():
    wanted = {(f.scenario, f.part) for f in instructions.FIGURES}
    for scenario in ("press", "redraw-1080p"):
        result = subprocess.run([sys.executable, "-m", "benchmarks.counted", scenario],
                                capture_output=True, text=True, timeout=120, cwd=ROOT,
                                check=True)
        parts = json.loads(result.stdout.strip().splitlines()[-1])
        assert {(scenario, name.rpartition(" x")[0]) for name in parts} == \
            {pair for pair in wanted if pair[0] == scenario}
    assert set(instructions.SCENARIOS) <= set(counted.SCENARIOS)


def test_a_count_is_projected_onto_a_pi():
    # 1.5 G instructions at one a cycle on 1.5 GHz: one second
    assert pi.seconds(1.5e9, pi.PI4, ratio=1.0, ipc=1.0) == pytest.approx(1.0)
    assert pi.seconds(1.5e9, pi.PI4, ratio=1.2, ipc=1.0) == pytest.approx(1.2)
    assert pi.pessimistic(1.5e9, pi.PI4, (1.0, 1.3)) == pytest.approx(1.3 / pi.PI4.low)
    assert pi.seconds(1e9, pi.PI5) < pi.seconds(1e9, pi.PI4)


def test_each_figure_has_its_count_and_its_pi_projections_judged():
    figure = instructions.Figure("s", "one-tile update", "one-tile update", 2.0)
    counts = {("s", "one-tile update"): [2.00e6, 2.01e6, 1.99e6]}
    native = {("s", "one-tile update"): (0.0005, 2.0e6)}     # CPU s, the marked count
    rows = instructions.rows_for(figure, counts, {}, native, 1.0, (1.0, 1.3))
    assert [r["unit"] for r in rows] == ["M instructions", "ms", "ms"]
    assert rows[0]["value"] == pytest.approx(2.0)
    assert "spread 1.00 %" in rows[0]["note"] and "4.00 G instructions/s" in rows[0]["note"]
    assert rows[1]["target"] == ("<=", 2.0) and "Pi 4" in rows[1]["what"]
    assert rows[1]["value"] == pytest.approx(2e6 / (1.5e9 * pi.PI4.ipc) * 1e3)
    # met at the central IPC (1.67 ms), not at the pessimistic end (2.89 ms)
    assert rows[1]["note"] == "pessimistic 2.89 ms: not met"
    assert "target" not in rows[2]              # the Pi 5 is shown, not judged
    assert instructions.rows_for(figure, {}, {}, {}, 1.0, (1.0, 1.3)) == []


def test_a_calibration_file_sets_the_instruction_ratio(tmp_path):
    path = tmp_path / "calibration.json"
    assert pi.arm_ratio(str(path))[2] == "assumed, not calibrated"
    path.write_text(json.dumps({"ratio": 1.08, "range": [1.02, 1.14], "how": "qemu"}))
    assert pi.arm_ratio(str(path)) == (1.08, (1.02, 1.14), "calibrated: qemu")
    path.write_text("{not json")
    assert pi.arm_ratio(str(path))[0] == pi.ARM_PER_X86


def test_the_calibration_says_what_it_measured_and_what_it_assumed():
    from benchmarks import calibrate
    mine, debian, arm = "this venv (callgrind)", "Debian amd64 (qemu)", "Debian arm64 (qemu)"
    amd64_only = {"a": {mine: 100.0, debian: 90.0}, "b": {mine: 200.0, debian: 160.0}}
    partly = calibrate.summary(amd64_only)
    assert partly["ratio"] == pytest.approx(pi.ARM_PER_X86 * 0.85)
    assert partly["how"].startswith("partly measured") and "assumed" in partly["how"]
    both = {"a": {mine: 100.0, debian: 90.0, arm: 110.0},
            "b": {mine: 200.0, debian: 160.0, arm: 240.0},
            "c": {mine: 100.0, debian: 90.0, arm: 100.0}}
    measured = calibrate.summary(both)
    assert measured["ratio"] == pytest.approx(1.1)
    assert measured["range"] == [1.0, 1.2]
    assert measured["how"].startswith("measured")


def test_the_qemu_counting_plugin_builds(tmp_path):
    if callgrind.available():
        pytest.skip(callgrind.available())
    from benchmarks import calibrate
    library = calibrate.build_plugin(str(tmp_path))
    assert os.path.getsize(library) > 0


def test_the_burst_less_its_floor_is_the_boards_own_part():
    counts = {("burst", "burst"): [6.0e9, 6.1e9, 5.9e9],
              ("burst-floor", "burst floor"): [1.4e9, 1.3e9, 1.35e9]}
    rows = instructions._board_share(counts, 1.0, (1.0, 1.3))
    assert rows[0]["value"] == pytest.approx((6.0e9 - 1.35e9) / 1e6)
    assert rows[0]["note"] == "465 k a message"
    assert rows[1]["value"] == pytest.approx(4.65e9 / (1.5e9 * pi.PI4.ipc) * 1e3)
    assert instructions._board_share({("burst", "burst"): [1.0]}, 1.0, (1.0, 1.3)) == []


def test_the_bursts_floor_takes_every_message_with_no_board_behind_it():
    # the floor scenario runs on its own private Mosquitto; natively it only times
    result = subprocess.run([sys.executable, "-m", "benchmarks.counted", "burst-floor"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            check=True)
    parts = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(parts) == ["burst floor x1"] and parts["burst floor x1"] > 0

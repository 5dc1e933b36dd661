"""`bed-agent --simulate-from FIFO`: presses written to a named pipe by other processes, for as long as it runs.

What the booted-system test uses to press an agent that runs under its real
unit on mock pins (docs/install.md, "Without a screen or buttons").
"""

import os
import signal
import subprocess
import time

from bedboard.payloads import WardState

from .agent_helpers import STATE, STATUS, agent_command, run_agent, wait_state, write_config


def _write(fifo, line):
    # Each writer opens the pipe, writes one command and closes it, as `echo … | tee` does.
    with open(fifo, "w", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _answer(process, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            return line.rstrip("\n")
    raise AssertionError("no answer from the agent within %d s" % timeout)


def test_presses_from_two_writers_in_turn_and_the_agent_keeps_running(tmp_path, mosquitto,
                                                                       probe):
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    fifo = str(tmp_path / "simulate")
    process = subprocess.Popen(agent_command(config, "--simulate-from", fifo),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(fifo) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert os.stat(fifo).st_mode & 0o777 == 0o600
        _write(fifo, "press taken")
        assert _answer(process) == "accepted taken: occupied 11/40, vacant 29, seq 1"
        # the first writer closed the pipe: the agent neither stopped nor lost it
        time.sleep(0.5)
        assert process.poll() is None
        _write(fifo, "press freed")
        assert _answer(process) == "accepted freed: occupied 10/40, vacant 30, seq 2"
        final = wait_state(probe, 2)
        assert (final.occupied, final.vacant) == (10, 30)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert probe.wait_topic(STATUS, 2)[-1] == b"offline"
        assert WardState.parse(probe.on(STATE)[-1]).seq == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_path_that_is_not_a_pipe_is_refused_in_one_line(tmp_path):
    config = write_config(tmp_path, 1883)
    plain = tmp_path / "plain"
    plain.write_text("press taken\n")
    result = run_agent(config, "--simulate-from", str(plain), timeout=30)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip().splitlines()[-1] == \
        "bed-agent: --simulate-from %s: exists and is not a named pipe" % plain
    assert "Traceback" not in result.stderr
    result = run_agent(config, "--simulate", "--simulate-from", str(plain), timeout=30)
    assert result.returncode == 2
    assert "--simulate and --simulate-from do not go together" in result.stderr

"""`bed-agent` as a user runs it: exit codes, --check, --simulate, SIGTERM and SIGKILL."""

import os
import signal
import subprocess
import time

from bedboard.payloads import WardState

from .agent_helpers import (STATE, STATUS, agent_command, run_agent, states, wait_state,
                            write_config)


def test_check_says_ok_or_lists_every_problem(tmp_path):
    good = write_config(tmp_path, 1884)
    result = run_agent(good, "--check")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("config OK: agent nrs-medicine-female-2, ward "
                                    "nrs/medicine/female-2, capacity 40, broker "
                                    "127.0.0.1:1884, inputs: freed (freed, GPIO17)")
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(good).read().replace("capacity: 40", "capacity: lots")
                   .replace("heartbeat: 60", "heartbeat: 0"))
    result = run_agent(str(bad), "--check")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "bad.yaml:6: agent.capacity: must be a whole number, got 'lots'",
        "bad.yaml:9: agent.heartbeat: must be between 1 and 3600, got 0"]
    result = run_agent(str(tmp_path / "missing.yaml"), "--check")
    assert result.returncode == 2 and "missing.yaml: cannot read" in result.stderr
    result = run_agent(good, "--check", "--broker", "host:notaport")
    assert result.returncode == 2 and result.stderr.startswith("--broker: port must be")
    result = subprocess.run(agent_command(good)[:-2], capture_output=True, text=True)
    assert result.returncode == 2 and "--config" in result.stderr


def test_simulate_from_a_shell(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, 1883, capacity=40, occupied=31)
    result = run_agent(config, "--simulate", "--broker", "127.0.0.1:%d" % mosquitto.port,
                       stdin="press taken\npress freed\n\n# a comment\n"
                             "press nothing\nfly taken\nhold taken 0.2\n"
                             "close taken\npress blocked\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "accepted taken: occupied 32/40, vacant 8, seq 1",
        "accepted freed: occupied 31/40, vacant 9, seq 2",
        "error: line 5: no input named 'nothing' (inputs: freed, taken, blocked, "
        "unblocked)",
        "error: line 6: unknown command 'fly': use press NAME, hold NAME SECONDS, "
        "close NAME, open NAME or wait SECONDS",
        "accepted taken: occupied 32/40, vacant 8, seq 3",
        "error: line 8: taken is a button: use press taken",
        "accepted blocked: occupied 32/40, vacant 7, blocked 1, seq 4",
    ]
    assert "Traceback" not in result.stderr
    # it delivered everything before it exited
    final = WardState.parse(probe.wait_topic(STATE)[-1])
    assert (final.seq, final.occupied, final.blocked) == (4, 32, 1)
    assert probe.wait_topic(STATUS, 2)[-1] == b"offline"


def test_simulate_gives_up_on_an_undeliverable_change_with_status_1(tmp_path, mosquitto):
    config = write_config(tmp_path, mosquitto.port)
    assert run_agent(config, "--simulate", stdin="press taken\n").returncode == 0
    mosquitto.stop()
    result = run_agent(config, "--simulate", "--deliver-wait", "0.5",
                       stdin="press taken\n")
    assert result.returncode == 1
    assert result.stdout == "accepted taken: occupied 12/40, vacant 28, seq 2\n"
    assert ("gave up waiting for delivery: the ledger was never checked against the "
            "broker; 1 event(s) not acknowledged by the broker; the current state not "
            "acknowledged by the broker") in result.stderr
    mosquitto.start()
    assert run_agent(config, "--simulate").returncode == 0   # delivered at last


def test_no_gpio_is_one_clear_line(tmp_path):
    result = run_agent(write_config(tmp_path, 1884))
    assert result.returncode == 1
    assert result.stderr.startswith("bed-agent: no GPIO: lgpio: the lgpio library is "
                                    "not installed")
    assert "Traceback" not in result.stderr


def test_the_ledger_of_another_ward_is_refused(tmp_path, mosquitto):
    config = write_config(tmp_path, mosquitto.port)
    assert run_agent(config, "--simulate").returncode == 0
    other = tmp_path / "other.yaml"
    other.write_text(open(config).read().replace("ward: female-2", "ward: male-1"))
    result = run_agent(str(other), "--simulate")
    assert result.returncode == 1
    assert "holds the count of ward nrs/medicine/female-2, but this config is for " \
           "nrs/medicine/male-1" in result.stderr


class Agent:
    """``python -m agent --simulate`` as a process, fed one command at a time."""

    def __init__(self, config):
        self.process = subprocess.Popen(
            agent_command(config, "--simulate"), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)

    def say(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def signal(self, signum, timeout=10):
        self.process.send_signal(signum)
        self.process.wait(timeout)
        self.process.stdin.close()
        self.process.stdout.close()
        stderr = self.process.stderr.read()
        self.process.stderr.close()
        return self.process.returncode, stderr


def test_sigterm_says_offline_and_exits_0(tmp_path, mosquitto, probe):
    agent = Agent(write_config(tmp_path, mosquitto.port))
    assert agent.say("press taken").startswith("accepted taken")
    code, stderr = agent.signal(signal.SIGTERM)
    assert code == 0 and "Traceback" not in stderr
    probe.wait_for(lambda ms: [m for m in ms if m.topic == STATUS
                               and m.payload == b"offline"])
    statuses = probe.on(STATUS)
    assert statuses[-1] == b"offline" and set(statuses[:-1]) == {b"online"}


def test_sigkill_right_after_presses_keeps_count_and_seq(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    agent = Agent(config)
    for kind in ("taken", "taken", "blocked", "freed", "taken"):
        assert agent.say("press " + kind).startswith("accepted " + kind)
    os.kill(agent.process.pid, signal.SIGKILL)       # no time to publish or tidy up
    code, _ = agent.signal(signal.SIGKILL)
    assert code == -signal.SIGKILL

    again = Agent(config)
    assert again.say("press freed") == "accepted freed: occupied 11/40, vacant 28, " \
                                       "blocked 1, seq 6"
    code, _ = again.signal(signal.SIGTERM)
    assert code == 0
    wait_state(probe, 6)
    # each seq stands for one state only, whatever was or was not published
    seen = {}
    for state in states(probe):
        key = (state.capacity, state.occupied, state.blocked)
        assert seen.setdefault(state.seq, key) == key, "seq %d reused" % state.seq
    assert seen[6] == (40, 11, 1)


def test_sigkill_in_a_burst_loses_no_acknowledged_press(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port, capacity=400, occupied=0)
    process = subprocess.Popen(agent_command(config, "--simulate"),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, bufsize=1)
    process.stdin.write("press taken\n" * 200)
    process.stdin.flush()
    accepted = 0
    deadline = time.monotonic() + 30
    while accepted < 15 and time.monotonic() < deadline:
        if process.stdout.readline().startswith("accepted taken"):
            accepted += 1
    process.kill()                                   # mid-burst
    process.wait(10)
    process.stdin.close()
    process.stdout.close()
    result = run_agent(config, "--simulate")
    assert result.returncode == 0
    final = WardState.parse(probe.wait_topic(STATE)[-1])
    # every press it acknowledged is counted; at most the one in hand when killed more
    assert final.occupied == final.seq and accepted <= final.seq <= accepted + 1


def test_systemd_hears_ready_then_watchdog_pings_then_stopping(tmp_path, mosquitto):
    import socket
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=address, WATCHDOG_USEC="1000000")
        process = subprocess.Popen(agent_command(write_config(tmp_path, mosquitto.port),
                                                 "--simulate"),
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        heard = []
        while "READY=1" not in heard or heard[heard.index("READY=1"):].count(
                "WATCHDOG=1") < 2:
            heard.append(sock.recv(4096).decode().split("\n")[0])
        process.stdin.close()
        assert process.wait(10) == 0
        while "STOPPING=1" not in heard:
            heard.append(sock.recv(4096).decode().split("\n")[0])
    ready = heard.index("READY=1")
    # a fresh agent recovers from the broker first, extending its start timeout
    assert set(heard[:ready]) <= {"WATCHDOG=1", "EXTEND_TIMEOUT_USEC=30000000"}
    assert set(heard[ready:]) == {"READY=1", "WATCHDOG=1", "STOPPING=1"}
    assert heard.count("READY=1") == 1 and heard[-1] == "STOPPING=1"


def test_a_fresh_agent_waiting_for_its_broker_extends_its_start_timeout(tmp_path):
    import socket
    from bedboard.mosquitto import free_port
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(10)
        env = dict(os.environ, NOTIFY_SOCKET=address)
        process = subprocess.Popen(agent_command(write_config(tmp_path, free_port()),
                                                 "--simulate"),
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        try:
            first = sock.recv(4096).decode()
        finally:
            process.terminate()
            process.wait(10)
    # no broker, no ledger: not READY, but not hung either
    assert first == "EXTEND_TIMEOUT_USEC=30000000"

"""Checks and holds on the wire: held beds inside blocked, so no board counts them vacant.

docs/contract.md, "Checks and holds".  The old reader is the real one: the
payload parser and the board model as they were before holds existed
(commit 6daad13), fed the bytes a new agent publishes.
"""

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from agent import ward
from agent.ledger import Ledger
from agent.ward import HeldBeds, WardCounts
from bedboard.errors import ContractError
from bedboard.payloads import Hold, SetCommand, WardEvent, WardState
from bedboard.topics import WardKey
from display.board import Board
from display.config import Label, TileSpec

AT = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
WARD = WardKey("nrs", "medicine", "female-2")
BEFORE_HOLDS = "6daad13"      # main before issue 20: no held, no checked
ROOT = Path(__file__).resolve().parent.parent


def test_held_beds_are_inside_blocked_and_never_vacant():
    state = WardState(capacity=10, occupied=5, blocked=3, held=2, seq=1, at=AT, agent="a")
    assert (state.vacant, state.out_of_service) == (2, 1)
    with pytest.raises(ContractError, match="held beds are counted inside blocked: "
                                            "held 3 > blocked 2"):
        WardState(capacity=10, occupied=5, blocked=2, held=3, seq=1, at=AT, agent="a")


def test_holds_checks_and_their_details_round_trip():
    hold = Hold(id="set-20261125T180000Z-3fa9c1", beds=2, until=AT, left=5400,
                for_whom="Bankura SMC, ref 1234")
    state = WardState(capacity=10, occupied=5, blocked=3, held=2, seq=1, at=AT, agent="a",
                      checked=AT, checked_age=2400, holds=(hold,))
    sent = json.loads(state.to_json())
    assert sent["held"] == 2 and sent["checked"] == "2026-11-25T18:00:00Z"
    assert sent["holds"] == [{"id": "set-20261125T180000Z-3fa9c1", "beds": 2,
                              "for": "Bankura SMC, ref 1234",
                              "until": "2026-11-25T18:00:00Z", "left": 5400}]
    assert WardState.parse(state.to_json()) == state
    with pytest.raises(ContractError, match="holds list 2 beds, more than held 1"):
        WardState(capacity=10, occupied=5, blocked=3, held=1, seq=1, at=AT, agent="a",
                  holds=(hold,))


def test_an_old_agents_state_has_no_held_and_no_check():
    state = WardState.parse(b'{"v":1,"capacity":3,"occupied":1,"blocked":1,"seq":0,'
                            b'"at":"2026-11-25T18:00:00Z","agent":"a"}')
    assert (state.held, state.checked, state.checked_age, state.holds) == (None, None,
                                                                          None, ())


def test_hold_and_release_commands_and_what_an_old_agent_makes_of_them():
    hold = SetCommand(hold={"for": "Bankura SMC, ref 1234", "minutes": 90}, id="h1")
    assert json.loads(hold.to_json()) == {
        "id": "h1", "hold": {"for": "Bankura SMC, ref 1234", "beds": 1, "minutes": 90}}
    release = SetCommand.parse(b'{"id":"r1","release":{"hold":"h1","arrived":true}}')
    assert release.release == {"hold": "h1", "arrived": True}
    with pytest.raises(ContractError, match="one of them, got occupied, hold"):
        SetCommand(occupied=3, hold={"for": "x"})
    with pytest.raises(ContractError, match="a hold's for must be one line"):
        SetCommand(hold={"for": "two\nlines"})
    with pytest.raises(ContractError, match="hold has unknown keys: patient"):
        SetCommand(hold={"for": "x", "patient": "name"})
    events = WardEvent.parse(b'{"v":1,"kind":"expired","capacity":4,"occupied":1,'
                             b'"blocked":1,"held":1,"hold":"h1","seq":3,'
                             b'"at":"2026-11-25T18:00:00Z","agent":"a"}')
    assert (events.kind, events.held, events.hold) == ("expired", 1, "h1")


def new_agent_bytes(tmp_path):
    """What a new agent publishes for a ward of 10: 5 occupied, 1 blocked, 2 held."""
    ledger = Ledger.create(str(tmp_path), WARD, "nrs-medicine-female-2",
                           WardCounts(10, 5, 1), 7, AT, 10, "config")
    held = HeldBeds(id="h1", beds=2, minutes=90, placed=AT, for_whom="Bankura SMC")
    ledger.record(ward.hold(ledger.counts, held), "nrs-medicine-female-2", AT)
    data = ledger.state("nrs-medicine-female-2").to_json()
    ledger.close()
    return data


def test_a_new_agents_state_on_todays_board_shows_held_beds_as_blocked(tmp_path):
    data = new_agent_bytes(tmp_path)
    assert json.loads(data)["blocked"] == 3 and json.loads(data)["held"] == 2
    board = Board("nrs", (TileSpec("nrs", "medicine", None, Label("Medicine")),), now=0.0)
    board.set_connected(True, 0.0, AT)
    board.receive_state(WARD, WardState.parse(data), 1.0, AT)
    tile = board.view(1.0).tiles[0]
    assert (tile.vacant, tile.blocked, tile.occupied) == (2, 3, 5)


OLD_READER = """
import json, sys, types
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[1])           # the old bedboard/ and display/ packages
import bedboard.payloads
from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board
assert not hasattr(bedboard.payloads, "Hold"), "not the old parser"
from display.config import Label, TileSpec
at = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
state = WardState.parse(sys.stdin.buffer.read())
board = Board("nrs", (TileSpec("nrs", "medicine", None, Label("Medicine")),), now=0.0)
board.set_connected(True, 0.0, at)
board.receive_state(WardKey("nrs", "medicine", "female-2"), state, 1.0, at)
tile = board.view(1.0).tiles[0]
print(json.dumps({"vacant": tile.vacant, "blocked": tile.blocked,
                  "occupied": tile.occupied, "total": board.view(1.0).total_vacant}))
"""


def test_the_board_from_before_holds_never_counts_a_held_bed_vacant(tmp_path):
    old = tmp_path / "old"
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_HOLDS,
                                  "bedboard", "display"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip("no git history to take the old board from: %s" % exc)
    old.mkdir()
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    data = new_agent_bytes(tmp_path / "ledger")
    shown = subprocess.run([sys.executable, "-c", OLD_READER, str(old)], input=data,
                           capture_output=True, check=True, cwd=str(tmp_path),
                           env={"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy"})
    assert json.loads(shown.stdout) == {"vacant": 2, "blocked": 3, "occupied": 5,
                                        "total": 2}

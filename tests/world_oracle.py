"""The oracle of the world: what the board drew, judged against ground truth.

Not a restatement of the board's rules (tests/oracle.py is that): each
property below is about the world (:mod:`tests.world`) — which agents are
alive, when each last made progress, each ward's true counts and why its
free beds rose — and about what the renderer *drew* for each tile and the
footer (:meth:`display.render.Renderer.report`), on SDL's dummy driver.

* **(a)** a tile drawn live has, for every ward it counts, an agent that may
  be live, and its figure (vacant and "of N beds") equals the wards' true
  counts, allowing only delivery delay: a ward's count may be any it held
  since the newest of its publications the board was given.  Its vacant
  beds are capacity − occupied − out of service − held for a referral: a
  held bed is never drawn as vacant (issue 20);
* **(b)** a ward whose agent is dead (or hung, or cut off) is drawn not live
  within ``B`` = heartbeat × 1.25 + delivery of its last progress, and at
  once (within delivery) once its will fired — on every topology;
* **(c)** "beds just freed" ⇒ within the highlight's time a bed of the tile
  was freed (a discharge, a bed unblocked, a hold released or expired) by the panel that counts it
  now — a capacity correction is no discharge, and a replaced panel or a
  returned ward does not inherit one;
* **(d)** a live tile that leaves wards out says how many, in what was
  drawn for it (not in a line that was left out);
* **(e)** the footer's figure is the sum of the live tiles' figures, and
  when any ward is left out it says so (not the plain "Vacant beds" line);
* **(f)** a time of day drawn (clock, banner's "since") is the true one;
* **(g)** "panel was reset" is drawn only for a ward whose panel truly
  restarted from a lower count;
* **(h)** a tile whose every ward has one working agent whose news reaches
  the board, with a count nobody doubts, is drawn live with the true
  figure within ``L`` = heartbeat × 1.25 + delivery;
* **(i)** a tile's "N held for referral" is its live wards' held beds,
  allowing only delivery delay (issue 20);
* **(j)** "not checked" is drawn in a tile's bar only when one of its wards'
  last check (one the board may hold, as for (a)) is older than
  ``check_within``, of unknown age, or never made — and it is drawn on a
  live tile with a soundly reported ward whose last check is older than
  ``check_within`` + ``CHECK_SLACK`` (issue 20).  ``CHECK_SLACK``: the board
  times a check by the ``checked_age`` a state carries (whole seconds, so up
  to 1 s short) plus the time since it received that state, which reached it
  within ``DELIVERY`` of its publication; it can only be late by as much, so
  the first half needs no slack at all;
* **(k)** the footer's "N wards not checked" is between the soundly reported
  wards surely due and the wards that may be (as for (j)) (issue 20);
* **(r)** the board's own rules, kept beside the world's: a tile's state is
  always drawn in words, and FULL or FEW LEFT never with a ward left out
  (tests/oracle.py restates the rest, for tests/test_display_truth.py).

Old agents (no ``boot``) are judged as the contract still judges them: a
copy first seen by a board run may stand for ``retained_for``, and behind
a bridge (which strips the retain flag) they cannot be protected from a
replay for ``stale_after``.
"""

import itertools
import os
import re

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

from display.config import BurnIn, DisplaySettings, Label  # noqa: E402
from display.fonts import FontBook  # noqa: E402
from display.render import Renderer  # noqa: E402
from display.text import TextPainter  # noqa: E402
from display.views import Status  # noqa: E402
from display.words import Words  # noqa: E402

DELIVERY = 1.0            # seconds a message may take to reach the board
CHECK_SLACK = DELIVERY + 1.0   # (j): how late the board may call a check due
_TIME = re.compile(r"\b(\d\d):(\d\d)\b")
_PAINTER = None


def painter():
    """One TextPainter for the process (fonts load once)."""
    global _PAINTER  # pylint: disable=global-statement
    if _PAINTER is None:
        pygame.font.init()
        _PAINTER = TextPainter(FontBook())
    return _PAINTER


_DRAWINGS = {}


def drawing(size):
    """The Drawing of this size (one per process: a renderer's fonts and layout are
    costly to make, and a screen is reused whatever boards it shows)."""
    if size not in _DRAWINGS:
        _DRAWINGS[size] = Drawing(size)
    found = _DRAWINGS[size]
    found.renderer.invalidate()
    return found


class Drawing:
    """A renderer on a dummy surface: draws a view, says what it drew."""

    def __init__(self, size):
        self.words = Words()
        self.settings = DisplaySettings(id="lobby", title=Label("NRS Hospital"),
                                        burn_in=BurnIn(pixels=0))
        self.renderer = Renderer(self.settings, self.words, painter(), size)
        self.surface = pygame.Surface(size)

    def draw(self, view, now, local):
        self.renderer.draw(self.surface, view, now, local)
        return self.renderer.report()

    def english(self, key, **fields):
        return self.words.each(key, **fields)[0][1]


# -- the truth about one ward ---------------------------------------------------

def bound(world, agent):
    """B: how long after its last progress an agent's ward may still be shown live."""
    if agent.new:
        return 1.25 * agent.heartbeat + DELIVERY
    return world.stale_after + DELIVERY


def excused(world, agent):
    """Whether the board may show this agent's ward live now: it is alive, or it died
    too recently for the board to know (its will not yet due, its silence within B)."""
    t = world.t
    if agent.working:
        return True
    if not agent.new and agent.will_at is not None and world.bridge_replayed is not None \
            and agent.will_at <= world.bridge_replay_ended \
            and t <= world.bridge_replayed + world.stale_after + DELIVERY:
        return True         # a replay after (or with) its will: its last state comes
        #                     again after the will, without the retain flag, and an old
        #                     agent's state again is its heartbeat — it cannot be told apart
    news = world.news.get(agent.name)
    if agent.will_at is not None and t - agent.will_at > DELIVERY and not (
            news is not None and news > agent.will_at):
        return False        # its will is due; unless news from before its death came
        #                     after it (a bridge replays in its own order): then B
    if agent.published is not None and t - agent.published <= bound(world, agent):
        return True
    if news is not None and t - news <= bound(world, agent):
        return True         # its last progress reached the board late (a bridge was
        #                     down): B runs from when the board could know it
    if not agent.new:
        first = world.deliveries.get(agent.name)
        if first is not None and t <= first + world.retained_for + DELIVERY:
            return True          # a copy first seen by this board run: the retained rule
        if world.bridge_replayed is not None and \
                t <= world.bridge_replayed + world.stale_after + DELIVERY:
            return True          # a replay without the retain flag: old agents cannot tell
    return False


def allowed(world, key):
    """``{(vacant, capacity)}`` the board may show live for ward ``key`` (empty: none)."""
    since = min(world.t - DELIVERY, world.delivered.get(key, world.t))
    found = set()
    for agent in world.owners(key) + [a for a in world.gone if a.key == key]:
        if excused(world, agent):
            found |= {(c - o - b, c) for c, o, b in agent.counts_since(since)}
    return found


def explained(options, figure, missing, limit=20000):
    """Whether some choice (a value, or left out) per ward sums to ``figure`` with at
    most ``missing`` wards left out."""
    combos = 1
    for values in options:
        combos *= len(values) + 1
    if combos > limit:
        return True             # too many to try: say nothing rather than guess
    for choice in itertools.product(*[list(values) + [None] for values in options]):
        if sum(1 for c in choice if c is None) > missing:
            continue
        vacant = sum(c[0] for c in choice if c is not None)
        capacity = sum(c[1] for c in choice if c is not None)
        if (vacant, capacity) == figure:
            return True
    return False


# -- the properties ---------------------------------------------------------------

def check_view(world, view, between=False):
    """(a) and (b) on the board's view alone.

    ``between``: in the middle of a burst, where only (b) is judged, and only
    for the wards whose state this board run has already been given.
    """
    problems = []
    for spec, tile in zip(world.specs, view.tiles):
        if not tile.live:
            continue
        keys = world.wards(spec)
        if between:
            keys = [k for k in keys if k in world.delivered]
        options = [allowed(world, k) for k in keys]
        dead = [k for k, values in zip(keys, options) if not values]
        if len(dead) > tile.missing:
            problems.append(("b", "%s drawn live (%s, %d of %d missing) though %s no agent "
                             "that may be live: %s" % (
                                 spec.label.en, tile.status.value, tile.missing,
                                 tile.wards, ", ".join("ward %s has" % k.ward for k in dead),
                                 {k.ward: _agents(world, k) for k in dead})))
        if between:
            continue
        figure = (tile.vacant, tile.capacity)
        if not explained(options, figure, tile.missing):
            problems.append(("a", "%s drawn live %r (%d missing) is not its wards' truth "
                             "%s" % (spec.label.en, figure, tile.missing,
                                     {k.ward: sorted(o) for k, o in zip(keys, options)})))
    return problems


def check_drawn(world, view, report, drawing, local):
    """Every property, on what was drawn."""
    problems = check_view(world, view)
    tiles = {r.index: r for r in report if r.part == "tile"}
    words = drawing
    freed = words.english("freed")
    reset = words.english("panel-reset")
    for index, (spec, tile) in enumerate(zip(world.specs, view.tiles)):
        drawn = tiles.get(index)
        if drawn is None:
            continue                # on another page
        phrases = [t.phrase for t in drawn.texts]
        problems += _check_rules(spec, tile, drawn)
        said = [t.phrase for t in drawn.texts if t.role not in (
            "label", "figure", "of-beds", "occupied", "blocked", "updated")]
        if tile.live and tile.missing and not any(
                _says_number(p, tile.missing) for p in said):
            problems.append(("d", "%s leaves out %d of %d wards but what was drawn does "
                             "not say so: %r (left out: %r)" % (
                                 spec.label.en, tile.missing, tile.wards, said,
                                 drawn.left_out)))
        if any(freed in p for p in phrases):
            problems += _check_highlight(world, spec)
        if any(reset in p for p in phrases):
            keys = world.wards(spec)
            # (a panel since replaced was reset all the same)
            if not any(a.lowered for k in keys for a in world.owners(k) + [
                    g for g in world.gone if g.key == k]):
                problems.append(("g", "%s says a panel was reset, but no panel of its wards "
                                 "restarted from a lower count: %s" % (
                                     spec.label.en,
                                     {k.ward: _agents(world, k) for k in keys})))
    problems += _check_footer(world, view, report, drawing)
    problems += _check_times(world, report, drawing, local)
    problems += check_sound(world, view)
    # (i), (j), (k) in their own module, which builds on this one's (a)
    from .world_oracle_checks import check_checks_and_holds  # noqa: PLC0415 (a cycle)
    problems += check_checks_and_holds(world, view, report, drawing)
    return problems


def _check_rules(spec, tile, drawn):
    """(r), the board's own rules kept beside the world's: the state is always drawn
    in words, and FULL or FEW LEFT is never claimed while a ward is left out."""
    problems = []
    if not any(t.role == "state" for t in drawn.texts):
        problems.append(("r", "%s: its state was not drawn (left out: %r)" % (
            spec.label.en, drawn.left_out)))
    if tile.status in (Status.FULL, Status.FEW_LEFT) and tile.missing:
        problems.append(("r", "%s says %s with %d of its wards left out" % (
            spec.label.en, tile.status.value, tile.missing)))
    return problems


def _check_highlight(world, spec):
    """(c): some ward of the tile had a bed freed (a discharge, or a bed unblocked)
    within the highlight's time, by the panel that counts it now — not by a panel
    since replaced or a ward since retired — and capacity is no discharge."""
    rises = sorted(r for k in world.wards(spec) for r in world.rises.get(k, ())
                   if world.t - r[0] <= world.highlight + DELIVERY)
    if any(cause in ("discharge", "unblock", "released", "expired")
           and agent in world.agents
           for _, _, cause, agent in rises):
        return []
    return [("c", "%s says beds just freed, but its free beds last rose by %s" % (
        spec.label.en, "%s (%s)" % (rises[-1][2], rises[-1][3]) if rises
        else "nothing within the highlight"))]


def _check_footer(world, view, report, drawing):
    problems = []
    footer = [r for r in report if r.part == "total"]
    if not footer or view.total_vacant is None or not view.connected:
        return problems
    drawn = footer[0]
    if drawn.left_out:
        problems.append(("e", "the footer was left out: %r" % (drawn.left_out,)))
    live = [t.vacant for t in view.tiles if t.live]
    if view.total_vacant != sum(live):
        problems.append(("e", "the footer says %d, the live tiles sum to %d" % (
            view.total_vacant, sum(live))))
    wards = sum(len(world.wards(s)) for s in world.specs)
    counted = sum(t.wards - t.missing for t in view.tiles if t.live)
    plain = drawing.english("total", n=view.total_vacant)
    if counted < wards and any(t.phrase.split(" · ")[0] == plain for t in drawn.texts):
        problems.append(("e", "the footer says %r, but %d of the board's %d wards are not "
                         "counted and it does not say so" % (plain, wards - counted, wards)))
    return problems


def _check_times(world, report, drawing, local):
    problems = []
    zone = drawing.settings.zone
    for part in report:
        if part.part not in ("banner", "clock"):
            continue
        truth = world.link_changed_true if part.part == "banner" else world.true_wall()
        if truth is None:
            continue
        for text in part.texts:
            for hours, minutes in _TIME.findall(text.phrase):
                shown = int(hours) * 60 + int(minutes)
                true = truth.astimezone(zone)
                want = true.hour * 60 + true.minute
                if min(abs(shown - want), 1440 - abs(shown - want)) > 1:
                    problems.append(("f", "the %s says %s:%s; the true time is %s" % (
                        part.part, hours, minutes, true.strftime("%H:%M"))))
    return problems


def check_sound(world, view):
    """(h): tiles whose every ward is soundly reported are live, whole and true."""
    problems = []
    for spec, tile in zip(world.specs, view.tiles):
        keys = world.wards(spec)
        if not keys or not all(_sound_for(world, k) for k in keys):
            continue
        truth = [world.owners(k)[0].counts for k in keys]
        vacant = sum(c - o - b for c, o, b in truth)
        capacity = sum(c for c, _, _ in truth)
        if not (tile.live and tile.missing == 0 and (tile.vacant, tile.capacity) == (
                vacant, capacity)):
            problems.append(("h", "%s: every ward soundly reported for %s s, but it shows "
                             "%s %r, %d missing (truth %r)" % (
                                 spec.label.en, _sound_bound(world, keys), tile.status.value,
                                 (tile.vacant, tile.capacity), tile.missing,
                                 (vacant, capacity))))
    return problems


def _sound_bound(world, keys):
    return max(1.25 * world.owners(k)[0].heartbeat for k in keys) + DELIVERY


def _sound_for(world, key):
    owners = world.owners(key)
    if len(owners) != 1:
        return False
    agent = owners[0]
    if not (agent.working and agent.connected and world.board_link) or agent.doubtful:
        return False
    if agent.lowered and not agent.new:
        return False
    if world.topology == "bridge" and not world.bridge_up:
        return False
    since = max(agent.sound_since, world.sound_since)
    return world.t - since > 1.25 * agent.heartbeat + DELIVERY


def _says_number(phrase, number):
    return re.search(r"(?<!\d)%d(?!\d)" % number, phrase) is not None


def _agents(world, key):
    return ["%s(%s%s, published %s, will %s)" % (
        a.name, "new" if a.new else "old",
        "" if a.working else " dead", a.published, a.will_at) for a in world.owners(key)]


def worst(problems):
    """A readable failure message: the properties that failed, and each problem."""
    return "world properties failed: %s\n%s" % (
        ",".join(sorted({p for p, _ in problems})),
        "\n".join("(%s) %s" % item for item in problems))



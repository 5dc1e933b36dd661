"""The world oracle's properties of checks and holds (issue 20): (i) the held line,
(j) the "not checked" caution, (k) the footer's count of wards not checked —
judged on what was drawn, against the world's truth (tests/world_oracle.py's
docstring states them; :func:`tests.world_oracle.check_drawn` runs them)."""

import re

from .world_oracle import CHECK_SLACK, DELIVERY, _sound_for, excused, explained

_HELD = re.compile(r"(?<!\d)(\d+) held for referral")
_UNCHECKED = re.compile(r"(?<!\d)(\d+) wards? not checked in")


def due(world, key):
    """``(may, must)``: whether the board may call ward ``key``'s count check due now
    (one of the checks it may hold, as for (a), is past the bound, of unknown age or
    never made), and whether it must (the ward is soundly reported and its every such
    check is past the bound by ``CHECK_SLACK``)."""
    since = min(world.t - DELIVERY, world.delivered.get(key, world.t))
    within = world.check_within
    may, must = False, False
    for agent in world.owners(key) + [a for a in world.gone if a.key == key]:
        if not agent.new or not excused(world, agent):
            continue                # an old agent's ward: no checks, no caution
        checks = agent.checks_since(since)
        may = may or any(checked is None or not known or world.t - checked >= within
                         for checked, known in checks)
        if _sound_for(world, key):
            must = all(checked is None or not known
                       or world.t - checked >= within + CHECK_SLACK
                       for checked, known in checks)
    return may, must


def check_checks_and_holds(world, view, report, drawing):
    """(i), (j) and (k) on what was drawn."""
    problems = []
    tiles = {r.index: r for r in report if r.part == "tile"}
    caution = drawing.english("state-unchecked-short", s="").strip(" ·")
    for index, (spec, tile) in enumerate(zip(world.specs, view.tiles)):
        drawn = tiles.get(index)
        if drawn is None:
            continue
        keys = world.wards(spec)
        dues = {k: due(world, k) for k in keys}
        bar = [t.phrase for t in drawn.texts if t.role == "state"]
        said = any(caution in phrase for phrase in bar)
        if said and not any(may for may, _ in dues.values()):
            problems.append(("j", "%s says %r, but no ward's last check is past %d s: %s" % (
                spec.label.en, bar, world.check_within, _checks(world, keys))))
        if tile.live and not said and any(must for _, must in dues.values()):
            problems.append(("j", "%s is live with a soundly reported ward whose last check "
                             "is past %d s, but its bar says %r (left out: %r): %s" % (
                                 spec.label.en, world.check_within, bar, drawn.left_out,
                                 _checks(world, keys))))
        for phrase in (t.phrase for t in drawn.texts if t.role == "held"):
            for number in _HELD.findall(phrase):
                options = [_held_options(world, k) for k in keys]
                if not _sums_to(options, int(number), tile.missing):
                    problems.append(("i", "%s says %s held for referral; its wards hold %s" % (
                        spec.label.en, number, {k.ward: sorted(o) for k, o in
                                                zip(keys, options)})))
    problems += _check_unchecked_footer(world, view, report)
    return problems


def _check_unchecked_footer(world, view, report):
    """(k): the footer's count of wards not checked in time."""
    if not view.connected:
        return []
    problems = []
    for part in (r for r in report if r.part == "total"):
        for text in part.texts:
            for number in _UNCHECKED.findall(text.phrase):
                if int(number) != view.wards_unchecked:
                    problems.append(("k", "the footer says %s wards not checked; the board "
                                     "counts %d" % (number, view.wards_unchecked)))
    keys = sorted({k for spec in world.specs for k in world.wards(spec)})
    dues = [due(world, k) for k in keys]
    least, most = sum(1 for _, must in dues if must), sum(1 for may, _ in dues if may)
    if not least <= view.wards_unchecked <= most:
        problems.append(("k", "the board counts %d wards not checked; the truth: %d to %d" % (
            view.wards_unchecked, least, most)))
    return problems


def _held_options(world, key):
    since = min(world.t - DELIVERY, world.delivered.get(key, world.t))
    found = set()
    for agent in world.owners(key) + [a for a in world.gone if a.key == key]:
        if excused(world, agent):
            found |= agent.held_since(since) if agent.new else {0}
    return found


def _sums_to(options, figure, missing):
    """Whether some choice (a value, or left out) per ward sums to ``figure`` with at
    most ``missing`` wards left out (:func:`explained`, of one figure)."""
    return explained([{(value, 0) for value in values} for values in options],
                     (figure, 0), missing)


def _checks(world, keys):
    return {k.ward: ["%s(%s, checked %s%s)" % (a.name, "new" if a.new else "old", a.checked,
                                                "" if a.check_known else " age unknown")
                     for a in world.owners(k)] for k in keys}

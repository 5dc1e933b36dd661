"""What a tile says in words: its state bar, its notes and when it last changed.

The words, not where they go (display/tile.py draws them).  A tile whose
figure is not the whole truth says so in its state bar, which is never left
out (:func:`bar_for`); every reason that applies is a note of its own
(:func:`notes_for`), weightiest first.
"""

from .views import Reason, Status

MAX_NOTES = 6           # notes a tile may have: note, note-2, … note-6


def bar_for(view, words):
    """The state bar's phrases, the first that fits to be drawn: the state words,
    and — for a figure that is not the whole truth — how many wards it leaves
    out ("m of n wards missing", else "m missing"; with ", count in doubt" too
    where it fits and applies), or that it is in doubt.

    The bar is never left out (the board's plan makes room for the longest of
    these, :class:`BoardTexts`), so a missing ward is always on the wall.
    """
    status = view.status
    if view.vacant is None or status in (Status.NOT_REPORTING, Status.WAITING,
                                         Status.CHECKING):
        return [words.each(status.value)]
    base = _qualified_bar(view, words)
    if not view.check_due:
        return base
    return unchecked_bar(view, words, base)


def unchecked_bar(view, words, base):
    """The bar of a tile whose count check is due (issue 20): each of ``base``'s
    phrases with "count not checked for 5 h", then with "not checked"; then the
    shortest that says it — the state words with "not checked", or, when wards
    are missing, "m missing · not checked" (their "wards missing" is weightier,
    so it comes first).  The board's plan makes room for that last phrase
    (:class:`BoardTexts`), so neither is ever left out for lack of room."""
    def with_(key, **fields):
        return [words.each(key, s=lambda lang, parts=parts: dict(parts)[lang], **fields)
                for parts in base]
    if view.unchecked_minutes is None:
        longer = with_("state-unchecked-unknown")
    else:
        longer = with_("state-unchecked", d=lambda lang: words.duration(
            lang, view.unchecked_minutes))
    state = (lambda lang: words.say(view.status.value, lang))
    if view.missing:
        # (and, for more wards missing than the plan counts, the bar without
        # the caution rather than no bar)
        shortest = [words.each("state-missing-unchecked", m=view.missing)] + base
    else:
        shortest = [words.each("state-unchecked-short", s=state)]
    return longer + with_("state-unchecked-short") + shortest


def _qualified_bar(view, words):
    status = view.status
    state = (lambda lang: words.say(status.value, lang))
    if view.missing:
        both = [words.each("state-missing-doubt", s=state, m=view.missing, n=view.wards)] \
            if view.doubtful else []
        return both + [words.each("state-missing", s=state, m=view.missing, n=view.wards),
                words.each("state-missing-short", s=state, m=view.missing),
                words.each("state-missing-shortest", s=state)]
    if view.doubtful:
        return [words.each("state-doubt", s=state), words.each("state-doubt-short", s=state)]
    return [words.each(status.value)]


# Why a ward is missing, by the Reason's value (a Reason this does not know yet
# says the plain "m of n wards not reporting")
_MISSING_WHY = {Reason.CONNECTION.value: ("no-connection", "muted"),
                Reason.RESET.value: ("panel-reset", "warning"),
                Reason.OFFLINE.value: ("panel-offline", "muted"),
                "checking": ("missing-checking", "muted"),
                Reason.SILENT.value: ("missing-silent", "muted"),
                Reason.NEVER.value: ("never-heard", "muted")}


def notes_for(view, words):
    """``[(phrase parts, colour role)]``: every note a tile has, weightiest first.

    The notes say what is wrong with a tile's figure, or what just happened
    to it — each thing that applies, not only the weightiest: why its wards
    are not reporting, two panels on one ward, a panel reset, bed sensors
    that disagree, a count not yet confirmed, beds just freed.  When there is
    no room for them all they are left out from the last.  When its figures
    last changed is a separate line (:func:`updated_for`).
    """
    status = view.status
    if status is Status.WAITING:
        return []
    notes = []
    if view.conflict:
        notes.append((words.each("two-panels"), "warning"))
    reasons = view.reasons or ((view.reason,) if view.reason is not None else ())
    if status in (Status.NOT_REPORTING, Status.CHECKING):
        reason = view.reason
        if reason is Reason.CONNECTION:
            notes.append((words.each("no-connection"), "muted"))
        elif reason is Reason.RESET:
            notes.append((words.each("panel-reset"), "warning"))
        elif reason is Reason.OFFLINE or view.offline:
            notes.append((words.each("panel-offline"), "muted"))
        elif reason is not None and reason.value == "checking":
            notes.append((words.each("missing-checking"), "muted"))
        elif view.silent_minutes is not None:
            notes.append((words.each("silent", d=lambda lang: words.duration(
                lang, view.silent_minutes)), "muted"))
        else:
            notes.append((words.each("never-heard"), "muted"))
        reasons = reasons[1:]
    elif view.missing and not reasons:
        notes.append((words.each("missing", m=view.missing, n=view.wards), "warning"))
    for reason in reasons:
        key, role = _MISSING_WHY.get(reason.value, ("missing", "warning"))
        notes.append((words.each(key, m=view.missing, n=view.wards), role))
    if view.reset:
        notes.append((words.each("panel-reset"), "warning"))
    if view.mismatched:
        notes.append((words.each("mismatch", n=view.mismatched), "warning"))
    if view.unconfirmed:
        notes.append((words.each("unconfirmed"), "warning"))
    if view.highlighted:
        notes.append((words.each("freed"), "highlight"))
    seen, unique = set(), []
    for parts, role in notes:
        if tuple(parts) not in seen:
            seen.add(tuple(parts))
            unique.append((parts, role))
    return unique[:MAX_NOTES]


def note_for(view, words):
    """``(phrase parts, colour role)`` for a tile's first note, or (None, None)."""
    notes = notes_for(view, words)
    return notes[0] if notes else (None, None)


def updated_for(view, words):
    """``(phrase parts, colour role)`` for when a shown figure last changed, or (None, None)."""
    if view.vacant is None or view.status in (Status.WAITING, Status.NOT_REPORTING,
                                                 Status.CHECKING):
        return None, None
    if view.changed_minutes is None:
        return words.each("updated-unknown"), "muted"
    if view.changed_minutes == 0:
        return words.each("updated-now"), "muted"
    return words.each("updated", d=lambda lang: words.duration(
        lang, view.changed_minutes)), "muted"


def held_for(view, words):
    """``(phrase parts, colour role)`` for the beds held for a referral, or (None, None)."""
    if not view.held:
        return None, None
    return words.each("held", n=view.held), "detail"


def checked_for(view, words):
    """``(phrase parts, colour role)`` for when the count was last checked, while it is
    not due (a due check is in the state bar), or (None, None)."""
    if view.checked_minutes is None or view.check_due:
        return None, None
    if view.checked_minutes == 0:
        return words.each("checked-now"), "muted"
    return words.each("checked-ago", d=lambda lang: words.duration(
        lang, view.checked_minutes)), "muted"


def out_of_service(view):
    """The blocked beds a tile shows as blocked: those not held for a referral."""
    return max(0, (view.blocked or 0) - (view.held or 0))


def qualified(view):
    """Whether the tile's bar says its figure is not the whole truth (:func:`bar_for`)."""
    return view.vacant is not None and view.status not in (
        Status.NOT_REPORTING, Status.WAITING, Status.CHECKING) and not view.whole

"""Any inventory file: an Inventory whose every config its device accepts, or a config error.

Hostile bytes and inventory-shaped nonsense (the right keys with any values,
nested anyhow) must give either a ConfigError whose every problem names the
file, or an inventory from which plan makes configs that the devices' own
readers accept — the inventory's reader, not plan's last check, must catch
whatever a device would refuse.
"""

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bedboard.errors import ConfigError
from ops.inventory import read_inventory
from ops.plan import _check_made, made_configs

KEYS = ["hospital", "hospitals", "broker", "departments", "boards", "operators", "panel",
        "id", "name", "short", "label", "wards", "capacity", "occupied", "agent",
        "buttons", "beds", "freed", "taken", "status_led", "ack", "pin", "kind", "hold",
        "occupied_when", "tiles", "department", "hospital", "screen", "size", "rotate",
        "title", "message", "languages", "host", "port", "tls", "names", "prefix", "en",
        "bn", "1"]
SCALARS = (st.none() | st.booleans() | st.integers(-5, 100_001)
           | st.sampled_from(["sskm", "icu", "unit-1", "male", "a b", "", "Ünit", "x" * 70,
                              "10.0.0.1", "fe80::1", "open", "buzzer", "en", "crs/wb",
                              "12", "-", "a/b", "1.5"])
           | st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | st.integers(0, 30), inner,
                                        max_size=5), max_leaves=30)
def _mostly(valid):
    """Mostly ``valid`` values, sometimes anything at all."""
    return st.one_of(valid, valid, valid, valid, valid, valid, VALUES)


TEXT = st.text(max_size=12)
LABEL = _mostly(TEXT | st.fixed_dictionaries({}, optional={"en": TEXT, "bn": TEXT}))
PIN = st.integers(-1, 28)
PANEL = _mostly(st.fixed_dictionaries({}, optional={
    "buttons": st.dictionaries(st.sampled_from(["freed", "taken", "blocked", "unblocked",
                                                "swap"]), PIN, max_size=4),
    "beds": st.dictionaries(TEXT | st.integers(0, 40), PIN, max_size=5),
    "status_led": PIN,
    "ack": PIN | st.fixed_dictionaries({"pin": PIN}, optional={
        "kind": st.sampled_from(["led", "buzzer", "horn"])}),
    "occupied_when": st.sampled_from(["open", "closed", "ajar"]),
    "hold": st.floats(0, 12)}))
WARD = st.fixed_dictionaries({"id": st.sampled_from(["male", "unit-1", "w", "on", "0x10",
                                                     "007", "null", "1_0"]),
                              "capacity": st.integers(0, 40)},
                             optional={"occupied": st.integers(0, 40), "panel": PANEL,
                                       "label": LABEL,
                                       "agent": _mostly(st.sampled_from(
                                           ["a-1", "lobby-1", "tech", "x" * 65]))})
TILE = st.sampled_from(["icu", "medicine", "hdu", "xyz"]) | st.fixed_dictionaries(
    {"department": st.sampled_from(["icu", "medicine", "xyz"])},
    optional={"wards": st.lists(st.sampled_from(["male", "unit-1", "w", "q"]), max_size=3),
              "label": LABEL, "hospital": st.sampled_from(["sskm", "nrs", "zz"])})
INVENTORY = st.fixed_dictionaries(
    {"hospital": st.fixed_dictionaries({"id": st.sampled_from(["sskm", "nrs", "yes", "12"])},
                                       optional={"name": LABEL, "short": LABEL}),
     "broker": st.fixed_dictionaries(
         {"host": st.sampled_from(["broker.lan", "10.0.0.1", "fe80::1"])},
         optional={"tls": _mostly(st.booleans()), "port": _mostly(st.integers(0, 70000)),
                   "names": _mostly(st.lists(st.sampled_from(["10.0.0.2", "b.lan", "a b"]),
                                             max_size=3)),
                   "prefix": _mostly(st.sampled_from(["crs", "crs/wb", "a+b", ""]))}),
     "departments": st.lists(st.fixed_dictionaries(
         {"id": st.sampled_from(["icu", "medicine", "hdu"]),
          "wards": st.lists(WARD, min_size=1, max_size=3)},
         optional={"label": LABEL}), min_size=1, max_size=3)},
    optional={"boards": st.lists(st.fixed_dictionaries(
        {"id": st.sampled_from(["lobby-1", "lobby-2", "tech"])},
        optional={"tiles": _mostly(st.lists(TILE, max_size=4)),
                  "screen": _mostly(st.fixed_dictionaries({}, optional={
                      "size": st.lists(st.integers(100, 9000), min_size=2, max_size=2),
                      "rotate": st.sampled_from([0, 90, 45])})),
                  "title": LABEL, "message": LABEL,
                  "languages": _mostly(st.lists(st.sampled_from(["en", "bn", "fr"]),
                                                max_size=3))}), max_size=2),
        "operators": _mostly(st.lists(st.sampled_from(["bed-manager", "tech", "lobby-1",
                                                       "Sister"]), max_size=3)),
        "panel": PANEL})


def _judge(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("inventory")
    path = folder / "any.yaml"
    path.write_bytes(data)
    try:
        inventory = read_inventory(str(path))
    except ConfigError as exc:
        assert exc.problems and all(p.startswith("any.yaml:") for p in exc.problems), \
            exc.problems
        return
    _check_made(inventory, made_configs(inventory), str(folder / "devices"))


@settings(max_examples=80, deadline=None)
@given(document=INVENTORY)
def test_an_inventory_shaped_anyhow_is_planned_or_refused_at_its_lines(tmp_path_factory,
                                                                       document):
    _judge(tmp_path_factory, yaml.safe_dump(document, allow_unicode=True).encode())


@settings(max_examples=80, deadline=None)
@given(document=VALUES)
def test_any_yaml_is_an_inventory_or_a_config_error(tmp_path_factory, document):
    _judge(tmp_path_factory, yaml.safe_dump(document, allow_unicode=True).encode())


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=1500))
def test_any_bytes_are_an_inventory_or_a_config_error(tmp_path_factory, data):
    _judge(tmp_path_factory, data)

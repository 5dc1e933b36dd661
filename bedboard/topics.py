"""Topic names of the wire contract: the only place that builds or splits them.

docs/contract.md, "Names" and "Topics".  Hospital, department and ward ids are slugs of
at most 32 characters; device ids follow the same rule with up to 64.
"""

import re
from dataclasses import dataclass

from .errors import ContractError

DEFAULT_PREFIX = "crs"

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_DEVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_PREFIX_LEVEL = re.compile(r"[A-Za-z0-9_.-]{1,64}")

WARD_KINDS = ("state", "event", "set", "reply")


def check_slug(value, what="id"):
    """Return ``value`` if it is a hospital/department/ward slug, else raise."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ContractError(
            "%s must match ^[a-z0-9][a-z0-9-]{0,31}$, got %r" % (what, value))
    return value


def check_device_id(value, what="device id"):
    """Return ``value`` if it is an agent or display id, else raise."""
    if not isinstance(value, str) or not _DEVICE_ID.fullmatch(value):
        raise ContractError(
            "%s must match ^[a-z0-9][a-z0-9-]{0,63}$, got %r" % (what, value))
    return value


def check_prefix(value):
    """Return ``value`` if it can be a topic prefix (one or more plain levels)."""
    if not isinstance(value, str) or not value or not all(
            _PREFIX_LEVEL.fullmatch(level) for level in value.split("/")):
        raise ContractError(
            "prefix must be one or more topic levels of letters, digits, "
            "'_', '.' or '-', got %r" % (value,))
    return value


@dataclass(frozen=True, order=True)
class WardKey:
    """Which ward: hospital, department and ward slugs."""

    hospital: str
    department: str
    ward: str

    def __post_init__(self):
        check_slug(self.hospital, "hospital")
        check_slug(self.department, "department")
        check_slug(self.ward, "ward")

    def __str__(self):
        return "%s/%s/%s" % (self.hospital, self.department, self.ward)


def ward_topic(prefix, ward, kind):
    """``{p}/{hospital}/{department}/{ward}/{kind}`` for kind state/event/set/reply."""
    if kind not in WARD_KINDS:
        raise ContractError("ward topic kind must be one of %s, got %r"
                            % (", ".join(WARD_KINDS), kind))
    return "%s/%s/%s/%s/%s" % (check_prefix(prefix), ward.hospital,
                               ward.department, ward.ward, kind)


def ward_filter(prefix, kind, hospital="+", department="+", ward="+"):
    """A subscription filter for ward topics; ``+`` levels are wildcards."""
    if kind not in WARD_KINDS:
        raise ContractError("ward topic kind must be one of %s, got %r"
                            % (", ".join(WARD_KINDS), kind))
    levels = [check_slug(v, name) if v != "+" else v for v, name in (
        (hospital, "hospital"), (department, "department"), (ward, "ward"))]
    return "/".join([check_prefix(prefix)] + levels + [kind])


def status_topic(prefix, device_id):
    """``{p}/device/{id}/status``: a device's retained online/offline."""
    return "%s/device/%s/status" % (check_prefix(prefix),
                                    check_device_id(device_id))


def status_filter(prefix):
    """The subscription filter for every device's status."""
    return "%s/device/+/status" % check_prefix(prefix)


def parse_ward_topic(prefix, topic):
    """Split a ward topic into ``(WardKey, kind)``; raise ContractError if it is not one."""
    head = check_prefix(prefix) + "/"
    if not isinstance(topic, str) or not topic.startswith(head):
        raise ContractError("topic %r is not under prefix %r" % (topic, prefix))
    levels = topic[len(head):].split("/")
    if len(levels) != 4 or levels[3] not in WARD_KINDS:
        raise ContractError(
            "topic %r is not {prefix}/{hospital}/{department}/{ward}/"
            "state|event|set|reply" % (topic,))
    return WardKey(*levels[:3]), levels[3]


def parse_status_topic(prefix, topic):
    """Return the device id of a ``{p}/device/{id}/status`` topic, or raise."""
    head = check_prefix(prefix) + "/device/"
    if not isinstance(topic, str) or not topic.startswith(head) \
            or not topic.endswith("/status"):
        raise ContractError("topic %r is not {prefix}/device/{id}/status" % (topic,))
    return check_device_id(topic[len(head):-len("/status")])

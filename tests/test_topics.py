"""The topic names of docs/contract.md, built and split only by bedboard.topics."""

import pytest
from hypothesis import given, strategies as st

from bedboard.errors import ContractError
from bedboard.topics import (WardKey, check_device_id, check_slug, parse_status_topic,
                             parse_ward_topic, status_filter, status_topic,
                             ward_filter, ward_topic)

slugs = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,31}\Z")


def test_ward_topics_follow_spec():
    ward = WardKey("nrs", "medicine", "female-2")
    assert ward_topic("crs", ward, "state") == "crs/nrs/medicine/female-2/state"
    assert ward_topic("crs", ward, "event") == "crs/nrs/medicine/female-2/event"
    assert ward_topic("crs", ward, "set") == "crs/nrs/medicine/female-2/set"
    assert status_topic("crs", "nrs-lobby-1") == "crs/device/nrs-lobby-1/status"
    assert ward_filter("crs", "state", hospital="nrs") == "crs/nrs/+/+/state"
    assert status_filter("crs") == "crs/device/+/status"


@given(slugs, slugs, slugs, st.sampled_from(["state", "event", "set"]))
def test_parse_inverts_build(hospital, department, ward, kind):
    key = WardKey(hospital, department, ward)
    assert parse_ward_topic("crs", ward_topic("crs", key, kind)) == (key, kind)


@pytest.mark.parametrize("bad", ["", "Nrs", "-nrs", "a/b", "a+", "a#", "a b",
                                 "x" * 33, "ন"])
def test_slugs_are_strict(bad):
    with pytest.raises(ContractError, match="must match"):
        check_slug(bad, "ward")


def test_device_ids_may_be_64_characters():
    assert check_device_id("a" * 64) == "a" * 64
    with pytest.raises(ContractError):
        check_device_id("a" * 65)


@pytest.mark.parametrize("topic", [
    "crs/nrs/medicine/state", "crs/nrs/medicine/f/g/state", "other/nrs/m/w/state",
    "crs/nrs/medicine/female-2/status", "crs/NRS/medicine/w/state",
    "crs/nrs/medicine/+/state", "crs/nrs//w/state", "crs"])
def test_malformed_ward_topics_are_refused(topic):
    with pytest.raises(ContractError):
        parse_ward_topic("crs", topic)


def test_status_topic_round_trips():
    assert parse_status_topic("crs", "crs/device/nrs-lobby-1/status") == "nrs-lobby-1"
    with pytest.raises(ContractError):
        parse_status_topic("crs", "crs/device/a/b/status")


@given(st.text(max_size=80))
def test_arbitrary_topics_raise_only_contract_errors(topic):
    try:
        parse_ward_topic("crs", topic)
    except ContractError:
        pass
    try:
        parse_status_topic("crs", topic)
    except ContractError:
        pass

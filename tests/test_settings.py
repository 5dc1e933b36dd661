"""Config loading: every problem named by file, line and key, all at once."""

import logging
import os
import textwrap

import pytest

from bedboard.errors import ConfigError
from bedboard.settings import BrokerSettings, load, override_broker, read_broker


def write(tmp_path, text, name="board.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def read_display_like(root):
    """A small stand-in for a program's own sections."""
    broker = read_broker(root)
    display = root.section("display", required=True)
    result = (broker, display.text("id"),
              display.choice("rotate", (0, 90, 180, 270), default=0))
    display.done()
    return result


def test_defaults_apply_once(tmp_path):
    path = write(tmp_path, """\
        display:
          id: nrs-lobby-1
        """)
    broker, ident, rotate = load(path, read_display_like)
    assert broker == BrokerSettings(host="localhost", port=1883, prefix="crs")
    assert (ident, rotate) == ("nrs-lobby-1", 0)


def test_every_error_names_file_line_and_key_at_once(tmp_path):
    path = write(tmp_path, """\
        broker:
          host: 127.0.0.1
          port: 70000
          prefx: crs
        display:
          id: nrs-lobby-1
          rotate: 45
        extra: 1
        """)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    assert caught.value.problems == [
        "board.yaml:3: broker.port: must be between 1 and 65535, got 70000",
        "board.yaml:4: broker.prefx: unknown key (a typo?)",
        "board.yaml:7: display.rotate: must be one of 0, 90, 180, 270, got 45",
        "board.yaml:8: extra: unknown key (a typo?)",
    ]


def test_missing_section_and_wrong_types(tmp_path):
    path = write(tmp_path, """\
        broker:
          port: "eighteen"
          tls: yes
        """)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    assert caught.value.problems == [
        "board.yaml:1: display: is required",
        "board.yaml:2: broker.port: must be a whole number, got 'eighteen'",
        "board.yaml:3: broker.tls: must be a mapping of keys, got True",
    ]


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "display:\n  id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"board.yaml:3: not valid YAML"):
        load(path, read_display_like)


def test_duplicate_keys_are_errors(tmp_path):
    path = write(tmp_path, "display:\n  id: a\n  id: b\n")
    with pytest.raises(ConfigError, match=r"board.yaml:3: id: given twice"):
        load(path, read_display_like)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read: No such file"):
        load(str(tmp_path / "nope.yaml"), read_display_like)


def test_a_password_file_others_can_read_is_an_error(tmp_path, caplog, monkeypatch):
    # finding 9: a 0644 password_file was accepted with a warning
    monkeypatch.delenv("BEDBOARD_DEV", raising=False)
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o644)
    path = write(tmp_path, """\
        broker:
          username: lobby
          password_file: %s
        display: {id: a}
        """ % secret)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    assert caught.value.problems == [
        "board.yaml:3: broker.password_file: %s can be read by others (mode 644): chmod "
        "600 it (BEDBOARD_DEV=1 makes this a warning, on a developer's machine)" % secret]
    assert "s3cret" not in str(caught.value.problems)
    # a developer's machine may say so, and then it is a warning
    monkeypatch.setenv("BEDBOARD_DEV", "1")
    with caplog.at_level(logging.WARNING):
        broker, _, _ = load(path, read_display_like)
    assert broker.password == "s3cret" and broker.username == "lobby"
    assert "can be read by others (mode 644)" in caplog.text
    assert "s3cret" not in repr(broker)
    os.chmod(secret, 0o600)
    monkeypatch.delenv("BEDBOARD_DEV")
    assert load(path, read_display_like)[0].password == "s3cret"


def test_unreadable_secret_and_tls_files(tmp_path):
    path = write(tmp_path, """\
        broker:
          username: lobby
          password_file: /nonexistent/secret
          tls: {ca: /nonexistent/ca.pem, cert: /nonexistent/c.pem}
        display: {id: a}
        """)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    assert caught.value.problems == [
        "board.yaml:3: broker.password_file: cannot read /nonexistent/secret: "
        "No such file or directory",
        "board.yaml:4: broker.tls.ca: no such file: /nonexistent/ca.pem",
        "board.yaml:4: broker.tls.cert: no such file: /nonexistent/c.pem",
        "board.yaml:4: broker.tls: cert and key go together: give both or neither",
    ]


def test_tls_changes_the_default_port(tmp_path):
    path = write(tmp_path, "broker:\n  tls: {}\ndisplay: {id: a}\n")
    broker, _, _ = load(path, read_display_like)
    assert broker.port == 8883 and broker.tls is not None


def test_broker_override():
    broker = BrokerSettings()
    assert override_broker(broker, "127.0.0.1:18830").port == 18830
    assert override_broker(broker, "example").host == "example"
    with pytest.raises(ConfigError, match="--broker: port must be a number"):
        override_broker(broker, "host:x")


def test_a_cluster_is_a_list_of_hosts_tried_in_order(tmp_path):
    path = write(tmp_path, """\
        broker:
          hosts: ["nats-1.state.example:1883", "nats-2.state.example", "[fd00::3]:1884"]
        display: {id: a}
        """)
    broker, _, _ = load(path, read_display_like)
    assert broker.addresses == (("nats-1.state.example", 1883),
                                ("nats-2.state.example", 1883), ("fd00::3", 1884))
    assert (broker.host, broker.port) == ("nats-1.state.example", 1883)
    assert broker.describe() == ("nats-1.state.example:1883, nats-2.state.example:1883, "
                                 "fd00::3:1884")


def test_hosts_and_host_together_or_a_bad_host_are_errors_named_by_line(tmp_path):
    path = write(tmp_path, """\
        broker:
          host: 10.0.0.5
          hosts:
            - "a:1883"
            - "b:http"
            - "c:70000"
        display: {id: a}
        """)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    text = str(caught.value)
    assert "board.yaml:4: broker.hosts: give either hosts (a cluster) or host and port" in text
    assert "board.yaml:5: broker.hosts[1]: port must be a number, got 'http'" in text
    assert "board.yaml:6: broker.hosts[2]: port must be between 1 and 65535, got 70000" in text


def test_broker_override_may_name_a_cluster():
    broker = override_broker(BrokerSettings(), "127.0.0.1:4001,127.0.0.1:4002")
    assert broker.addresses == (("127.0.0.1", 4001), ("127.0.0.1", 4002))
    assert override_broker(BrokerSettings(), "h:1").hosts is None
    with pytest.raises(ConfigError, match="--broker: must be HOST:PORT"):
        override_broker(BrokerSettings(), "a:1,,b:2")


@pytest.mark.parametrize("empty", ["tls:", "tls: null", "tls: ~", "tls:   # TLS off?"])
def test_an_empty_tls_is_an_error_naming_file_and_line(tmp_path, empty):
    # finding 2: "tls:" passed --check and the agent logged in in clear
    path = write(tmp_path, """\
        broker:
          host: broker.nrs.local
          port: 8883
          %s
        display: {id: a}
        """ % empty)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    assert caught.value.problems == [
        "board.yaml:4: broker.tls: is empty, which would mean no TLS at all: give tls: {} "
        "(the system's CA certificates) or tls: {ca: FILE}, or remove the line for "
        "plain MQTT"]


def test_any_key_given_no_value_is_an_error_not_its_default(tmp_path):
    path = write(tmp_path, """\
        broker:
          host: 127.0.0.1
          password_file:
          username: lobby
        display:
          id: a
          rotate:
        """)
    with pytest.raises(ConfigError) as caught:
        load(path, read_display_like)
    assert caught.value.problems == [
        "board.yaml:3: broker.password_file: is empty: give it a value, or remove the "
        "line for the default",
        "board.yaml:7: display.rotate: is empty: give it a value, or remove the line "
        "for the default"]

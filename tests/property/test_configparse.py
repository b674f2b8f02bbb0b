"""Config parser properties: any text, built from each platform's real keywords plus random
tokens, control characters, very long lines and unicode, parses without raising; lines the
parser does not know are skipped, never fatal; the same text gives the same facts."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from compliance.configparse import NetworkConfigFacts, parse_config
from tests.property.budget import examples

IOS_KEYWORDS = [
    "hostname", "version", "ip ssh version", "line vty 0 4", "line con 0", "transport input", "transport input ssh telnet",
    "exec-timeout", "access-class", "login authentication", "login local", "snmp-server community", "snmp-server group",
    "snmp-server user", "snmp-server host", "ntp server", "logging host", "logging", "aaa new-model",
    "aaa authentication login default group tacacs+ local", "enable secret 5", "enable password", "username", "privilege 15 secret",
    "service password-encryption", "no service password-encryption", "ip http server", "no ip http server", "ip http secure-server",
    "ip http access-class", "ip access-list extended", "ip access-list standard", "access-list", "permit ip any any", "deny",
    "permit tcp host 10.0.0.1 any eq 22", "interface GigabitEthernet0/1", "ip access-group", "in", "out", "banner motd ^C",
    "banner login #", "!", "end", "no", "shutdown", "description",
]  # fmt: skip
FORTI_KEYWORDS = [
    "#config-version=FGT60F-7.2.5-FW-build1517-230606:opmode=0:vdom=0", "config system global", "config system interface",
    "config system admin", "config system snmp community", "config system snmp user", "config system ntp",
    "config log syslogd setting", "config firewall policy", "config vdom", "config global", "edit", "edit 1", 'edit "port1"',
    "next", "end", "set", "unset", "set hostname", "set allowaccess ping https ssh telnet http", "set admin-telnet enable",
    "set admin-ssh-v1 enable", "set admintimeout", "set password ENC", "set trusthost1", "set accprofile super_admin",
    "set name", "set status enable", "set server", "set ntpsync enable", "set type custom", "set security-level auth-priv",
    "set srcaddr all", "set dstaddr all", "set service ALL", "set action accept", 'set comments "', "set passwd", "set auth-pwd",
    "set priv-pwd", "set buffer", "'", "\\", '"',
]  # fmt: skip

TOKEN = st.one_of(
    st.text(max_size=12),  # any unicode, control characters included
    st.text(alphabet=st.characters(codec="ascii"), max_size=12),
    st.sampled_from(["\x00", "\x1b[2J", "\u2028", "\u0085", "\x0c", "\ufeff", "\t", '"', "'", "\\", "^C", "#", "all", "any", "255.255.255.0", "10.0.0.1", "9999999999999999999999"]),
)
INDENT = st.sampled_from(["", "", " ", "  ", "    ", "\t"])
NEWLINES = st.sampled_from(["\n", "\n", "\r\n", "\r", "\x0b", "\u2029"])


@st.composite
def config_text(draw, keywords: list[str], exclude: tuple[str, ...] = ()) -> str:
    lines = []
    long_line = draw(st.integers(0, 10)) == 0  # at most one very long line a text, so the budget goes to variety
    for _ in range(draw(st.integers(0, 15))):
        if long_line:
            long_line = False
            line = draw(st.sampled_from(keywords)) + " " + draw(st.sampled_from(["x", '"', "a b "])) * draw(st.integers(2_000, 10_000))
        else:
            line = draw(INDENT) + " ".join([draw(st.sampled_from(keywords)), *draw(st.lists(TOKEN, max_size=5))])
        if not any(word in line for word in exclude):
            lines.append(line)
    text = ""
    for line in lines:
        text += line + draw(NEWLINES)
    return text


def parse_twice(text: str, platform: str) -> NetworkConfigFacts:
    facts = parse_config(text, platform)
    assert isinstance(facts, NetworkConfigFacts) and facts.platform == platform
    assert parse_config(text, platform) == facts  # deterministic
    return facts


@given(config_text(IOS_KEYWORDS))
@settings(max_examples=examples(0.75))
@example("banner motd ^C\nnever closed\n")
@example("line vty 0 4\n transport input\n exec-timeout 99999999999999999999 0\n")
def test_ios_parses_any_text(text):
    parse_twice(text, "cisco_ios")


@given(config_text(FORTI_KEYWORDS))
@settings(max_examples=examples(0.75))
@example('config system global\n set hostname "unclosed\nend\n')
@example("end\nend\nnext\nset\n")
def test_fortios_parses_any_text(text):
    parse_twice(text, "fortinet")


@given(config_text(IOS_KEYWORDS, exclude=("hostname", "banner", "\r", "\x0b", "\u2029")))
@settings(max_examples=examples(0.5))
def test_ios_unknown_lines_are_skipped_not_fatal(junk):
    facts = parse_twice("hostname known-sw\nip ssh version 2\n" + junk, "cisco_ios")
    assert facts.hostname.value == "known-sw"


@given(config_text(FORTI_KEYWORDS, exclude=("hostname", '"', "'", "\\")))
@settings(max_examples=examples(0.5))
def test_fortios_unknown_lines_are_skipped_not_fatal(junk):
    facts = parse_twice("config system global\n    set hostname known-fw\nend\n" + junk, "fortinet")
    assert facts.hostname.value == "known-fw"

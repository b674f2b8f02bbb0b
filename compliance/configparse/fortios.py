"""FortiOS running-config: `config ... / edit ... / set ... / next / end` blocks, VDOMs or not."""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Literal

from compliance.configparse.facts import (
    MASK,
    WELL_KNOWN_COMMUNITIES,
    AdminAccount,
    ConfigLine,
    Evidence,
    Fact,
    FirewallRule,
    MgmtAccess,
    NetworkConfigFacts,
    SecretKind,
    SecurityLevel,
    SessionTimeout,
    SnmpCommunity,
    SnmpV3Principal,
    Unreadable,
)
from inventory.choices import Platform
from inventory.secret_lines import FORTI_SECRET_KEYS, FORTI_SECRET_SUFFIXES, is_forti_secret_key, masked_forti_set

# Keys FortiOS itself stores encrypted (`ENC ...`): a plaintext value is a finding. Which lines
# are masked in evidence is the wider rule of inventory/secret_lines.py.
_ENCRYPTED_SECRET_KEYS = frozenset({"password", "passwd", "psksecret", "auth-pwd", "priv-pwd", "key", "secret", "private-key", "passphrase"})
_FORTI_VERSION = re.compile(r"#config-version=[^-]+-(\d+\.\d+(?:\.\d+)?)-")
_ANY_HOST = ("0.0.0.0 0.0.0.0", "0.0.0.0/0", "::/0")
# The NTP "server" of a FortiGate synchronised with FortiGuard (`set type fortiguard`).
FORTIGUARD_NTP = "FortiGuard"


class _FNode:
    """A `config` block or an `edit` entry, with its `set` lines and nested nodes.

    `settings` maps a key to [values, line number, line text as shown in evidence (maybe with its
    indentation), ConfigLine or None]. Built lazily: values stay the raw text after the key until read (most never are), and
    the `ConfigLine` evidence object is made once, for the lines a fact cites."""

    __slots__ = ("kind", "name", "number", "text", "settings", "children", "_line")

    def __init__(self, kind: Literal["config", "edit", "root"], name: str, number: int | None = None, text: str = "") -> None:
        self.kind = kind
        self.name = name
        self.number = number  # None: the root, or a block absent from the config
        self.text = text
        self.settings: dict[str, list] = {}
        self.children: list[_FNode] = []
        self._line: ConfigLine | None = None

    @property
    def line(self) -> ConfigLine | None:
        if self._line is None and self.number is not None:
            self._line = ConfigLine(self.number, self.text)
        return self._line

    def get(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        found = self.settings.get(key)
        if found is None:
            return default
        values = found[0]
        if values.__class__ is str:  # not split into words yet (a line with spaces only, see the tree)
            words = _WORDS.get(values)
            if words is None:
                if len(_WORDS) > _PLAIN_READINGS_MAX:
                    _WORDS.clear()
                words = _WORDS[values] = tuple(values.split() if '"' not in values else _forti_tokens(values))
            values = found[0] = words
        return values

    def first(self, key: str, default: str = "") -> str:
        values = self.get(key)
        return values[0] if values else default

    def set_line(self, key: str) -> ConfigLine:
        found = self.settings[key]
        if found[3] is None:
            found[3] = ConfigLine(found[1], found[2].strip())  # kept unstripped by the tree's fast path
        return found[3]

    def sets(self, *keys: str) -> Evidence:
        """The `set` lines of `keys` that are present, in the order asked."""
        settings = self.settings
        return tuple(self.set_line(k) for k in keys if k in settings)

    def ev(self, *keys: str) -> Evidence:
        """The `config`/`edit` line plus the `set` lines of `keys`."""
        head = (self.line,) if self.number is not None else ()
        return head + self.sets(*keys) if keys else head  # type: ignore[operator]

    def entries(self) -> list[_FNode]:
        return [c for c in self.children if c.kind == "edit"]


class _FTree:
    """The parsed config: the root node, the `#config-version=` header, every `config` block by
    name (document order, any depth) and the nodes that set a secret key."""

    __slots__ = ("root", "header", "blocks", "secret_nodes", "unreadable")

    def __init__(self, root: _FNode, header: ConfigLine | None, blocks: dict[str, list[_FNode]], secret_nodes: list[_FNode], unreadable: list[Unreadable]) -> None:
        self.root = root
        self.header = header
        self.blocks = blocks
        self.secret_nodes = secret_nodes
        self.unreadable = unreadable  # statements a check reads that could not be understood


# shlex.split(posix=True) splits on exactly " \t\r\n" and keeps any other whitespace inside words.
_SHLEX_WORD = re.compile(r"""(?:[^ \t\r\n"'\\]+|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+""", re.S)
_SHLEX_PIECE = re.compile(r"""([^"'\\]+)|\\(.)|'([^']*)'|"((?:[^"\\]|\\.)*)\"""", re.S)
_SHLEX_DQ_ESCAPE = re.compile(r'\\(["\\])')
_SHLEX_BLANK = " \t\r\n"


def _forti_tokens(text: str) -> list[str]:
    """`shlex.split(text, posix=True)`, or `text.split()` when shlex would raise (unclosed
    quote, trailing backslash)."""
    if text.isascii() and text.isprintable() and "'" not in text and "\\" not in text:
        # Only spaces separate words here: without quotes str.split() is shlex; with balanced
        # double quotes around values that hold no space, dropping the quotes is too.
        if '"' not in text:
            return text.split()
        parts = text.split('"')
        if len(parts) % 2 and not any(" " in quoted for quoted in parts[1::2]):
            return [w.replace('"', "") if '"' in w else w for w in text.split()]
    words: list[str] = []
    pos, end = 0, len(text)
    word = _SHLEX_WORD.match
    while True:
        while pos < end and text[pos] in _SHLEX_BLANK:
            pos += 1
        if pos == end:
            return words
        m = word(text, pos)
        if m is None:  # an unclosed quote or a trailing backslash
            return text.split()
        raw = m.group()
        pos = m.end()
        if '"' in raw or "'" in raw or "\\" in raw:
            raw = "".join(_unquote(p) for p in _SHLEX_PIECE.finditer(raw))
        words.append(raw)


def _unquote(piece: re.Match[str]) -> str:
    plain, escaped, single, double = piece.groups()
    if plain is not None:
        return plain
    if escaped is not None:
        return escaped
    if single is not None:
        return single
    # Inside double quotes a backslash escapes only `"` and itself (POSIX shell rules).
    return _SHLEX_DQ_ESCAPE.sub(r"\1", double) if "\\" in double else double


def _open_quote(text: str) -> bool:
    """An odd number of unescaped double quotes: a quoted string starts or ends here."""
    if '"' not in text:
        return False
    if "\\" not in text:
        return text.count('"') % 2 == 1
    return len(re.findall(r'(?<!\\)"', text)) % 2 == 1


# What `_forti_tree` does with one line of a plain text (see there), by the line's text alone:
# a fleet's configs repeat most of their lines word for word (defaults, profiles, policies), so
# each distinct line is split and classified once per process. Lines whose reading depends on
# what follows (a quote left open) or on their number (the header) are not kept: _OTHER.
_SET, _SECRET_SET, _CLOSE, _OPEN, _BLANK, _OTHER = "set", "secret set", "close", "open", "blank", "other"
_PLAIN_READINGS: dict[str, tuple] = {}
_PLAIN_READINGS_MAX = 50_000
_OTHER_READING = (_OTHER,)
# The words of a `set` value as facts read them, by its text (as often repeated as the lines).
_WORDS: dict[str, tuple[str, ...]] = {}


def _plain_reading(raw: str) -> tuple:
    """The reading of one line of a plain text (printable ASCII, no single quote, no backslash):
    (_SET, key, rest of the line or ()), (_SECRET_SET, key, values, line as shown),
    (_CLOSE, whether it is `end`), (_OPEN, "config" or "edit", name, line as shown), (_BLANK,)
    or (_OTHER,) for the lines `_forti_tree` reads itself. The same as its general path's."""
    parts = raw.split(None, 2)
    if not parts:
        return (_BLANK,)
    head = parts[0]
    if head == "set" and len(parts) > 1:
        key = parts[1]
        # No backslash in a plain text: a quote opens or closes a value on an odd count.
        if '"' not in key and key not in FORTI_SECRET_KEYS and not key.endswith(FORTI_SECRET_SUFFIXES) and ('"' not in raw or not raw.count('"') & 1):
            # Keep the rest of the line as it is until a fact reads it.
            return (_SET, key, parts[2] if len(parts) == 3 else ())
    elif head == "next" or head == "end":
        return (_CLOSE, head == "end")
    stripped = raw.strip()
    if stripped[0] == "#" or (stripped.startswith("set ") and '"' in stripped and _open_quote(stripped)):
        return _OTHER_READING
    words = _forti_tokens(stripped)
    head = words[0] if words else ""
    if head == "set":
        if len(words) < 2:
            return _OTHER_READING
        key = words[1]
        if len(words) >= 3 and is_forti_secret_key(key):
            return (_SECRET_SET, key, tuple(words[2:]), masked_forti_set(key, words[2]))
        return (_SET, key, tuple(words[2:]), stripped)  # shown without its indentation
    if head == "config" or head == "edit":
        return (_OPEN, head, " ".join(words[1:]), stripped)
    return _OTHER_READING


# The `config` sections the facts are read from. The CLI takes any unambiguous abbreviation of
# their words (`config sys glo`), and pasted scripts use them: such a name is read as the section
# it abbreviates, word by word (the shortest when several fit, as `pol` for policy over policy6).
_SECTION_NAMES = frozenset({
    "system global", "system interface", "system admin", "system snmp community", "system snmp user", "system ntp",
    "ntpserver", "log syslogd setting", "log syslogd2 setting", "log syslogd3 setting", "log syslogd4 setting",
    "log fortianalyzer setting", "firewall policy", "firewall policy6", "system auto-script", "global", "vdom",
})  # fmt: skip
_FULL_SECTIONS: dict[str, str] = {}


def _full_section(name: str) -> str:
    found = _FULL_SECTIONS.get(name)
    if found is None:
        words = name.split()
        fits = [s for s in _SECTION_NAMES if len(s.split()) == len(words) and all(full.startswith(w) for w, full in zip(words, s.split(), strict=True))]
        found = min(fits, key=len) if words and fits else name
        if len(_FULL_SECTIONS) < 10_000:
            _FULL_SECTIONS[name] = found
    return found


def _forti_tree(text: str) -> _FTree:
    """The block tree, the `#config-version=` header line and the index of `config` blocks."""
    root = _FNode("root", "")
    stack = [root]
    top = root
    settings = root.settings  # top's, kept in a local: the loop below is hot
    header: ConfigLine | None = None
    configs: list[_FNode] = []
    nodes: list[_FNode] = [root]
    secret_nodes: dict[int, _FNode] = {}
    unreadable: list[Unreadable] = []
    secret_keys, secret_suffixes = FORTI_SECRET_KEYS, FORTI_SECRET_SUFFIXES  # locals: the loop below is hot
    # Printable ASCII without single quotes or backslashes: every line splits on spaces only.
    plain = text.isascii() and "'" not in text and "\\" not in text and text.replace("\n", "").isprintable()
    readings = _PLAIN_READINGS if plain else None
    if readings is not None and len(readings) > _PLAIN_READINGS_MAX:
        readings.clear()  # bounded: a fleet's distinct lines, not every line ever read
    lines = enumerate(text.splitlines(), start=1)
    for number, raw in lines:
        if readings is not None:  # the common lines, read once per process (see _plain_reading)
            reading = readings.get(raw)
            if reading is None:
                reading = readings[raw] = _plain_reading(raw)
            kind = reading[0]
            if kind is _SET:
                settings[reading[1]] = [reading[2], number, raw, None]
                continue
            if kind is _CLOSE:
                if len(stack) > 1:
                    if reading[1] and top.kind == "edit" and len(stack) > 2:
                        stack.pop()  # tolerate a missing `next`
                    stack.pop()
                    top = stack[-1]
                    settings = top.settings
                continue
            if kind is _OPEN:
                node = _FNode(reading[1], reading[2], number, reading[3])
                top.children.append(node)
                nodes.append(node)
                stack.append(node)
                top = node
                settings = node.settings
                if reading[1] == "config":
                    configs.append(node)
                continue
            if kind is _SECRET_SET:
                secret_nodes[id(top)] = top
                top.settings[reading[1]] = [reading[2], number, reading[3], None]
                continue
            if kind is _BLANK:
                continue
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped == "next" or stripped == "end":
            words = [stripped]
        elif stripped[0] == "#":
            if stripped.startswith("#config-version="):
                header = ConfigLine(number, stripped)
            continue
        elif stripped.startswith("set "):
            if '"' in stripped and _open_quote(stripped):
                # A quoted value spanning lines (certificates, replacement messages): one statement.
                statement = [stripped]
                for _, raw in lines:
                    statement.append(raw)
                    if '"' in raw and _open_quote(raw):
                        break
                else:  # never closed: every line after this one was taken as its value
                    unreadable.append(Unreadable(ConfigLine(number, _unclosed_shown(stripped)), _WHOLE_CONFIG, "a quoted value opened here is never closed: the rest of the config could not be read"))
                stripped = "\n".join(statement)
            elif plain or (stripped.isascii() and stripped.isprintable() and "'" not in stripped and "\\" not in stripped):
                # Words are separated by spaces only and no quote spans the key: keep the rest
                # of the line as it is until a fact reads it.
                parts = stripped.split(None, 2)
                key = parts[1]
                if '"' not in key and key not in secret_keys and not key.endswith(secret_suffixes):
                    top.settings[key] = [parts[2] if len(parts) == 3 else (), number, stripped, None]
                    continue
            words = _forti_tokens(stripped)
        else:
            words = _forti_tokens(stripped)
        head = words[0]
        if head == "set":
            if len(words) >= 2:
                key = words[1]
                if len(words) >= 3 and is_forti_secret_key(key):
                    shown = masked_forti_set(key, words[2])
                    secret_nodes[id(top)] = top
                else:
                    shown = stripped.split("\n", 1)[0] if "\n" in stripped else stripped
                top.settings[key] = [tuple(words[2:]), number, shown, None]
        elif head == "next" or head == "end":
            if len(stack) > 1:
                if head == "end" and top.kind == "edit" and len(stack) > 2:
                    stack.pop()  # tolerate a missing `next`
                stack.pop()
                top = stack[-1]
                settings = top.settings
        elif head == "config" or head == "edit":
            shown = stripped.split("\n", 1)[0] if "\n" in stripped else stripped
            node = _FNode(head, " ".join(words[1:]), number, shown)
            top.children.append(node)
            nodes.append(node)
            stack.append(node)
            top = node
            settings = node.settings
            if head == "config":
                configs.append(node)
        elif head == "unset" and len(words) >= 2:
            top.settings.pop(words[1], None)
    blocks: dict[str, list[_FNode]] = {}
    for node in configs:  # creation order is the tree's pre-order
        if node.name not in _SECTION_NAMES:
            node.name = _full_section(node.name)
        if node.name in blocks:
            blocks[node.name].append(node)
        else:
            blocks[node.name] = [node]
    # Nodes in tree pre-order, which is the order they were created in.
    secrets = list(secret_nodes.values())
    if len(secrets) > 1:
        order = {id(node): i for i, node in enumerate(nodes)}
        secrets.sort(key=lambda node: order[id(node)])
    tree = _FTree(root, header, blocks, secrets, unreadable)
    _mask_communities(tree)
    return tree


# The statement kind of a line that hides the rest of the config: every check reads it.
_WHOLE_CONFIG = "config_structure"


def _unclosed_shown(line: str) -> str:
    """The `set` line that opens a quote never closed, as a report may show it."""
    words = line.split(None, 2)
    key = words[1] if len(words) > 1 else ""
    if is_forti_secret_key(key):
        return masked_forti_set(key, words[2] if len(words) > 2 else "")
    return line if len(line) <= 80 else line[:77] + "..."


def _mask_communities(tree: _FTree) -> None:
    """Mask non-default community names in `config system snmp community` evidence."""
    for block in _blocks(tree, "system snmp community"):
        for entry in block.entries():
            if "name" in entry.settings:
                values = entry.get("name")
                if values and values[0].lower() not in WELL_KNOWN_COMMUNITIES:
                    entry.settings["name"] = [values, entry.settings["name"][1], f"set name {MASK}", None]


def _blocks(tree: _FTree, name: str) -> list[_FNode]:
    """Every `config <name>` block, at any depth (VDOM-wrapped configs included)."""
    return tree.blocks.get(name, [])


def _block(tree: _FTree, name: str) -> _FNode:
    found = tree.blocks.get(name)
    return found[0] if found else _FNode("config", name)


_NOT_APPLICABLE: Fact = Fact(None)  # facts are frozen: one object serves every config


def parse_fortios(text: str) -> NetworkConfigFacts:
    """Facts of one FortiOS running-config."""
    tree = _forti_tree(text)
    glob = _block(tree, "system global")
    interfaces = [e for b in _blocks(tree, "system interface") for e in b.entries()]
    admins = _forti_admins(tree)
    communities = _forti_communities(tree)
    timeout = _forti_timeout(glob, tree.unreadable)
    unreadable = tree.unreadable
    if "system global" not in tree.blocks:
        unreadable = [*unreadable, *_fragment_gaps(tree)]
    return NetworkConfigFacts(
        platform=Platform.FORTINET.value,
        hostname=Fact(glob.first("hostname") or None, glob.sets("hostname")),
        os_version=_forti_version(tree.header),
        telnet_enabled=_forti_access(interfaces, "telnet", glob),
        ssh_versions=_forti_ssh(glob),
        snmp_communities=communities,
        snmp_v3=_forti_snmp_users(tree),
        ntp_servers=_forti_ntp(tree),
        syslog_hosts=_forti_syslog(tree),
        aaa_new_model=_NOT_APPLICABLE,
        aaa_login=_forti_aaa(admins),
        enable_secret=_NOT_APPLICABLE,
        enable_password=_NOT_APPLICABLE,
        admins=admins,
        password_encryption=_forti_plaintext(tree),
        http_server=_forti_access(interfaces, "http"),
        https_server=_forti_access(interfaces, "https"),
        terminal_lines=(),
        mgmt_access=tuple(_forti_mgmt(a) for a in admins),
        session_timeouts=(timeout,),
        firewall_rules=_forti_policies(tree),
        filtering=Fact(True, _block(tree, "firewall policy").ev()),  # FortiOS ends with implicit deny
        unreadable=tuple(sorted(unreadable, key=_line_number)) if unreadable else (),
    )


# In a whole backup an absent block is FortiOS's documented default (no SNMP community, no
# syslog server...) and a verdict. A file without `config system global` is not one (a per-VDOM
# backup, a pasted fragment): there, what is absent says nothing. Each statement kind with the
# blocks that decide it; global settings (SSH version, admin timeout) are never in such a file.
_FRAGMENT_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ssh_version", ()),
    ("session_timeout", ()),
    ("vty_transport", ("system interface",)),
    ("http_server", ("system interface",)),
    ("admin_account", ("system admin",)),
    ("snmp_community", ("system snmp community", "system snmp user")),
    ("snmp_v3", ("system snmp community", "system snmp user")),
    ("ntp_server", ("system ntp",)),
    ("syslog_host", ("log syslogd setting", "log syslogd2 setting", "log syslogd3 setting", "log syslogd4 setting", "log fortianalyzer setting")),
    ("acl_entry", ("firewall policy", "firewall policy6")),
    ("password_storage", None),  # "no plaintext secret" can only be said of a whole configuration
)
_FRAGMENT = "no `config system global` in this file: not a whole configuration (a per-VDOM backup or a fragment)"


def _fragment_gaps(tree: _FTree) -> tuple[Unreadable, ...]:
    gaps = []
    for kind, blocks in _FRAGMENT_KINDS:
        if blocks is None:
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, so a secret outside it cannot be ruled out"))
        elif not any(name in tree.blocks for name in blocks):
            what = f"`config {blocks[0]}`" if blocks else "the global settings"
            gaps.append(Unreadable.absent(kind, f"{_FRAGMENT}, and no {what} in it"))
    return tuple(gaps)


def _line_number(item: Unreadable) -> int:
    return item.line.number


def _forti_version(header: ConfigLine | None) -> Fact[str | None]:
    m = _FORTI_VERSION.match(header.text) if header else None
    return Fact(m.group(1), (header,)) if m and header else Fact(None)


def _forti_access(interfaces: list[_FNode], service: str, glob: _FNode | None = None) -> Fact[bool]:
    """Whether any interface lists `service` in allowaccess (telnet also needs admin-telnet on).

    Evidence: the interfaces that allow it, else every allowaccess line (showing it absent)."""
    hits = [i for i in interfaces if service in i.get("allowaccess")]
    shown = hits or [i for i in interfaces if "allowaccess" in i.settings]
    evidence = tuple(e for i in shown for e in i.ev("allowaccess"))
    if glob is not None and "admin-telnet" in glob.settings:
        evidence = glob.sets("admin-telnet") + evidence
        if glob.first("admin-telnet") == "disable":
            return Fact(False, evidence)
    return Fact(bool(hits), evidence)


def _forti_ssh(glob: _FNode) -> Fact[tuple[int, ...]]:
    if glob.first("admin-ssh-v1") == "enable":
        return Fact((1, 2), glob.sets("admin-ssh-v1"))
    return Fact((2,), glob.sets("admin-ssh-v1"))


def _forti_communities(tree: _FTree) -> tuple[SnmpCommunity, ...]:
    """Enabled v1/v2c communities; the FortiOS SNMP agent is read-only."""
    found = []
    for block in _blocks(tree, "system snmp community"):
        for entry in block.entries():
            if entry.first("status", "enable") == "enable":
                if not entry.first("name") and entry.line is not None:
                    tree.unreadable.append(Unreadable(entry.line, "snmp_community", "SNMP community entry without a name"))
                found.append(SnmpCommunity(entry.first("name"), "RO", None, entry.ev("name")))
    return tuple(found)


def _forti_snmp_users(tree: _FTree) -> tuple[SnmpV3Principal, ...]:
    levels: dict[str, SecurityLevel] = {"auth-priv": "priv", "auth-no-priv": "auth", "no-auth-no-priv": "noauth"}
    found = []
    for block in _blocks(tree, "system snmp user"):
        for entry in block.entries():
            level = levels.get(entry.first("security-level", "no-auth-no-priv"), "noauth")
            found.append(SnmpV3Principal("user", entry.name, level, entry.ev("security-level")))
    return tuple(found)


def _forti_ntp(tree: _FTree) -> Fact[tuple[str, ...]]:
    """Custom NTP servers; FortiGuard NTP (the default) counts as none configured locally."""
    ntp = _block(tree, "system ntp")
    if ntp.number is None:
        return Fact(())
    head = ntp.ev("ntpsync", "type")
    if ntp.first("ntpsync", "enable") != "enable":
        return Fact((), head)
    if ntp.first("type", "fortiguard") != "custom":  # FortiGuard's servers: the policy decides whether they count
        return Fact((FORTIGUARD_NTP,), head)
    servers = [e for b in ntp.children if b.kind == "config" and b.name == "ntpserver" for e in b.entries()]
    return Fact(tuple(s.first("server") for s in servers), head + tuple(e for s in servers for e in s.ev("server")))


def _forti_syslog(tree: _FTree) -> Fact[tuple[str, ...]]:
    """Enabled remote log targets: syslogd..syslogd4 and FortiAnalyzer."""
    hosts: list[str] = []
    evidence: list[ConfigLine] = []
    names = ["log syslogd setting"] + [f"log syslogd{i} setting" for i in (2, 3, 4)]
    names += ["log fortianalyzer setting"]
    for name in names:
        for block in _blocks(tree, name):
            if block.first("status") == "enable" and block.first("server"):
                hosts.append(block.first("server"))
                evidence.extend(block.ev("status", "server"))
    return Fact(tuple(hosts), tuple(evidence))


def _forti_admins(tree: _FTree) -> tuple[AdminAccount, ...]:
    found = []
    for block in _blocks(tree, "system admin"):
        for entry in block.entries():
            password = entry.get("password")
            kind: SecretKind = "none" if not password else "hashed" if password[0] == "ENC" else "plaintext"
            keys = [k for k in entry.settings if k.startswith(("trusthost", "ip6-trusthost"))]
            hosts = tuple(" ".join(entry.get(k)) for k in keys)
            trusted = tuple(h for h in hosts if h not in _ANY_HOST)
            ev = entry.ev("accprofile", "password", *keys)
            found.append(AdminAccount(entry.name, kind, entry.first("accprofile") or None, trusted, ev))
    return tuple(found)


def _forti_aaa(admins: tuple[AdminAccount, ...]) -> Fact[bool]:
    """Every administrator must authenticate: no account without a password."""
    evidence = tuple(e for a in admins for e in a.evidence if e.text.startswith(("edit", "set password")))
    return Fact(bool(admins) and all(a.secret != "none" for a in admins), evidence)  # noqa: S105 (a config keyword, not a password)


def _forti_plaintext(tree: _FTree) -> Fact[bool]:
    """Secrets must be stored encrypted (ENC); a plaintext `set password` is a finding. Key
    material FortiOS keeps encrypted by its own format (every certificate's private key) is not."""
    plain = tuple(node.set_line(key) for node in tree.secret_nodes for key, (values, *_) in node.settings.items() if key in _ENCRYPTED_SECRET_KEYS and values and _in_clear(values[0]))
    plain += _plain_in_scripts(tree)
    return Fact(not plain, tuple(sorted(plain, key=lambda line: line.number)))


_SCRIPT_SET = re.compile(r"^\s*set\s+(\S+)\s+(\S.*)$")


def _plain_in_scripts(tree: _FTree) -> tuple[ConfigLine, ...]:
    """`set script` texts (auto-scripts run CLI commands) that type a secret in clear: the
    script's line, masked (the script would show it)."""
    found = []
    for block in _blocks(tree, "system auto-script"):
        for entry in block.entries():
            script = entry.first("script")
            for line in script.splitlines():
                m = _SCRIPT_SET.match(line)
                if m and is_forti_secret_key(m.group(1)) and _in_clear(m.group(2)):
                    found.append(ConfigLine(entry.set_line("script").number, f"set script {MASK}"))
                    break
    return tuple(found)


def _in_clear(value: str) -> bool:
    """A secret's value as stored is readable: neither `ENC ...` nor key material encrypted by its own format."""
    return value.split(None, 1)[:1] != ["ENC"] and not encrypted_key_material(value)


_ENCRYPTED_PEM = ("-----BEGIN ENCRYPTED PRIVATE KEY-----", "-----BEGIN PGP MESSAGE-----")
_OPENSSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----"


def encrypted_key_material(value: str) -> bool:
    """A private key that is itself encrypted: PKCS#8 `ENCRYPTED PRIVATE KEY`, a legacy PEM key
    with `Proc-Type: 4,ENCRYPTED`, or an OpenSSH key whose cipher is not `none`."""
    head = value.lstrip()[:64]
    if head.startswith(_ENCRYPTED_PEM):
        return True
    if head.startswith("-----BEGIN ") and "PRIVATE KEY-----" in head:
        if "Proc-Type: 4,ENCRYPTED" in value[:200]:
            return True
        if head.startswith(_OPENSSH_KEY):
            return _openssh_cipher(value) not in (None, "none")
    return False


def _openssh_cipher(value: str) -> str | None:
    """The cipher name in an OpenSSH private key's header (`openssh-key-v1`, then the cipher)."""
    body = "".join(value.split(_OPENSSH_KEY, 1)[1].split("-----END", 1)[0].split())
    try:
        raw = base64.b64decode(body[:64] + "=" * (-len(body[:64]) % 4))
    except (binascii.Error, ValueError):
        return None
    magic = b"openssh-key-v1\x00"
    if not raw.startswith(magic) or len(raw) < len(magic) + 4:
        return None
    size = int.from_bytes(raw[len(magic) : len(magic) + 4], "big")
    name = raw[len(magic) + 4 : len(magic) + 4 + size]
    return name.decode("ascii", "replace") if len(name) == size else None


def _forti_mgmt(admin: AdminAccount) -> MgmtAccess:
    ev = tuple(e for e in admin.evidence if e.text.startswith(("edit", "set trusthost", "set ip6-trusthost")))
    # One trusthost that is any address opens the account to every address, whatever the others say.
    opened = [e.text.split(None, 2)[1] for e in ev if e.text.startswith("set ") and " ".join(e.text.split()[2:]) in _ANY_HOST]
    if opened:
        return MgmtAccess(f"admin {admin.name}", False, f"any address ({', '.join(opened)})", ev)
    detail = ", ".join(admin.trusted_hosts) if admin.trusted_hosts else "no trusthost"
    return MgmtAccess(f"admin {admin.name}", bool(admin.trusted_hosts), detail, ev)


def _forti_timeout(glob: _FNode, unreadable: list[Unreadable]) -> SessionTimeout:
    explicit = "admintimeout" in glob.settings
    value = glob.first("admintimeout", "5" if not explicit else "")
    # FortiOS takes a whole number of minutes: anything else ("nan", "inf", "-5", "1e9", none)
    # is no valid setting, and NaN makes the timeout rule fail.
    minutes = float(value) if value.isascii() and value.isdigit() else math.nan
    if minutes != minutes:  # NaN: the value is not a number of minutes
        unreadable.append(Unreadable(glob.set_line("admintimeout"), "session_timeout", "set admintimeout with a value that is not a whole number of minutes"))
    return SessionTimeout("system global admintimeout", minutes, explicit, glob.sets("admintimeout"))


def _forti_policies(tree: _FTree) -> tuple[FirewallRule, ...]:
    """IPv4 and IPv6 policies alike: `firewall policy` (with srcaddr6/dstaddr6 since 6.4) and the
    older `firewall policy6`; an accept-all over IPv6 voids the default deny as much as over IPv4."""
    found = []
    for name in ("firewall policy", "firewall policy6"):
        prefix = "policy6" if name.endswith("6") else "policy"
        for block in _blocks(tree, name):
            for entry in block.entries():
                action: Literal["accept", "deny"] = "accept" if entry.first("action", "deny") == "accept" else "deny"
                label = entry.first("name")
                sources = (*entry.get("srcaddr"), *entry.get("srcaddr6"))
                targets = (*entry.get("dstaddr"), *entry.get("dstaddr6"))
                found.append(
                    FirewallRule(
                        f"{prefix} {entry.name} ({label})" if label else f"{prefix} {entry.name}",  # name
                        action,
                        "all" in sources,  # src_any
                        "all" in targets,  # dst_any
                        "ALL" in entry.get("service"),  # service_any
                        entry.first("status", "enable") == "enable",  # enabled
                        entry.ev("status", "srcaddr", "srcaddr6", "dstaddr", "dstaddr6", "action", "service"),  # evidence
                    )
                )
    return tuple(found)

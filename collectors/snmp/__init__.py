"""SNMP collector: identity, interfaces, FDB, ARP, LLDP and host resources of one device.

    facts = await SnmpCollector().collect(target, credential, timeout=10)

What is asked (numeric OIDs only, no MIB files needed):

    system group        sysDescr, sysObjectID, sysUpTime, sysName, sysLocation
    ENTITY-MIB          the chassis row (class chassis(3); index 1 first, else found by a walk):
                        model, serial, software/firmware revision, manufacturer
    IF-MIB              ifDescr, ifSpeed, ifPhysAddress, ifAdminStatus, ifOperStatus,
                        ifName, ifHighSpeed, ifAlias
    BRIDGE-MIB          dot1dTpFdbPort -> dot1dBasePortIfIndex -> ifIndex
                        (Q-BRIDGE dot1qTpFdbPort when the old table is empty)
    IP-MIB              ipNetToMediaPhysAddress (ARP; the index carries ifIndex and the IP)
    LLDP-MIB            lldpRemTable (chassis/port id with their subtypes, sysName); the local
                        port number is resolved to an ifIndex by lldpLocPortId -> ifName
    HOST-RESOURCES-MIB  only when hrMemorySize answers: hrMemorySize, processors
                        (hrDeviceType = hrDeviceProcessor), fixed disks (hrStorageFixedDisk,
                        size = units * size / 1024 KB), installed software (DateAndTime dates)

Vendor, OS and country of origin come from data files (see `collectors.vendors`).

The package
-----------
    ber.py        the BER codec (OIDs, lengths, v2c messages and PDUs)
    usm.py        SNMPv3 messages and USM: keys, HMAC, AES-CFB
    transport.py  sessions over UDP (v2c, native v3) or pysnmp's hlapi (v3)
    collector.py  SnmpCollector and one visit's reads
    facts.py      the OIDs asked and how the answers become DeviceFacts

How it talks
------------
* SNMPv2c: kiemke's own small BER codec over one connected asyncio UDP socket per visit
  (`_V2cSession`). pysnmp's hlapi spends ~95 us of CPU per var-bind in pyasn1's BER decoder
  (~30 ms for a 24-port switch); the codec (`ber`) decodes a var-bind in ~2 us and leaves
  values as raw bytes until a parser needs them. A connected socket also turns an ICMP port
  unreachable into an immediate `Unreachable`.
* SNMPv3 authPriv (HMAC-SHA-96 or HMAC-SHA-256-192; AES-128 or AES-256 CFB), two backends:
  - "native" (default, `_NativeV3Session`): the same codec plus USM (RFC 3414/3826/7860):
    engine discovery per visit, HMAC with `hmac`, AES-CFB with `cryptography`. Passwords are
    hashed once per credential (RFC 3414 A.2) and localised per engine ID, so one user name
    with different keys on different devices just works. ~13 ms of CPU per switch, including
    the password hashing, against ~250 ms through hlapi.
  - "pysnmp" (`SnmpCollector(v3_backend="pysnmp")`, `_PysnmpV3Session`): pysnmp's hlapi, kept
    as the reference implementation. A pysnmp engine keeps the first keys it localised for a
    user name, so engines are cached per credential (user, keys, protocols) and per event loop;
    building one costs ~75 ms of CPU (done in a worker thread). Call `await
    collector.aclose()` before the loop ends to close them.
  AES-256 keys are extended the Blumenthal way (net-snmp "AES-256", pysnmp
  usmAesBlumenthalCfb256Protocol); with SHA256 auth no extension is needed. Cisco's "Reeder"
  extension for SHA + AES-256 is not supported.
* Fewer round trips: one GET proves the device answers (small fixed-size values only, so a
  hostile 64 KB string cannot make a live device look dead), then every table is read
  concurrently by multi-column GETBULK walks. The interface walk asks ifNumber + 1
  repetitions (one round trip for a switch); walks of unknown size start small and double.
* Bounded: the first GET gets `timeout / (retries + 1) * 0.9` per attempt, so a wrong
  community or a dead device raises `CollectionTimeout` within `timeout`; later requests use
  a shorter attempt timeout learnt from the first answer and all stop at the visit's deadline.
  A part that fails (a walk that times out, a GET whose answer does not fit a datagram, ...)
  becomes a line in `DeviceFacts.warnings`; the rest is kept.

Hostile data
------------
Octet strings are decoded as UTF-8 with errors="replace"; trailing NULs (C padding) are
dropped and other NULs become U+FFFD (PostgreSQL text cannot hold NUL). Other text is kept as
sent (HTML included: escaping is the web layer's job). A value longer than SMI's 65,535 bytes
is cut there (with a warning). Walks stop at `max_rows` rows per column and once the device
has sent MAX_BYTES (32 MB) in one visit; a column whose OIDs stop increasing ends with a
warning.
Malformed datagrams are ignored (a device that only sends garbage times out).
"""

from collectors.snmp.ber import (
    BerError,
    Var,
    decode_length,
    decode_message,
    decode_oid,
    decode_pdu,
    encode_length,
    encode_oid,
    encode_pdu,
    encode_request,
)
from collectors.snmp.collector import (
    MAX_ROWS,
    MAX_VARBINDS_PER_REQUEST,
    MIN_ATTEMPT,
    ConfigError,
    SnmpCollector,
)
from collectors.snmp.facts import (
    MAX_VALUE_BYTES,
    as_int,
    as_oid,
    as_text,
    build_facts,
    date_and_time,
    mac_text,
    present,
    text,
)
from collectors.snmp.transport import MAX_BYTES
from collectors.snmp.usm import (
    AUTH,
    PRIV_KEY_BYTES,
    V3Message,
    decode_scoped_pdu,
    decode_v3,
    encode_v3,
    localize_key,
    password_to_key,
    priv_key_for,
)

__all__ = [
    "AUTH",
    "MAX_BYTES",
    "MAX_ROWS",
    "MAX_VALUE_BYTES",
    "MAX_VARBINDS_PER_REQUEST",
    "MIN_ATTEMPT",
    "PRIV_KEY_BYTES",
    "BerError",
    "ConfigError",
    "SnmpCollector",
    "V3Message",
    "Var",
    "as_int",
    "as_oid",
    "as_text",
    "build_facts",
    "date_and_time",
    "decode_length",
    "decode_message",
    "decode_oid",
    "decode_pdu",
    "decode_scoped_pdu",
    "decode_v3",
    "encode_length",
    "encode_oid",
    "encode_pdu",
    "encode_request",
    "encode_v3",
    "localize_key",
    "mac_text",
    "password_to_key",
    "present",
    "priv_key_for",
    "text",
]

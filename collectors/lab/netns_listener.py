"""A tiny host for the nmap lab: listens on the given TCP ports inside a network namespace and
answers like the service usually found there (an SSH banner, an HTTP page), so that nmap's
port scan and light version detection have something real to find.

    python -m collectors.lab.netns_listener --ports 22,80,9100 --name printer-1
"""

from __future__ import annotations

import argparse
import asyncio

BANNERS = {
    22: b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n",
    23: b"\r\nUser Access Verification\r\n\r\nUsername: ",
}


def _http(name: str) -> bytes:
    body = f"<html><head><title>{name}</title></head><body>{name}</body></html>".encode()
    return b"HTTP/1.1 200 OK\r\nServer: kiemke-lab\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)


async def serve(ports: list[int], name: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        try:
            if port in BANNERS:
                writer.write(BANNERS[port])
                await writer.drain()
                await asyncio.wait_for(reader.read(1024), timeout=5)
            elif port in (80, 443, 8080):
                await asyncio.wait_for(reader.read(4096), timeout=5)
                writer.write(_http(name))
                await writer.drain()
            else:
                await asyncio.wait_for(reader.read(1024), timeout=5)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(lambda r, w, p=port: handler(r, w, p), "0.0.0.0", port) for port in ports]  # noqa: S104 (inside the lab's own network namespace)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True)
    parser.add_argument("--name", default="host")
    args = parser.parse_args()
    asyncio.run(serve([int(p) for p in args.ports.split(",")], args.name))


if __name__ == "__main__":
    main()

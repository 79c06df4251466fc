"""Realistic, unique Holm Security webhook bodies (the Python twin of post_unique.lua).

Even numbers are finished scans, odd numbers tickets with a nested asset and vulnerability;
``seed`` and ``n`` appear in several fields (the scan's link, the ticket's host and run field),
so no two bodies are equal; scan names repeat as real ones do (128 of them).
"""

from __future__ import annotations

import json

NAMES = (
    "Daily scan",
    "Weekly DMZ scan",
    "Web apps",
    "Cloud estate",
    "PCI external",
    "Office network",
    "Datacenter east",
    "Kubernetes nodes",
)
STATUSES = ("Completed", "Completed", "Completed", "Completed", "Stopped", "Failed")
VULNS = (
    ("OpenSSH < 9.6 Terrapin prefix truncation", "CVE-2023-48795", 5.9),
    ("Apache HTTP Server mod_proxy SSRF", "CVE-2021-40438", 9.0),
    ("OpenSSL X.509 email address buffer overflow", "CVE-2022-3602", 7.5),
    ("Microsoft Exchange ProxyShell RCE", "CVE-2021-34473", 9.8),
    ("Log4j JNDI lookup remote code execution", "CVE-2021-44228", 10.0),
    ("TLS 1.0 protocol enabled", None, 4.3),
)
SEVERITIES = ("Low", "Medium", "High", "Critical")


def scan(n: int, seed: str = "0") -> dict[str, object]:
    minute = n % 60
    return {
        "finished_scan": {
            "name": f"{NAMES[n % len(NAMES)]} {n // len(NAMES) % 16 + 1}",  # 128 scans
            "type": "network",
            "status": STATUSES[n % len(STATUSES)],
            "started": f"2024-03-13 12:{minute:02d}",
            "finished": f"2024-03-13 13:{minute:02d}",
            "duration": f"00:{minute:02d}",
            "critical_cnt": n % 3,
            "high_cnt": n % 7,
            "medium_cnt": n % 11,
            "low_cnt": n % 23,
            "errors": "",
            "link": f"https://sc.holmsecurity.com/scans/view/{seed}{n}",
        }
    }


def ticket(n: int, seed: str = "0") -> dict[str, object]:
    name, cve, cvss = VULNS[n % len(VULNS)]
    host = f"host-{seed}-{n}"
    return {
        "ticket": {
            "number": n,
            "status": "Open",
            "severity": SEVERITIES[n % len(SEVERITIES)],
            "due_date": "2024-04-13",
            "teams": ["Platform"],
            "url": f"https://sc.holmsecurity.com/tickets/{n}",
            "asset": {
                "name": host,
                "hostname": f"{host}.corp.example",
                "ipv4": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                "ipv6": None,
                "os": "Ubuntu 22.04",
                "type": "server",
                "tags": ["dmz", "linux"],
            },
            "vulnerability": {
                "name": name,
                "summary": f"Finding {n} on {host}.",
                "solution": "Upgrade to the latest version.",
                "cvss3": cvss,
                "cve_id": cve,
                "hid": f"HID-2-1-{n}",
            },
        },
        "run": seed,
    }


def body(n: int, seed: str = "0") -> bytes:
    payload = scan(n, seed) if n % 2 == 0 else ticket(n, seed)
    return json.dumps(payload).encode()

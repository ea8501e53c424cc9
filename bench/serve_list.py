#!/usr/bin/env python3
"""Times the paged list of a vault's protected items: through the official Python SDK, as a user's script
does, and as plain HTTP (one keep-alive session following nextLink, JSON parsed, no SDK models), which is
what the server costs; and as plain HTTP right after a write to the platform (a PATCH of the vault's
backup configuration with the values it has), so that serve reads the platform again instead of answering
from its read cache.

Arguments: URL CA TOKEN RUNS. Prints one JSON object: items, pages, and the wall seconds of each full listing
(every page) through the SDK, through plain HTTP, and through plain HTTP after a write (the write itself
not timed), after one warm-up listing of each.
"""
import json
import sys
import time

import requests

from azure.core.credentials import AccessToken
from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient

url, ca, token, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


class Token:
    def get_token(self, *scopes, **kwargs):
        return AccessToken(token, int(time.time()) + 3600)


pages = 0


def count_page(response):
    global pages
    if response.http_request.method == "GET" and "backupProtectedItems" in response.http_request.url:
        pages += 1


client = RecoveryServicesBackupClient(
    Token(), "22222222-2222-2222-2222-222222222222", base_url=url, connection_verify=ca, raw_response_hook=count_page)


def listing():
    return list(client.backup_protected_items.list("rsv-bench", "rg-vaults", filter="backupManagementType eq 'AzureIaasVM'"))


session = requests.Session()
session.verify = ca
session.headers["Authorization"] = f"Bearer {token}"
first = (f"{url}/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-vaults/providers/"
         "Microsoft.RecoveryServices/vaults/rsv-bench/backupProtectedItems"
         "?api-version=2026-10-01&$filter=backupManagementType eq 'AzureIaasVM'")


def plain():
    count, link = 0, first
    while link:
        response = session.get(link, verify=ca)
        response.raise_for_status()
        body = response.json()
        count += len(body["value"])
        link = body.get("nextLink")
    return count


def timed(function, expected):
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        got = function()
        seconds.append(time.perf_counter() - started)
        assert got == expected, f"{got} items, then {expected}"
    return seconds


config = (f"{url}/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-vaults/providers/"
          "Microsoft.RecoveryServices/vaults/rsv-bench/backupconfig/vaultconfig?api-version=2026-10-01")


def write():
    """A write that changes nothing but commits: the vault's soft-delete retention, set to its value."""
    response = session.get(config, verify=ca)
    response.raise_for_status()
    days = response.json()["properties"]["softDeleteRetentionPeriodInDays"]
    response = session.patch(config, json={"properties": {"softDeleteRetentionPeriodInDays": days}}, verify=ca)
    response.raise_for_status()


def timed_after_write(expected):
    seconds = []
    for _ in range(runs):
        write()
        started = time.perf_counter()
        got = plain()
        seconds.append(time.perf_counter() - started)
        assert got == expected, f"{got} items, then {expected}"
    return seconds


items = len(listing())
pages = 0
sdk = timed(lambda: len(listing()), items)
sdk_pages = pages // runs
assert plain() == items
http = timed(plain, items)
after_write = timed_after_write(items)
print(json.dumps({"items": items, "pages": sdk_pages, "sdk": sdk, "http": http, "after_write": after_write}))

#!/usr/bin/env python3
"""Times the paged list of a vault's protected items through the official Python SDK, as a user's script does.

Arguments: URL CA TOKEN RUNS. Prints one JSON object: items, pages, and the wall seconds of each full listing
(every page, nextLink followed by the SDK), after one warm-up listing.
"""
import json
import sys
import time

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


items = len(listing())
pages = 0
seconds = []
for _ in range(runs):
    started = time.perf_counter()
    got = len(listing())
    seconds.append(time.perf_counter() - started)
    assert got == items, f"{got} items, then {items}"
print(json.dumps({"items": items, "pages": pages // runs, "seconds": seconds}))

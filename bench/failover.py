#!/usr/bin/env python3
"""Failover of a group of `coffer watch` replicas sharing their state in PostgreSQL, against one `coffer serve`.

Usage: failover.py COFFER DATABASE_URL WORKDIR KILLS TTL INTERVAL

Starts serve on the reference world and two replicas; then KILLS times: finds the leader in coffer_leases,
commits a change, kill -9s the leader, and measures (a) the takeover: the kill to a new term in the lease,
and (b) the kill to the first apply of the new commit by the new leader (a history record of it); then
restarts the killed replica. Prints each kill, then the median and the maximum of both.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time

coffer, database, work, kills = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ttl, interval = float(sys.argv[5].rstrip("s")), float(sys.argv[6].rstrip("s"))
world = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "reference", "world.yaml")
platform = os.path.join(work, "platform")
repo = os.path.join(work, "origin")


def psql(sql):
    # Empty until a replica has created coffer's tables.
    result = subprocess.run(["psql", "-Atq", database, "-c", sql], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def manifests(days):
    os.makedirs(os.path.join(repo, "manifests"), exist_ok=True)
    with open(os.path.join(repo, "manifests", "vault.yaml"), "w") as f:
        f.write("apiVersion: coffer.dev/v1\nkind: RecoveryServicesVault\nmetadata:\n  name: rsv-failover-eastus\n"
                "spec:\n  resourceGroup: rg-backup-eastus\n  location: eastus\n  storageRedundancy: GeoRedundant\n")
    with open(os.path.join(repo, "manifests", "policy.yaml"), "w") as f:
        f.write("apiVersion: coffer.dev/v1\nkind: BackupPolicy\nmetadata:\n  name: daily-failover-eastus\nspec:\n"
                "  vault: rsv-failover-eastus\n  schedule:\n    frequency: Daily\n    time: \"02:00\"\n"
                f"  retention:\n    daily:\n      count: {days}\n")
    subprocess.run(["git", "-C", repo, "add", "-A"], check=True)
    subprocess.run(["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", f"days {days}"], check=True)
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


subprocess.run([coffer, "platform", "init", "--state", platform, "--world", world], check=True, stdout=subprocess.DEVNULL)
token = subprocess.run([coffer, "serve", "token", "issue", "--state", platform], check=True, capture_output=True, text=True).stdout.split()[0]
with open(os.path.join(work, "token"), "w") as f:
    f.write(token)
serve_log = open(os.path.join(work, "serve.log"), "w")
serve = subprocess.Popen([coffer, "serve", "--state", platform, "--listen", "127.0.0.1:0", "--output", "json"], stdout=serve_log, stderr=serve_log)
port = None
for _ in range(300):
    with open(os.path.join(work, "serve.log")) as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "listening":
                port = event.get("port")
    if port:
        break
    time.sleep(0.1)
if not port:
    sys.exit("serve did not start")

subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
days = 7
manifests(days)
common = ["--endpoint", f"https://127.0.0.1:{port}", "--token-file", os.path.join(work, "token"),
          "--ca-file", os.path.join(platform, "serve", "ca.pem"), "--state-backend", database]


def start(index):
    log = open(os.path.join(work, f"replica-{index}.log"), "a")
    return subprocess.Popen([coffer, "watch", "--state", os.path.join(work, f"replica-{index}"), "--repo", repo, "--path", "manifests",
                             "--interval", f"{interval}s", "--drift-interval", "1h", "--lease-ttl", f"{ttl}s", "--replicas-group", "bench",
                             "--output", "json"] + common, stdout=log, stderr=log)


replicas = [start(0), start(1)]


def leader():
    row = psql("SELECT holder || ' ' || term FROM coffer_leases WHERE group_name = 'bench' AND expires > now()")
    if not row:
        return None
    holder, term = row.rsplit(" ", 1)
    return int(holder.split(":")[-2]), int(term)


def applied(commit):
    return psql(f"SELECT count(*) FROM coffer_history WHERE record LIKE '%{commit}%' AND record LIKE '%\"result\":\"succeeded\"%'") not in ("", "0")


takeovers, applies = [], []
try:
    deadline = time.time() + 120
    while not leader() and time.time() < deadline:
        time.sleep(0.1)
    for k in range(kills):
        # The group is converged on the last commit before each kill.
        while not applied(subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()):
            time.sleep(0.1)
        pid, term = leader()
        days += 1
        commit = manifests(days)
        killed = time.time()
        os.kill(pid, signal.SIGKILL)
        took, done = None, None
        while time.time() - killed < 120 and done is None:
            now = leader()
            if took is None and now and now[1] > term:
                took = time.time() - killed
            if applied(commit):
                done = time.time() - killed
            time.sleep(0.02)
        if took is None or done is None:
            # The killed process may not have been the leader any more (its lease had just been taken over).
            print(f"kill {k + 1:2d}: pid {pid} (term {term}): no new term before the commit was applied; not counted", flush=True)
        else:
            takeovers.append(took)
            applies.append(done)
            print(f"kill {k + 1:2d}: takeover {took:.2f} s, first apply of the new commit {done:.2f} s", flush=True)
        for i, replica in enumerate(replicas):
            if replica.pid == pid:
                replica.wait()
                replicas[i] = start(i)
finally:
    for replica in replicas:
        replica.send_signal(signal.SIGTERM)
    for replica in replicas:
        replica.wait()
    serve.send_signal(signal.SIGTERM)
    serve.wait()

print(f"takeover (kill to new term):        median {statistics.median(takeovers):.2f} s, max {max(takeovers):.2f} s "
      f"(lease TTL {ttl} s, interval {interval} s: bound {ttl + interval:.2f} s)")
print(f"failover (kill to new leader's apply): median {statistics.median(applies):.2f} s, max {max(applies):.2f} s "
      f"(target: under 2 lease TTLs, {2 * ttl:.2f} s)")

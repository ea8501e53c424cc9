"""Fixtures for driving `coffer serve` with Azure's official Python SDKs.

Tests/sdk/run.sh starts serve on a fresh copy of the reference world (examples/reference/world.yaml) and
sets the environment read here: where serve answers, the CA file to trust, a token, the state directory and
the coffer executable (for the CLI side of "one platform, two doors"). `ServeProcess` starts another serve
on a fresh state of any world, for a module that needs a platform of its own.
"""

import json
import os
import pathlib
import subprocess
import tempfile
import time

import pytest
from azure.core.credentials import AccessToken
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.recoveryservices import RecoveryServicesClient
from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient
from azure.mgmt.recoveryservicesbackup.passivestamp import RecoveryServicesBackupPassiveClient

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]

# The reference world's names (examples/reference/world.yaml).
SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
BACKUP_RG = "rg-backup-eastus"
APP_RG = "rg-app-eastus"
KEYS_RG = "rg-keys-eastus"
KEY_VAULT = "kv-app-eastus"


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through Tests/sdk/run.sh", returncode=2)
    return value


class ServeTokenCredential:
    """azure-core's TokenCredential protocol: get_token returns the bearer token `coffer serve token` issued."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)


@pytest.fixture(scope="session")
def serve():
    return {
        "url": env("COFFER_SERVE_URL"),
        "ca": env("COFFER_SERVE_CA"),
        "token": env("COFFER_SERVE_TOKEN"),
        "state": env("COFFER_STATE"),
        "coffer": env("COFFER"),
    }


def client_options(serve):
    # TLS verified against serve's own CA: never verify=False.
    return {"base_url": serve["url"], "connection_verify": serve["ca"]}


def make_clients(serve, token=None, subscription=SUBSCRIPTION, **extra):
    credential = ServeTokenCredential(token or serve["token"])
    options = {**client_options(serve), **extra}
    return {
        "vaults": RecoveryServicesClient(credential, subscription, **options),
        "backup": RecoveryServicesBackupClient(credential, subscription, **options),
        "keyvault": KeyVaultManagementClient(credential, subscription, **options),
        "compute": ComputeManagementClient(credential, subscription, **options),
        # Cross-region restore: the passive stamp's own package (api-version 2021-11-15).
        "crr": RecoveryServicesBackupPassiveClient(credential, subscription, **options),
    }


@pytest.fixture(scope="session")
def clients(serve):
    return make_clients(serve)


def coffer_runner(serve):
    """Runs the coffer CLI on a serve's state directory; returns the completed process."""

    def run(*arguments, check=True):
        result = subprocess.run(
            [serve["coffer"], *arguments, "--state", serve["state"]], capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"coffer {' '.join(arguments)} failed ({result.returncode}): {result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def coffer(serve):
    return coffer_runner(serve)


# The suites drive the 202 flow of long-running operations and poll them: their serves answer every one 202
# (`--sync-grace 0`). test_synchronous.py drives the synchronous answer (`--sync-grace 500ms`).
POLLED = ("--sync-grace", "0")


class ServeProcess:
    """`coffer serve` on a fresh state of `world` (a path under the repository), on a free port, with a token
    of its own and `arguments` on its command line; `stop()` ends it with SIGTERM and checks that it exits 0
    and that its log never shows the token. `info` has the keys of the `serve` fixture."""

    def __init__(self, world, arguments=POLLED):
        executable = env("COFFER")
        self.work = tempfile.TemporaryDirectory(prefix="coffer-sdk-serve.")
        state = os.path.join(self.work.name, "state")
        subprocess.run(
            [executable, "platform", "init", "--state", state, "--world", str(REPOSITORY / world)],
            check=True, capture_output=True, timeout=120,
        )
        self.log_path = os.path.join(self.work.name, "serve.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [executable, "serve", "--state", state, "--listen", "127.0.0.1:0", "--output", "json", *arguments],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        url = None
        deadline = time.time() + 30
        while url is None and time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"coffer serve exited before listening: {open(self.log_path).read()}")
            for line in open(self.log_path):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "listening":
                    url = event["url"]
                    break
            time.sleep(0.2)
        if url is None:
            self.process.terminate()
            raise AssertionError("coffer serve did not start listening")
        token = subprocess.run(
            [executable, "serve", "token", "--state", state, "--expires-in", "2h", "--description", "Tests/sdk"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        self.info = {"url": url, "ca": os.path.join(state, "serve", "ca.pem"), "token": token, "state": state, "coffer": executable}

    def stop(self):
        self.process.terminate()
        status = self.process.wait(timeout=60)
        self.log.close()
        log = open(self.log_path).read()
        self.work.cleanup()
        assert status == 0, f"coffer serve exited with {status} on SIGTERM"
        assert self.info["token"] not in log, "the token appears in serve's log"


@pytest.fixture(scope="session")
def platform(coffer):
    """What `coffer platform show --output json` says: the tenant's Backup Management Service object id, VMs."""
    return json.loads(coffer("platform", "show", "--output", "json").stdout)


def vault_body(location="eastus", cross_region_restore=False):
    return {
        "location": location,
        "sku": {"name": "Standard"},
        "properties": {
            "publicNetworkAccess": "Enabled",
            "redundancySettings": {
                "standardTierStorageRedundancy": "GeoRedundant",
                "crossRegionRestore": "Enabled" if cross_region_restore else "Disabled",
            },
            "securitySettings": {"softDeleteSettings": {"softDeleteState": "Enabled", "softDeleteRetentionPeriodInDays": 14}},
        },
    }


def daily_policy(days=30):
    at = "2026-01-01T02:00:00Z"
    return {
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "policyType": "V1",
            "instantRpRetentionRangeInDays": 2,
            "timeZone": "UTC",
            "schedulePolicy": {
                "schedulePolicyType": "SimpleSchedulePolicy",
                "scheduleRunFrequency": "Daily",
                "scheduleRunTimes": [at],
            },
            "retentionPolicy": {
                "retentionPolicyType": "LongTermRetentionPolicy",
                "dailySchedule": {"retentionTimes": [at], "retentionDuration": {"count": days, "durationType": "Days"}},
                "weeklySchedule": {
                    "daysOfTheWeek": ["Sunday"],
                    "retentionTimes": [at],
                    "retentionDuration": {"count": 12, "durationType": "Weeks"},
                },
            },
        }
    }


def enhanced_policy():
    at = "2026-01-01T08:00:00Z"
    return {
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "policyType": "V2",
            "instantRpRetentionRangeInDays": 7,
            "timeZone": "UTC",
            "schedulePolicy": {
                "schedulePolicyType": "SimpleSchedulePolicyV2",
                "scheduleRunFrequency": "Hourly",
                "hourlySchedule": {"interval": 4, "scheduleWindowStartTime": at, "scheduleWindowDuration": 24},
            },
            "retentionPolicy": {
                "retentionPolicyType": "LongTermRetentionPolicy",
                "dailySchedule": {"retentionTimes": [at], "retentionDuration": {"count": 30, "durationType": "Days"}},
            },
        }
    }


def container_name(vm, group=APP_RG):
    return f"IaasVMContainer;iaasvmcontainerv2;{group};{vm}"


def item_name(vm, group=APP_RG):
    return f"VM;iaasvmcontainerv2;{group};{vm}"


def vm_id(vm, group=APP_RG, subscription=SUBSCRIPTION):
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{vm}"


def group_id(group, subscription=SUBSCRIPTION):
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def guest_checksums(coffer, vm):
    """What the CLI reads of a VM's disks as its guest sees them: {"os": sha, "0": sha, ...}."""
    sums = {}
    for line in coffer("platform", "checksum", vm).stdout.splitlines():
        digest, name = line.split("  ", 1)
        sums[name.split("/", 1)[1]] = digest
    return sums


def restored_disk_checksum(coffer, disk):
    """The CLI's checksum of a disk a restore created (an ADE disk is unlocked with the BEK in its key vault)."""
    return coffer("platform", "checksum", "--restored-disk", disk).stdout.split("  ", 1)[0]


def restored_disks_of(job):
    """The disks a completed restore job reports in its propertyBag: {"os": name, "0": name, ...}."""
    disks = {}
    for key, value in job.properties.extended_info.property_bag.items():
        if key == "Restored Disk (OS)":
            disks["os"] = value
        elif key.startswith("Restored Disk (LUN "):
            disks[key[len("Restored Disk (LUN "):-1]] = value
    return disks


class FirstResponse:
    """A `raw_response_hook` that keeps the first response's headers: the 202 of an SDK poller, whose
    Azure-AsyncOperation names the operation (and through it the job)."""

    def __init__(self):
        self.headers = None

    def __call__(self, pipeline_response):
        if self.headers is None:
            self.headers = dict(pipeline_response.http_response.headers)

    @property
    def operation_id(self):
        return self.headers["Azure-AsyncOperation"].split("?")[0].rstrip("/").split("/")[-1]


def headers_of(pipeline_response, deserialized, headers):
    """A `cls` for caller-polled operations: the 202's headers."""
    return pipeline_response.http_response.headers


def wait_for_operation(backup, vault, status_url, timeout=60, group=BACKUP_RG):
    """Polls a protected item operation (its Azure-AsyncOperation URL's id) until it ends; the OperationStatus."""
    operation_id = status_url.split("?")[0].rstrip("/").split("/")[-1]
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = backup.backup_operation_statuses.get(vault, group, operation_id)
        if status.status != "InProgress":
            return status
        time.sleep(1)
    raise AssertionError(f"operation {operation_id} did not end in {timeout}s")


def wait_for_job(backup, vault, job_id, timeout=60, group=BACKUP_RG):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = backup.job_details.get(vault, group, job_id)
        if job.properties.status not in ("InProgress", "Cancelling"):
            return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} did not end in {timeout}s")


class SecondServe:
    """A `coffer serve` of its own, on a fresh state made from a world file (`coffer platform init --world`),
    started as Tests/sdk/run.sh starts the main one: port 0, the URL read from its first JSON line, a token
    from `coffer serve token`. `stop()` ends it with SIGTERM and checks that it exits 0."""

    def __init__(self, coffer_path, world, directory, page_size=None, arguments=POLLED):
        self.coffer_path = coffer_path
        self.state = os.path.join(directory, "state")
        self.log_path = os.path.join(directory, "serve.log")
        subprocess.run(
            [coffer_path, "platform", "init", "--state", self.state, "--world", world],
            check=True, capture_output=True, text=True, timeout=600,
        )
        command = [coffer_path, "serve", "--state", self.state, "--listen", "127.0.0.1:0", "--output", "json", *arguments]
        if page_size:
            command += ["--page-size", str(page_size)]
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline and self.url is None:
            if self.process.poll() is not None:
                raise AssertionError(f"coffer serve exited before listening: {open(self.log_path).read()}")
            for line in open(self.log_path):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "listening":
                    self.url = event["url"]
                    break
            time.sleep(0.1)
        if self.url is None:
            self.stop()
            raise AssertionError("coffer serve did not start listening")
        self.token = subprocess.run(
            [coffer_path, "serve", "token", "--state", self.state, "--expires-in", "2h", "--description", "Tests/sdk second serve"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        self.ca = os.path.join(self.state, "serve", "ca.pem")

    def info(self):
        return {"url": self.url, "ca": self.ca, "token": self.token, "state": self.state, "coffer": self.coffer_path}

    def cli(self, *arguments, check=True):
        result = subprocess.run(
            [self.coffer_path, *arguments, "--state", self.state], capture_output=True, text=True, timeout=600
        )
        if check and result.returncode != 0:
            raise AssertionError(f"coffer {' '.join(arguments)} failed ({result.returncode}): {result.stderr}")
        return result

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                status = self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("coffer serve did not stop on SIGTERM")
            assert status == 0, f"coffer serve exited with {status} on SIGTERM"
        self._log.close()
        assert self.token not in open(self.log_path).read(), "the token appears in serve's log"


def repository_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

"""
A stand-in for the Cloud SQL Admin API v1 as the cloudsql backup gate (charts/mlflow/migrate.py) calls
it, behind world.current.sqladmin. Paths and fields as Google documents them
(https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1): backupRuns.insert POSTs
projects/{project}/instances/{instance}/backupRuns and answers an Operation; operations.get is
projects/{project}/operations/{operation}, status PENDING, RUNNING or DONE, `error.errors[]` with
code and message, `backupContext.backupId` (an int64, sent as a string); backupRuns.get and .list
answer BackupRun resources (`id`, `status` SqlBackupRunStatus, `description`), the list under `items`.
An error answers Google's JSON error body: {"error": {"code", "message", "status"}}.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

API = "https://sqladmin.googleapis.com/v1"
PROJECT = "proj"
INSTANCE = "mlflow-metadata"
BACKUP_ACCOUNT = "mlflow-sql-backup@proj.iam.gserviceaccount.com"
POD = "mlflow-migrate-3-17-0-abc12-xyz34"
# What the migration Job's pod gets in cloudsql mode (charts/mlflow/migration.ts).
ENV = {
    "BACKUP_GATE": "cloudsql",
    "CLOUDSQL_PROJECT": PROJECT,
    "CLOUDSQL_INSTANCE": INSTANCE,
    "BACKUP_ACCOUNT": BACKUP_ACCOUNT,
    "BACKUP_WAIT_SECONDS": "600",
    "HOSTNAME": POD,
}
INSTANCE_PATH = "/projects/%s/instances/%s" % (PROJECT, INSTANCE)


@dataclasses.dataclass
class FakeSqlAdmin:
    """One instance's backups. The operation is DONE from the `done_at_poll`-th operations.get on (None: never)."""

    base: str = API
    done_at_poll: Optional[int] = 2
    # The finished operation's error (OperationErrors), if any.
    operation_error: Optional[dict[str, Any]] = None
    # Whether the finished operation names its backup in backupContext.
    backup_context: bool = True
    run_status: str = "SUCCESSFUL"
    # An HTTP error status for the insert, with Google's message.
    insert_status: int = 200
    insert_message: str = ""
    backup_id: str = "1733612345678"
    polls: int = 0
    description: Optional[str] = None

    def _error(self, status: int, message: str) -> tuple[int, Any]:
        return status, {"error": {"code": status, "message": message, "status": "PERMISSION_DENIED" if status == 403 else "FAILED_PRECONDITION"}}

    def _operation(self) -> dict[str, Any]:
        done = self.done_at_poll is not None and self.polls >= self.done_at_poll
        operation: dict[str, Any] = {"kind": "sql#operation", "name": "op-42", "status": "DONE" if done else ("PENDING" if self.polls == 0 else "RUNNING")}
        if done and self.operation_error:
            operation["error"] = self.operation_error
        if done and self.backup_context:
            operation["backupContext"] = {"kind": "sql#backupContext", "backupId": self.backup_id}
        return operation

    def _run(self) -> dict[str, Any]:
        return {"kind": "sql#backupRun", "id": self.backup_id, "status": self.run_status, "type": "ON_DEMAND", "description": self.description}

    def __call__(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        assert url.startswith(self.base + "/"), url
        path = url[len(self.base) :]
        if (method, path) == ("POST", INSTANCE_PATH + "/backupRuns"):
            if self.insert_status >= 400:
                return self._error(self.insert_status, self.insert_message)
            self.description = body["description"]
            return 200, self._operation()
        if (method, path) == ("GET", "/projects/%s/operations/op-42" % PROJECT):
            self.polls += 1
            return 200, self._operation()
        if (method, path) == ("GET", INSTANCE_PATH + "/backupRuns"):
            return 200, {"kind": "sql#backupRunsList", "items": [{"id": "17", "description": "the nightly one"}, self._run()]}
        if (method, path) == ("GET", INSTANCE_PATH + "/backupRuns/" + self.backup_id):
            return 200, self._run()
        return self._error(404, "no such resource: %s %s" % (method, path))

"""
Provisioning Job of MLflow's users and their permissions (charts/mlflow/auth-provision.ts). Each run:

1. creates every account of PROVISION_ACCOUNTS that does not exist and sets its password from its
   Secret (a rotated Secret reaches MLflow so), and makes the accounts marked admin admins;
2. gives every person (an account marked defaultExperiment) a personal experiment,
   PERSONAL_EXPERIMENT_PREFIX + username (users/<email>), with MANAGE on it: created by the admin if
   missing (a concurrent creator's RESOURCE_ALREADY_EXISTS is taken as done), restored if deleted,
   since the workspaces point MLFLOW_EXPERIMENT_NAME at it;
3. sets every non-admin user's own grant on the Default experiment (id 0) to
   DEFAULT_EXPERIMENT_PERMISSION (READ, or none for NO_PERMISSIONS): a higher grant given before
   (EDIT, by earlier versions of this Job and of the IAP verifier) is revoked and granted again at the
   configured level. That is the migration of existing deployments;
4. keeps the platform's MLflow roles (PROVISION_ROLES: gc's, one per group of mlflow.auth.groups, one
   per user shared with in mlflow.auth.sharing) to exactly their configured grants and members:
   creates a missing role, adds, updates and removes its grants, assigns and unassigns users, and
   deletes a role of the platform's prefix (MANAGED_ROLE_PREFIX) that the config no longer has. An
   experiment or registered model named by a grant is created by the admin if missing.

It acts as the bootstrap admin (MLFLOW_TRACKING_USERNAME/PASSWORD) through MLflow's REST API, over
HTTPS checked against the platform CA (MLFLOW_TRACKING_SERVER_CERT_PATH), once /health answers. The
routes, at mlflow@v3.17.0 (mlflow/server/auth/routes.py and the handlers of
mlflow/server/auth/__init__.py): GET 2.0/mlflow/users/get and users/list (every user with its roles,
each role with its grants), POST 2.0/mlflow/users/create, PATCH 2.0/mlflow/users/update-password and
update-admin; POST 3.0/mlflow/users/permissions/grant and /revoke, which write the user's own
synthetic role "__user_<id>__" in the "default" workspace (sqlalchemy_store.py
grant_user_resource_permission); the role API under 3.0/mlflow/roles/: GET list?workspace=, POST
create {name, workspace}, DELETE delete {role_id}, POST permissions/add {role_id, resource_type,
resource_pattern, permission}, PATCH permissions/update {role_permission_id, permission}, DELETE
permissions/remove {role_permission_id}, POST assign and DELETE unassign {username, role_id}. A grant
is not an upsert: the store raises RESOURCE_ALREADY_EXISTS for an existing row, so a grant at another
level is revoked and granted again. With workspaces off, every grant lives in the workspace
"default" (mlflow/utils/workspace_utils.py DEFAULT_WORKSPACE_NAME; sqlalchemy_store.py
_get_active_workspace_name).

No password is ever printed. The pod runs what follows the marker, as it is.
"""
# ---- the pod runs what follows ----
import base64, json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request

URI = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
CONTEXT = ssl.create_default_context(cafile=os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"])
ADMIN_CREDENTIALS = base64.b64encode((os.environ["MLFLOW_TRACKING_USERNAME"] + ":" + os.environ["MLFLOW_TRACKING_PASSWORD"]).encode()).decode()
ACCOUNTS = json.loads(os.environ["PROVISION_ACCOUNTS"])
# READ, or NO_PERMISSIONS (no grant at all: NO_PERMISSIONS is not grantable on a resource,
# permissions.py RESOURCE_GRANTABLE_PERMISSIONS).
DEFAULT_EXPERIMENT_PERMISSION = os.environ.get("DEFAULT_EXPERIMENT_PERMISSION", "NO_PERMISSIONS")
PERSONAL_EXPERIMENT_PREFIX = os.environ.get("PERSONAL_EXPERIMENT_PREFIX", "users/")
ROLES = json.loads(os.environ.get("PROVISION_ROLES", "[]"))
MANAGED_ROLE_PREFIX = os.environ.get("MANAGED_ROLE_PREFIX", "mlflow-gke-")
WORKSPACE = "default"
DEFAULT_EXPERIMENT_ID = "0"
# mlflow/utils/validation.py _validate_password: at least 12 characters.
MIN_PASSWORD_LENGTH = 12


def log(message):
    print("[mlflow-gke provision] " + message, flush=True)


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__("HTTP %s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def api(method, path, body=None, query=None):
    url = URI + path + ("?" + urllib.parse.urlencode(query) if query else "")
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": "Basic " + ADMIN_CREDENTIALS, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30, context=CONTEXT) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        # MLflow's errors are JSON (error_code, message); its 401 and 403 are plain text.
        if not isinstance(answer, dict):
            answer = {}
        raise ApiError(error.code, answer.get("error_code", ""), answer.get("message", text.decode(errors="replace")[:200]))
    return json.loads(text) if text.strip() else {}


def wait_for_server(timeout=600):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(URI + "/health", timeout=5, context=CONTEXT) as response:
                if response.status == 200:
                    return True
                last = "status %s" % response.status
        except Exception as error:
            last = str(error).strip() or type(error).__name__
        if time.time() > deadline:
            log("tracking server %s/health not healthy after %ss: %s" % (URI, timeout, last))
            return False
        time.sleep(5)


def synthetic_role(name):
    """Whether a role is the one that holds a user's own grants (sqlalchemy_store.py _SYNTHETIC_ROLE_NAME_RE, __user_<digits>__)."""
    return name.startswith("__user_") and name.endswith("__") and name[7:-2].isdigit()


def direct_grants(user):
    """A user's own grants (its synthetic role in the default workspace), from a users/list entry: (type, id) -> permission."""
    return {
        (p["resource_type"], p["resource_pattern"]): p["permission"]
        for role in user.get("roles", [])
        if synthetic_role(role.get("name", "")) and role.get("workspace", WORKSPACE) == WORKSPACE
        for p in role.get("permissions", [])
    }


def set_direct_grant(username, grants, resource_type, resource_id, permission):
    """Makes the user's own grant on the resource `permission` (None: no grant); whether it changed."""
    current = grants.get((resource_type, resource_id))
    if current == permission:
        return False
    key = {"username": username, "resource_type": resource_type, "resource_id": resource_id}
    if current is not None:
        api("POST", "/api/3.0/mlflow/users/permissions/revoke", key)
    if permission is not None:
        try:
            api("POST", "/api/3.0/mlflow/users/permissions/grant", dict(key, permission=permission))
        except ApiError as error:
            # Granted by another writer (the IAP verifier at a first sign-in) between the list and now.
            if error.code != "RESOURCE_ALREADY_EXISTS":
                raise
            api("POST", "/api/3.0/mlflow/users/permissions/revoke", key)
            api("POST", "/api/3.0/mlflow/users/permissions/grant", dict(key, permission=permission))
    grants[(resource_type, resource_id)] = permission
    return True


def experiment_id(name):
    """The id of the experiment `name`: created if missing, restored if deleted."""
    try:
        experiment = api("GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": name})["experiment"]
    except ApiError as error:
        if error.code != "RESOURCE_DOES_NOT_EXIST":
            raise
        try:
            created = api("POST", "/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"]
            log("experiment %s: created (id %s)" % (name, created))
            return created
        except ApiError as race:
            # Created by someone else meanwhile (the IAP verifier, the person's own client).
            if race.code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = api("GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": name})["experiment"]
    if experiment.get("lifecycle_stage") == "deleted":
        api("POST", "/api/2.0/mlflow/experiments/restore", {"experiment_id": experiment["experiment_id"]})
        log("experiment %s: restored from the deleted ones (id %s)" % (name, experiment["experiment_id"]))
    return experiment["experiment_id"]


def ensure_registered_model(name):
    try:
        api("GET", "/api/2.0/mlflow/registered-models/get", query={"name": name})
    except ApiError as error:
        if error.code != "RESOURCE_DOES_NOT_EXIST":
            raise
        try:
            api("POST", "/api/2.0/mlflow/registered-models/create", {"name": name})
            log("registered model %s: created" % name)
        except ApiError as race:
            if race.code != "RESOURCE_ALREADY_EXISTS":
                raise
    return name


def default_experiment_grant():
    return DEFAULT_EXPERIMENT_PERMISSION if DEFAULT_EXPERIMENT_PERMISSION != "NO_PERMISSIONS" else None


def provision(account, users):
    username = account["username"]
    password = os.environ.get(account["passwordVariable"], "")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError("Secret %s, key password: MLflow needs a password of at least %d characters" % (account["secret"], MIN_PASSWORD_LENGTH))
    if username in users:
        api("PATCH", "/api/2.0/mlflow/users/update-password", {"username": username, "password": password})
        done = ["password set from Secret " + account["secret"]]
    else:
        api("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
        users[username] = {"username": username, "is_admin": False, "roles": []}
        done = ["created, password from Secret " + account["secret"]]
    if account.get("admin"):
        api("PATCH", "/api/2.0/mlflow/users/update-admin", {"username": username, "is_admin": True})
        users[username]["is_admin"] = True
        done.append("admin")
    elif users[username].get("is_admin"):
        # An earlier version made this platform account (gc) an admin; it now has a role instead.
        api("PATCH", "/api/2.0/mlflow/users/update-admin", {"username": username, "is_admin": False})
        users[username]["is_admin"] = False
        done.append("no longer an admin")
    if account.get("defaultExperiment"):
        name = PERSONAL_EXPERIMENT_PREFIX + username
        grants = direct_grants(users[username])
        set_direct_grant(username, grants, "experiment", experiment_id(name), "MANAGE")
        done.append("MANAGE on its experiment " + name)
    log("%s: %s" % (username, ", ".join(done)))


def set_default_experiment(username, user):
    """The user's own grant on the Default experiment, to the configured level: a higher one is revoked and granted again."""
    wanted = default_experiment_grant()
    grants = direct_grants(user)
    before = grants.get(("experiment", DEFAULT_EXPERIMENT_ID))
    if set_direct_grant(username, grants, "experiment", DEFAULT_EXPERIMENT_ID, wanted):
        log("%s: Default experiment %s -> %s" % (username, before or "no grant", wanted or "no grant"))


def resolve_grant(grant):
    """A configured grant as (resource_type, resource_pattern, permission): experiments and models by name, or a pattern."""
    if "experiment" in grant:
        return ("experiment", experiment_id(grant["experiment"]), grant["permission"])
    if "registeredModel" in grant:
        return ("registered_model", ensure_registered_model(grant["registeredModel"]), grant["permission"])
    return (grant["resourceType"], grant["pattern"], grant["permission"])


def reconcile_role(role, existing, users):
    """Keeps one platform role to its configured grants and members."""
    name = role["name"]
    if existing is None:
        existing = api("POST", "/api/3.0/mlflow/roles/create", {"name": name, "workspace": WORKSPACE, "description": role.get("description", "")})["role"]
        log("role %s: created" % name)
    role_id = existing["id"]
    wanted = {}
    for grant in role["grants"]:
        resource_type, pattern, permission = resolve_grant(grant)
        wanted[(resource_type, pattern)] = permission
    have = {(p["resource_type"], p["resource_pattern"]): p for p in existing.get("permissions", [])}
    for key, row in have.items():
        if key not in wanted:
            api("DELETE", "/api/3.0/mlflow/roles/permissions/remove", {"role_permission_id": row["id"]})
            log("role %s: removed %s on %s %s" % (name, row["permission"], key[0], key[1]))
        elif row["permission"] != wanted[key]:
            api("PATCH", "/api/3.0/mlflow/roles/permissions/update", {"role_permission_id": row["id"], "permission": wanted[key]})
            log("role %s: %s on %s %s -> %s" % (name, row["permission"], key[0], key[1], wanted[key]))
    for key, permission in sorted(wanted.items()):
        if key not in have:
            api("POST", "/api/3.0/mlflow/roles/permissions/add", {"role_id": role_id, "resource_type": key[0], "resource_pattern": key[1], "permission": permission})
            log("role %s: added %s on %s %s" % (name, permission, key[0], key[1]))
    members = set(role["members"])
    for username, user in sorted(users.items()):
        holds = any(r.get("id") == role_id for r in user.get("roles", []))
        if username in members and not holds:
            api("POST", "/api/3.0/mlflow/roles/assign", {"username": username, "role_id": role_id})
            log("role %s: assigned to %s" % (name, username))
        elif holds and username not in members:
            api("DELETE", "/api/3.0/mlflow/roles/unassign", {"username": username, "role_id": role_id})
            log("role %s: unassigned from %s" % (name, username))
    missing = sorted(members - set(users))
    if missing:
        raise ValueError("role %s: no MLflow user %s" % (name, ", ".join(missing)))


def list_users():
    return {u["username"]: u for u in api("GET", "/api/2.0/mlflow/users/list").get("users", [])}


def main():
    if not wait_for_server():
        return 1
    failed = []
    try:
        users = list_users()
    except Exception as error:
        log("listing the users FAILED: %s" % (str(error).strip() or type(error).__name__))
        return 1
    for account in ACCOUNTS:
        try:
            provision(account, users)
        except Exception as error:
            log("%s: FAILED: %s" % (account["username"], str(error).strip() or type(error).__name__))
            failed.append(account["username"])
    # Every non-admin user, provisioned or signed in through IAP, listed again with its grants.
    try:
        users = list_users()
        existing = {r["name"]: r for r in api("GET", "/api/3.0/mlflow/roles/list", query={"workspace": WORKSPACE}).get("roles", [])}
    except Exception as error:
        log("listing the users and roles FAILED: %s" % (str(error).strip() or type(error).__name__))
        return 1
    for username, user in sorted(users.items()):
        if user.get("is_admin"):
            continue
        try:
            set_default_experiment(username, user)
        except Exception as error:
            log("%s: Default experiment: FAILED: %s" % (username, str(error).strip() or type(error).__name__))
            failed.append(username)
    configured = {r["name"] for r in ROLES}
    for role in ROLES:
        try:
            reconcile_role(role, existing.get(role["name"]), users)
        except Exception as error:
            log("role %s: FAILED: %s" % (role["name"], str(error).strip() or type(error).__name__))
            failed.append("role " + role["name"])
    for name, role in sorted(existing.items()):
        if name.startswith(MANAGED_ROLE_PREFIX) and name not in configured:
            api("DELETE", "/api/3.0/mlflow/roles/delete", {"role_id": role["id"]})
            log("role %s: deleted (no longer in the config)" % name)
    if failed:
        log("%d failures: %s" % (len(failed), ", ".join(failed)))
        return 1
    log("%d accounts, %d users and %d roles provisioned" % (len(ACCOUNTS), len(users), len(ROLES)))
    return 0


sys.exit(main())

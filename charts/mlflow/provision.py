"""
Provisioning Job of MLflow's users (charts/mlflow/auth-provision.ts): creates every account of
PROVISION_ACCOUNTS that does not exist and sets its password from its Secret, makes the platform's
service accounts admins, and gives the people DEFAULT_EXPERIMENT_PERMISSION on the Default experiment
(id 0), so that mlflow.start_run() without set_experiment may create runs there. Running it again
changes nothing but the passwords, which it sets from the Secrets again: that is how a rotated
Secret reaches MLflow.

It acts as the bootstrap admin (MLFLOW_TRACKING_USERNAME/PASSWORD) through MLflow's REST API, over
HTTPS checked against the platform CA (MLFLOW_TRACKING_SERVER_CERT_PATH), once /health answers. The
routes (mlflow/server/auth/routes.py and docs/docs/self-hosting/security/basic-http-auth.mdx):
GET 2.0/mlflow/users/get, POST 2.0/mlflow/users/create, PATCH 2.0/mlflow/users/update-password and
2.0/mlflow/users/update-admin (admin only), POST 3.0/mlflow/users/permissions/grant and /revoke. A grant
is not an upsert: the store raises RESOURCE_ALREADY_EXISTS for an existing row
(mlflow/server/auth/sqlalchemy_store.py grant_user_resource_permission), so an existing grant is
revoked and granted again at the configured level.

No password is ever printed. The pod runs what follows the marker, as it is.
"""
# ---- the pod runs what follows ----
import base64, json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request

URI = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
CONTEXT = ssl.create_default_context(cafile=os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"])
ADMIN_CREDENTIALS = base64.b64encode((os.environ["MLFLOW_TRACKING_USERNAME"] + ":" + os.environ["MLFLOW_TRACKING_PASSWORD"]).encode()).decode()
ACCOUNTS = json.loads(os.environ["PROVISION_ACCOUNTS"])
DEFAULT_EXPERIMENT_PERMISSION = os.environ.get("DEFAULT_EXPERIMENT_PERMISSION", "")
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


def user_exists(username):
    try:
        api("GET", "/api/2.0/mlflow/users/get", query={"username": username})
        return True
    except ApiError as error:
        if error.code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise


def grant_default_experiment(username):
    grant = {"username": username, "resource_type": "experiment", "resource_id": "0", "permission": DEFAULT_EXPERIMENT_PERMISSION}
    try:
        api("POST", "/api/3.0/mlflow/users/permissions/grant", grant)
    except ApiError as error:
        if error.code != "RESOURCE_ALREADY_EXISTS":
            raise
        api("POST", "/api/3.0/mlflow/users/permissions/revoke", {k: grant[k] for k in ("username", "resource_type", "resource_id")})
        api("POST", "/api/3.0/mlflow/users/permissions/grant", grant)


def provision(account):
    username = account["username"]
    password = os.environ.get(account["passwordVariable"], "")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError("Secret %s, key password: MLflow needs a password of at least %d characters" % (account["secret"], MIN_PASSWORD_LENGTH))
    if user_exists(username):
        api("PATCH", "/api/2.0/mlflow/users/update-password", {"username": username, "password": password})
        done = ["password set from Secret " + account["secret"]]
    else:
        api("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
        done = ["created, password from Secret " + account["secret"]]
    if account.get("admin"):
        api("PATCH", "/api/2.0/mlflow/users/update-admin", {"username": username, "is_admin": True})
        done.append("admin")
    if account.get("defaultExperiment") and DEFAULT_EXPERIMENT_PERMISSION:
        grant_default_experiment(username)
        done.append(DEFAULT_EXPERIMENT_PERMISSION + " on the Default experiment")
    log("%s: %s" % (username, ", ".join(done)))


def main():
    if not wait_for_server():
        return 1
    failed = []
    for account in ACCOUNTS:
        try:
            provision(account)
        except Exception as error:
            log("%s: FAILED: %s" % (account["username"], str(error).strip() or type(error).__name__))
            failed.append(account["username"])
    if failed:
        log("%d of %d accounts failed: %s" % (len(failed), len(ACCOUNTS), ", ".join(failed)))
        return 1
    log("%d accounts provisioned" % len(ACCOUNTS))
    return 0


sys.exit(main())

/**
 * Values that several charts, and the config, must agree on: ports, Secret keys and the annotations
 * that protect stateful objects. One home each, so two charts can never drift apart.
 */

/** Ports. */
export const PORTS = {
  /** PostgreSQL, in-cluster and behind the Auth Proxy's local listener. */
  postgres: 5432,
  /** Cloud SQL's server-side proxy port, which the Auth Proxy dials on the instance's private IP. */
  cloudSqlServer: 3307,
  /** The PostgreSQL exporter's metrics. */
  postgresExporter: 9187,
} as const;

/** Keys of the in-cluster PostgreSQL credentials Secret (`database.statefulset.credentialsSecret`). */
export const DB_SECRET_KEYS = { superuser: 'postgres-password', mlflow: 'mlflow-password', monitoring: 'monitoring-password' } as const;

/** Roles of the in-cluster PostgreSQL that the chart fixes (charts/postgres/pg_hba.conf names them): no other role may take these names. */
export const DB_FIXED_ROLES = { superuser: 'postgres', monitoring: 'monitoring' } as const;

/** Flux never prunes an object that carries this annotation with the value "disabled". */
export const FLUX_PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune';

/** The annotation that keeps Flux from pruning a stateful object. */
export const PRUNE_DISABLED: Readonly<Record<string, string>> = { [FLUX_PRUNE_ANNOTATION]: 'disabled' };

/**
 * Keys of the Git credential Secrets a workspace mounts (`workspaces.*.git.credentials[].secret`):
 * `ssh-privatekey` is the key of Kubernetes' `kubernetes.io/ssh-auth` Secret type
 * (k8s.io/api core/v1/types.go, SecretTypeSSHAuth and SSHAuthPrivateKey).
 */
export const GIT_SECRET_KEYS = { token: 'token', ssh: 'ssh-privatekey' } as const;

/**
 * Keys of the Secrets MLflow's authentication reads (model/names.ts, `mlflowAuth`): every account's
 * Secret holds its password under `password`; the Flask secret key has a Secret of its own.
 */
export const MLFLOW_AUTH_SECRET_KEYS = { password: 'password', flaskSecretKey: 'secret-key' } as const;

/**
 * The MLflow client's credential variables (mlflow/environment_variables.py MLFLOW_TRACKING_USERNAME,
 * MLFLOW_TRACKING_PASSWORD; mlflow/utils/credentials.py get_default_host_creds reads them on every request).
 */
export const MLFLOW_CREDENTIAL_ENV = { username: 'MLFLOW_TRACKING_USERNAME', password: 'MLFLOW_TRACKING_PASSWORD' } as const;

/** Prefix of the annotations the policy gate (policy/) reads on rendered objects. */
export const POLICY_ANNOTATION_PREFIX = 'policy.mlflow-gke.io/';
/**
 * Names, comma-separated, the Secrets an object reads that are created out of band: the policy gate
 * accepts references to them, and synth's next steps list them.
 */
export const EXTERNAL_SECRETS_ANNOTATION = `${POLICY_ANNOTATION_PREFIX}external-secrets`;

/**
 * MLflow's unauthenticated health endpoint (mlflow/server/__init__.py at v3.17.0, `@app.route(_add_static_prefix("/health"))`): the server's
 * probes, the load balancer's health check and the uptime check all ask it.
 */
export const MLFLOW_HEALTH_PATH = '/health';

/**
 * The workspace nodes (users' code): the gcp chart labels and taints their pools with this key and
 * value, and only the workspace pods tolerate the taint and select the label. No platform pod may
 * tolerate it (docs/security.md, "Workspace isolation").
 */
export const WORKSPACE_NODES = { key: 'mlflow-gke/workload', value: 'workspaces', effect: 'NoSchedule' } as const;

/**
 * The RuntimeClass GKE creates for GKE Sandbox node pools, whose handler is gVisor's runsc
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/sandbox-pods: "runtimeClassName: gvisor").
 * GKE owns the object; the render only names it.
 */
export const GKE_SANDBOX_RUNTIME_CLASS = 'gvisor';

/**
 * Google's IAP public keys as {key id: PEM} (https://cloud.google.com/iap/docs/signed-headers-howto,
 * "Verifying the JWT header": the same keys as the JWK set at public_key-jwk), the document google-auth
 * verifies with without pyjwt (charts/mlflow/iap_verify.py). MLflow's verifier and every workspace's
 * verifying proxy fetch it, so the workspaces' egress must reach its host.
 */
export const IAP_KEYS_URL = 'https://www.gstatic.com/iap/verify/public_key';

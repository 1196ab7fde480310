/**
 * MLflow's authentication, the server's side: the basic-auth app (`mlflow server --app-name
 * basic-auth`, the `basic-auth = mlflow.server.auth:create_app` entry point of the `mlflow.app` group;
 * the `-full` images carry its Flask-WTF extra), configured by a file in a ConfigMap, with the IAP
 * verifier (charts/mlflow/iap_auth.py) as its authorization function; and the Role that lets the
 * managed Prometheus collectors read the metrics account's password.
 *
 * What the server reads (mlflow/server/auth/config.py read_auth_config, at the commit the MLflow
 * research read, d5a8ec8dbaff, near v3.17.0): the file at MLFLOW_AUTH_CONFIG_PATH, section [mlflow],
 * keys default_permission and database_uri (required: config["mlflow"][...]), authorization_function
 * ("module:function"), grant_default_workspace_access; the admin's name and password from
 * MLFLOW_AUTH_ADMIN_USERNAME and MLFLOW_AUTH_ADMIN_PASSWORD, which win over the file when set
 * (mlflow/server/auth/__init__.py bootstrap_admin_user: the admin is created once, if absent, and a
 * password shorter than 12 characters is refused). The Flask secret key is MLFLOW_FLASK_SERVER_SECRET_KEY
 * (get_flask_server_secret_key raises without it; the same on every replica for CSRF).
 * MLFLOW_BASIC_AUTH_FAIL_CLOSED=true denies every route that no validator authorizes, Flask-served
 * (_before_request) and FastAPI-native (add_fastapi_permission_middleware) alike; it is the default
 * from 3.16.0 (mlflow/mlflow#25308) and rendered anyway. MLFLOW_SERVER_ENABLE_GRAPHQL_AUTH=true keeps
 * GraphQL's per-object checks on (get_graphql_authorization_middleware returns none without it), so
 * /graphql cannot read past default_permission.
 */
import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import type { MlflowAuthNames } from '../../model/names';
import { IAP_KEYS_URL, MLFLOW_AUTH_SECRET_KEYS, MLFLOW_CREDENTIAL_ENV } from '../../common/contract';
import { scriptFile } from '../lib/script-files';

/** Where the server (and the migration Job) mount the ConfigMap; the verifier is found there through PYTHONPATH. */
export const AUTH_DIR = '/etc/mlflow/auth';
const AUTH_CONFIG_FILE = 'basic_auth.ini';
export const VERIFIER_FILE = 'iap_auth.py';
/** The token check iap_auth.py imports, shared with the workspaces' proxy (charts/workspaces/iap-proxy.ts). */
export const TOKEN_CHECK_FILE = 'iap_verify.py';
/** authorization_function: module iap_auth (the file above), function authenticate. */
const AUTHORIZATION_FUNCTION = 'iap_auth:authenticate';

export interface MlflowAuthProps {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly names: MlflowAuthNames;
  /** The database of the auth tables: the tracking store's own (their Alembic table is alembic_version_auth). */
  readonly databaseUri: string;
  /** default_permission: what a user may do with what others created (NO_PERMISSIONS: private). */
  readonly defaultPermission: string;
  /** Granted on the Default experiment to a user created at first sign-in: READ, or NO_PERMISSIONS for no grant. */
  readonly defaultExperimentPermission: string;
  /**
   * auth_cache_ttl_seconds: how long each server process keeps a Basic credential it has checked
   * (mlflow/server/auth/config.py, default 0: off; __init__.py _authenticate_cached keys the cache by
   * the user name and an HMAC of the password with a per-process key, and _invalidate_user_auth_cache
   * drops a user's entries, in the process that handles the change only, on a password change,
   * an admin change or a deletion). 0 turns it off.
   */
  readonly credentialCacheSeconds: number;
  readonly iap: {
    /** Whether requests come through IAP at all (the edge is rendered). */
    readonly enabled: boolean;
    readonly projectNumber: string;
    /** The MLflow backend service's id, once pinned. @default - the project-number prefix only */
    readonly backendServiceId?: string;
    /** Peer ranges a token is trusted from on Flask routes: Google's load balancer. */
    readonly trustedPeers: readonly string[];
  };
  /** The managed Prometheus collectors' ServiceAccount, which reads the metrics account's Secret. */
  readonly collector: { readonly namespace: string; readonly serviceAccount: string };
}

/**
 * basic_auth.ini. configparser interpolates "%" in values (BasicInterpolation, the ConfigParser
 * default), and the database URI holds percent-encoded characters (the IAM user's "@", the CA path's
 * "/"), so every "%" is doubled to reach MLflow as one.
 */
function authConfigFile(props: Pick<MlflowAuthProps, 'databaseUri' | 'defaultPermission' | 'credentialCacheSeconds'>): string {
  return [
    '[mlflow]',
    `default_permission = ${props.defaultPermission}`,
    // Without it every Basic request pays werkzeug's scrypt check (scrypt:32768:8:1, about 100 ms of
    // CPU): the workspaces, gc, the scraper. Measured by `npm run bench:server`.
    `auth_cache_ttl_seconds = ${props.credentialCacheSeconds}`,
    `database_uri = ${props.databaseUri.replace(/%/g, '%%')}`,
    `authorization_function = ${AUTHORIZATION_FUNCTION}`,
    'grant_default_workspace_access = false',
    '',
  ].join('\n');
}

/** The platform accounts the verifier keeps to their own routes (username -> paths; a trailing "/" is a prefix). */
function serviceRoutes(names: MlflowAuthNames): Record<string, string[]> {
  return { [names.metrics.username]: ['/metrics'] };
}

function authConfigMapData(props: MlflowAuthProps): Record<string, string> {
  return {
    [AUTH_CONFIG_FILE]: authConfigFile(props),
    [VERIFIER_FILE]: scriptFile(`charts/mlflow/${VERIFIER_FILE}`),
    [TOKEN_CHECK_FILE]: scriptFile(`charts/mlflow/${TOKEN_CHECK_FILE}`),
  };
}

/** Hash of the ConfigMap's content: a pod template annotation, so a changed file rolls the servers. */
export function authConfigHash(props: MlflowAuthProps): string {
  return createHash('sha256')
    .update(JSON.stringify(authConfigMapData(props)))
    .digest('hex')
    .slice(0, 16);
}

export const authVolume = (names: MlflowAuthNames): kube.Volume => ({ name: 'auth', configMap: { name: names.configMap } });
export const authMount: kube.VolumeMount = { name: 'auth', mountPath: AUTH_DIR, readOnly: true };
/** What every pod that imports mlflow.server.auth needs (it reads the file at import). */
export const authConfigEnv: kube.EnvVar = { name: 'MLFLOW_AUTH_CONFIG_PATH', value: `${AUTH_DIR}/${AUTH_CONFIG_FILE}` };

const secretEnv = (name: string, secret: string, key: string): kube.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

/** The server container's environment for authentication: MLflow's settings and the verifier's. */
export function serverAuthEnv(props: MlflowAuthProps): kube.EnvVar[] {
  const n = props.names;
  return [
    authConfigEnv,
    { name: 'PYTHONPATH', value: AUTH_DIR },
    secretEnv('MLFLOW_FLASK_SERVER_SECRET_KEY', n.flaskSecret, MLFLOW_AUTH_SECRET_KEYS.flaskSecretKey),
    { name: 'MLFLOW_AUTH_ADMIN_USERNAME', value: n.admin.username },
    secretEnv('MLFLOW_AUTH_ADMIN_PASSWORD', n.admin.secret, MLFLOW_AUTH_SECRET_KEYS.password),
    { name: 'MLFLOW_BASIC_AUTH_FAIL_CLOSED', value: 'true' },
    { name: 'MLFLOW_SERVER_ENABLE_GRAPHQL_AUTH', value: 'true' },
    // The verifier's settings (charts/mlflow/iap_auth.py, Settings).
    { name: 'IAP_ENABLED', value: props.iap.enabled ? 'true' : 'false' },
    { name: 'IAP_PROJECT_NUMBER', value: props.iap.projectNumber },
    ...(props.iap.backendServiceId ? [{ name: 'IAP_BACKEND_SERVICE_ID', value: props.iap.backendServiceId }] : []),
    { name: 'IAP_TRUSTED_PEERS', value: props.iap.trustedPeers.join(',') },
    { name: 'IAP_KEYS_URL', value: IAP_KEYS_URL },
    { name: 'MLFLOW_SERVICE_ROUTES', value: JSON.stringify(serviceRoutes(n)) },
    { name: 'DEFAULT_EXPERIMENT_PERMISSION', value: props.defaultExperimentPermission },
    // The personal experiments' space: made at first sign-in, reserved to their users (iap_auth.py).
    { name: 'PERSONAL_EXPERIMENT_PREFIX', value: n.personalExperimentPrefix },
  ];
}

/** The Secrets the server reads, for the policy gate's external-secrets annotation. */
export const serverAuthSecrets = (names: MlflowAuthNames): string[] => [names.flaskSecret, names.admin.secret];

/** An MLflow client's credentials from its account (the gc CronJob, the verification Job). */
export function clientCredentialEnv(account: { readonly username: string; readonly secret: string }): kube.EnvVar[] {
  return [
    { name: MLFLOW_CREDENTIAL_ENV.username, value: account.username },
    secretEnv(MLFLOW_CREDENTIAL_ENV.password, account.secret, MLFLOW_AUTH_SECRET_KEYS.password),
  ];
}

export class MlflowAuth extends Construct {
  constructor(scope: Construct, id: string, props: MlflowAuthProps) {
    super(scope, id);
    new kube.KubeConfigMap(this, 'config', {
      metadata: { name: props.names.configMap, labels: props.labels },
      data: authConfigMapData(props),
    });
    // The collectors read the scrape password through the API as their ServiceAccount: a Role on that
    // one Secret (prometheus-engine @2ffde4e examples/instrumentation/go-synthetic/go-synthetic-basic-auth.yaml:
    // Role get/list/watch with resourceNames, RoleBinding to ServiceAccount collector in gmp-system).
    const reader = `${props.names.metrics.secret}-reader`;
    new kube.KubeRole(this, 'metrics-secret-reader', {
      metadata: { name: reader, labels: props.labels },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [props.names.metrics.secret], verbs: ['get', 'list', 'watch'] }],
    });
    new kube.KubeRoleBinding(this, 'metrics-secret-reader-binding', {
      metadata: { name: reader, labels: props.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: reader },
      subjects: [{ kind: 'ServiceAccount', name: props.collector.serviceAccount, namespace: props.collector.namespace }],
    });
  }
}

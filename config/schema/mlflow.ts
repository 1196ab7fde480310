/** The MLflow tracking server and its Cloud SQL Auth Proxy sidecar. */
import { z } from 'zod';
import { extraArgProblem, proxyVersionOf } from '../../common/cloud-sql-proxy-flags';
import { cronSchedule, dnsLabel, duration, image, imageTag, positiveInt, resources, size, sizeBytes } from './primitives';

/** The official image repository; only its `-full` tags carry the PostgreSQL, GCS and metrics extras. */
export const OFFICIAL_MLFLOW_IMAGE = 'ghcr.io/mlflow/mlflow';
/**
 * Oldest MLflow this platform runs. The render gives MLflow's auth its admin through the environment
 * (MLFLOW_AUTH_ADMIN_USERNAME, MLFLOW_AUTH_ADMIN_PASSWORD), never in the auth file, a ConfigMap; MLflow
 * reads them from 3.16.1 on, and before it `read_auth_config` takes both from the file alone and fails
 * with KeyError 'admin_username' at the first import of mlflow.server.auth (mlflow/server/auth/config.py
 * of the 3.10.1, 3.13.0, 3.14.0, 3.15.0 and 3.16.0 wheels against 3.16.1's), which every MLflow pod of
 * the render makes. (Earlier reasons still hold: 3.9.0 published no `v3.9.0-full` tag,
 * mlflow/mlflow#20587, and before mlflow/mlflow#20373, in 3.10, `mlflow server` ignored SIGTERM.)
 */
export const MIN_MLFLOW = [3, 16, 1] as const;
/**
 * The default: the newest release built after mlflow/mlflow#23892 (merged 2026-06-10), which added
 * the `auth` extra (Flask-WTF) to docker/Dockerfile.full, so `--app-name basic-auth` starts.
 */
export const DEFAULT_MLFLOW_IMAGE = `${OFFICIAL_MLFLOW_IMAGE}:v3.17.0-full`;

/**
 * Why `jobExecution: true` is refused. With MLFLOW_SERVER_ENABLE_JOB_EXECUTION on, `mlflow server`
 * starts its job runner with `MLFLOW_TRACKING_URI` (and the gateway URI) forced to
 * `f"http://{host}:{port}"` (mlflow/mlflow mlflow/server/__init__.py, _run_server, the version with
 * the 3.10 SIGTERM forwarding), whatever the environment says. The server serves HTTPS only, so
 * every server job would fail to reach it.
 */
export const JOB_EXECUTION_NEEDS_HTTP =
  'must be false: the server serves HTTPS only, and MLflow\'s job runner reaches it at the plain http://<host>:<port> it derives itself (mlflow/server/__init__.py, _run_server: server_uri = f"http://{host}:{port}"), so every server job would fail';

/**
 * Why a pool overflow of 0 is refused: MLflow passes max_overflow to SQLAlchemy only when it is truthy
 * (mlflow@v3.17.0 mlflow/store/db/utils.py create_sqlalchemy_engine: `if pool_max_overflow:
 * kwargs["max_overflow"] = ...`), so 0 would leave SQLAlchemy's default overflow of 10 in force.
 */
export const MAX_OVERFLOW_ZERO_IGNORED =
  'must be a whole number from 1 to 100: MLflow passes max_overflow only when it is truthy (mlflow/store/db/utils.py create_sqlalchemy_engine: "if pool_max_overflow:"), so 0 would leave SQLAlchemy\'s default overflow of 10 in force';

/** The MLflow version of an official image tag such as "v3.17.0-full"; undefined for other tags. */
export function mlflowVersionOf(tag: string): { version: [number, number, number]; full: boolean } | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(rc\d+)?(-full)?$/.exec(tag);
  return m ? { version: [Number(m[1]), Number(m[2]), Number(m[3])], full: m[5] === '-full' } : undefined;
}

export function imageRepository(ref: string): string {
  return ref.replace(/@sha256:[a-f0-9]{64}$/, '').replace(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/, '');
}

/** Why an MLflow image cannot serve this platform (PostgreSQL metadata, GCS artifacts, metrics, clean stops), or undefined. */
export function mlflowImageProblem(ref: string): string | undefined {
  if (imageRepository(ref) !== OFFICIAL_MLFLOW_IMAGE) return undefined;
  const tag = imageTag(ref);
  const parsed = mlflowVersionOf(tag);
  const allowed = `a "-full" tag of ${OFFICIAL_MLFLOW_IMAGE} from v${MIN_MLFLOW.join('.')} on, such as "${imageTag(DEFAULT_MLFLOW_IMAGE)}"`;
  if (!parsed || !parsed.full)
    return `must be ${allowed}: the plain image lacks the PostgreSQL driver, the GCS client and the Prometheus exporter that the metadata store, the artifact bucket and /metrics need`;
  const [a, b, c] = parsed.version;
  const [x, y, w] = MIN_MLFLOW;
  if (a < x || (a === x && (b < y || (b === y && c < w))))
    return `must be ${allowed}: before 3.16.1 MLflow's auth reads its admin from the auth file only (mlflow/server/auth/config.py read_auth_config), and the render passes it through the environment, so every MLflow pod would fail at start with KeyError 'admin_username'`;
  return undefined;
}

/** A Host header pattern as MLflow matches it: exact, or with "*" wildcards (fnmatch); an optional ":port". */
export const hostPattern = z
  .string()
  .regex(
    /^(\*|\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:([0-9]{1,5}|\*))?$|^\*$/,
    'must be a host name, optionally with a leading "*." wildcard and a ":port", such as "mlflow.example.com", "*.example.com" or "mlflow:5000"',
  );

/** fnmatch as MLflow's Host validation uses it: "*" matches anything, exact match otherwise. */
export function hostAllowed(patterns: readonly string[], host: string): boolean {
  return patterns.some((p) => {
    if (!p.includes('*')) return p === host;
    const re = new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return re.test(host);
  });
}

/**
 * What everyone may get on what others own: nothing, or reading. MLflow accepts every level of
 * mlflow@v3.17.0:mlflow/server/auth/permissions.py ALL_PERMISSIONS (READ, USE, EDIT, MANAGE,
 * NO_PERMISSIONS, DENY; docs/docs/self-hosting/security/basic-http-auth.mdx, "Permissions"). Anything that can update would let
 * every user overwrite every experiment's artifacts, and an artifact path that names no experiment is
 * judged by default_permission alone (mlflow@v3.17.0:mlflow/server/auth/__init__.py,
 * _get_permission_from_experiment_id_artifact_proxy).
 */
export const MLFLOW_BASELINE_PERMISSIONS = ['NO_PERMISSIONS', 'READ'] as const;
/**
 * What a grant on one experiment or registered model may give (mlflow@v3.17.0:
 * mlflow/server/auth/permissions.py RESOURCE_GRANTABLE_PERMISSIONS, less DENY: an absent grant under
 * the private default already denies).
 */
export const MLFLOW_GRANTABLE_PERMISSIONS = ['READ', 'USE', 'EDIT', 'MANAGE'] as const;
/** The Default experiment's name (mlflow@v3.17.0:mlflow/entities/experiment.py Experiment.DEFAULT_EXPERIMENT_NAME). */
export const DEFAULT_EXPERIMENT_NAME = 'Default';

/** A group: an MLflow role of its members (user names of workspaces.users). */
const groupName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, 'must be a group name of lower-case letters, digits and "-", up to 40 characters, such as "ml-team"');

const sharingGrant = z
  .strictObject({
    experiment: z
      .string()
      .min(1, 'must be an experiment name')
      .optional()
      .describe('Name of the experiment shared (created by the provisioning Job if missing).'),
    registeredModel: z
      .string()
      .min(1, 'must be a registered model name')
      .optional()
      .describe('Name of the registered model shared (created by the provisioning Job if missing).'),
    users: z.array(z.string()).default([]).describe('Names (workspaces.users[].name) of the users it is shared with.'),
    groups: z.array(z.string()).default([]).describe('Groups (mlflow.auth.groups) it is shared with.'),
    permission: z.enum(MLFLOW_GRANTABLE_PERMISSIONS).describe('What they may do: READ, USE, EDIT (log runs and artifacts) or MANAGE (also delete and share).'),
  })
  .superRefine((g, ctx) => {
    if ((g.experiment === undefined) === (g.registeredModel === undefined))
      ctx.addIssue({ code: 'custom', path: [], input: g, message: 'must name exactly one of experiment or registeredModel' });
    if (g.users.length + g.groups.length === 0)
      ctx.addIssue({ code: 'custom', path: ['users'], input: g.users, message: 'must name at least one user or group to share with' });
    if (g.experiment === DEFAULT_EXPERIMENT_NAME)
      ctx.addIssue({
        code: 'custom',
        path: ['experiment'],
        input: g.experiment,
        message: `must not be "${DEFAULT_EXPERIMENT_NAME}": the Default experiment's grant is mlflow.auth.defaultExperimentPermission (NO_PERMISSIONS or READ), for everyone alike`,
      });
  });

/** A Compute Engine resource id: a decimal number of up to 20 digits (an unsigned 64-bit integer). */
const backendServiceId = z
  .union([z.string(), z.number()], { error: 'must be the numeric id of the MLflow backend service, such as "1234567890123456789"' })
  .transform((v) => String(v))
  .pipe(z.string().regex(/^[0-9]{1,20}$/, 'must be the numeric id of the MLflow backend service, such as "1234567890123456789"'));

export const mlflowAuthSchema = z
  .strictObject({
    defaultPermission: z
      .enum(MLFLOW_BASELINE_PERMISSIONS)
      .default('NO_PERMISSIONS')
      .describe(
        'What every user may do with what others created (basic_auth.ini default_permission): NO_PERMISSIONS keeps experiments and models private to their owners and those they are shared with (mlflow.auth.sharing); READ lets everyone read everything. A creator always gets MANAGE on what they create.',
      ),
    defaultExperimentPermission: z
      .enum(MLFLOW_BASELINE_PERMISSIONS)
      .default('READ')
      .describe(
        'Permission every non-admin user has on the Default experiment (id 0): READ or NO_PERMISSIONS. The provisioning Job sets it for every user, lowering any higher grant given before; the IAP verifier grants it at first sign-in. People log to their personal experiment users/<email> instead (MLFLOW_EXPERIMENT_NAME in the workspaces).',
      ),
    groups: z
      .record(groupName, z.array(z.string()))
      .default({})
      .describe(
        'Groups of users (workspaces.users[].name) to share with: each is an MLflow role "group-<name>" the provisioning Job keeps to exactly these members.',
      ),
    sharing: z
      .array(sharingGrant)
      .default([])
      .describe(
        'Explicit sharing: each entry gives users and groups a permission on one experiment or registered model, by name. The provisioning Job applies it, creating a missing experiment or model; a grant removed from this list is not revoked (docs/mlflow.md, "Permissions").',
      ),
    credentialCacheSeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(30)
      .describe(
        'How long a server process trusts a Basic credential it has checked (basic_auth.ini auth_cache_ttl_seconds; MLflow\'s own default 0 checks the scrypt hash, about 100 ms of CPU, on every request). A password changed or a user deleted through MLflow\'s API stops working at once in the process that handled the change and within this many seconds in every other worker and replica. 0 turns the cache off (docs/mlflow.md, "Credential cache").',
      ),
    iapBackendServiceId: backendServiceId
      .optional()
      .describe(
        "Numeric id of the MLflow load balancer's backend service, known once the Ingress exists (docs/first-deployment.md, step 11). Set, the IAP verifier accepts only tokens for that backend (audience /projects/<number>/global/backendServices/<id>); unset, any backend of the project, and only from the load balancer's addresses.",
      ),
  })
  .prefault({})
  .describe('Authentication: MLflow users, their permissions and the IAP identity (docs/mlflow.md, "Authentication").');

export const mlflowSchema = z
  .strictObject({
    image: image
      .default(DEFAULT_MLFLOW_IMAGE)
      .describe(
        'MLflow image: a -full tag of ghcr.io/mlflow/mlflow from v3.16.1 on (the PostgreSQL, GCS and metrics extras; the auth admin read from the environment).',
      ),
    replicas: positiveInt()
      .default(2)
      .describe('Minimum number of server replicas (the autoscaler never goes below it). 2 or more adds a PodDisruptionBudget.'),
    maxReplicas: positiveInt().default(4).describe('Maximum replicas the CPU autoscaler may reach.'),
    targetCpuUtilization: z
      .number()
      .int('must be a whole percentage from 10 to 95')
      .min(10, 'must be a whole percentage from 10 to 95')
      .max(95, 'must be a whole percentage from 10 to 95')
      .default(70)
      .describe('Average CPU use of the MLflow container, in percent of its request, that the autoscaler aims for.'),
    workers: positiveInt()
      .optional()
      .describe(
        'Server worker processes per replica. Unset: 1 per CPU of mlflow.resources.requests.cpu (rounded, at least 1), the ratio that served the most per core (docs/mlflow.md, "Performance"). With 1 worker a renewed certificate restarts the container instead of the workers one by one ("TLS").',
      ),
    databasePool: z
      .strictObject({
        size: z
          .number()
          .int('must be a whole number of connections from 1 to 100')
          .min(1, 'must be a whole number of connections from 1 to 100')
          .max(100, 'must be a whole number of connections from 1 to 100')
          .default(4)
          .describe(
            'Connections each database engine of a server worker keeps open (MLFLOW_SQLALCHEMYSTORE_POOL_SIZE). Every worker opens 3 engines (tracking, model registry, authentication), each with its own pool. size + maxOverflow bounds the log-batch calls one worker serves at once: each holds two tracking connections at a time, so more than that many wait on each other until the pool times out (docs/mlflow.md, "Database connections").',
          ),
        maxOverflow: z
          .number()
          .int(MAX_OVERFLOW_ZERO_IGNORED)
          .min(1, MAX_OVERFLOW_ZERO_IGNORED)
          .max(100, MAX_OVERFLOW_ZERO_IGNORED)
          .default(6)
          .describe(
            'Connections an engine may open beyond size under load, closed again when returned (MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW). At least 1: MLflow ignores 0. A request that finds its engine at size + maxOverflow waits for a connection (SQLAlchemy pool_timeout, 30 s) rather than failing.',
          ),
      })
      .prefault({})
      .describe(
        "The server's database connection pools. The worst case, (maxReplicas + rollout) × workers × 3 engines × (size + maxOverflow) plus the Jobs and PostgreSQL's reserved slots, must fit the database's max_connections; synth refuses a config where it does not (docs/mlflow.md, \"Database connections\").",
      ),
    updateStrategy: z
      .enum(['RollingUpdate', 'Recreate'])
      .default('RollingUpdate')
      .describe(
        'How a changed Deployment replaces its pods. RollingUpdate keeps serving; Recreate stops every old server first, which MLflow releases that forbid mixed-version writers require during their schema upgrade.',
      ),
    resources: resources({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } }).describe(
      "MLflow container resources. The CPU request sets the worker count (mlflow.workers: one per core) and the autoscaler's unit.",
    ),
    scratchSize: size
      .default('10Gi')
      .describe(
        "Size of the server's /tmp, where MLflow stages every artifact upload and download on its way to or from the bucket: the largest artifact a client can log or download, less what other transfers in flight on the same pod hold. Each server pod requests this much ephemeral storage (plus the metrics directory and log room) on its node's boot disk.",
      ),
    kekSecret: dnsLabel(253)
      .default('mlflow-kek')
      .describe(
        'Secret created out of band before the first start, with key passphrase (and, after a rotation, key version): MLFLOW_CRYPTO_KEK_PASSPHRASE, which encrypts the AI Gateway secrets in the database (unset, MLflow uses a published default). Changing it later needs mlflow crypto rotate-kek.',
      ),
    jobExecution: z
      .boolean()
      .default(false)
      .refine((on) => !on, { message: JOB_EXECUTION_NEEDS_HTTP })
      .describe(
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION: MLflow's server-side job runner (GenAI evaluation and other server jobs). Must stay false: the runner reaches the server over plain HTTP, and the server serves HTTPS only.",
      ),
    allowedHosts: z
      .array(hostPattern)
      .min(1, 'must list at least one host pattern')
      .optional()
      .describe(
        'Host headers the server accepts (--allowed-hosts), replacing the derived list (the public host name, the Service names with and without port, the pod IP). Must still cover the public host and the in-cluster Service URL.',
      ),
    extraAllowedHosts: z.array(hostPattern).default([]).describe('Extra Host headers the server accepts besides the derived list.'),
    auth: mlflowAuthSchema,
    gcSchedule: cronSchedule.default('30 3 * * 0').describe('Cron schedule (UTC) of `mlflow gc`.'),
    gcOlderThan: duration.default('30d').describe('Deleted runs older than this are removed for good by `mlflow gc`.'),
    cloudSqlProxy: z
      .strictObject({
        image: image.default('gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.1.0').describe('Cloud SQL Auth Proxy image; flags follow its version tag.'),
        resources: resources({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }).describe('Proxy container resources.'),
        extraArgs: z
          .array(z.string())
          .default([])
          .describe('Additional proxy flags such as "--lazy-refresh" or "--max-connections=50"; each must exist in the configured proxy version.'),
      })
      .prefault({})
      .superRefine((p, ctx) => {
        const version = proxyVersionOf(imageTag(p.image));
        if (!version || version[0] !== 2) {
          ctx.addIssue({
            code: 'custom',
            path: ['image'],
            input: p.image,
            // Every 2.x release from 2.0.0 on runs as the native sidecar; 1.x takes another command line
            // (cmd/cloud_sql_proxy/cloud_sql_proxy.go at v1.33.0: -instances=...).
            message:
              'must be tagged with a 2.x proxy version such as "2.1.0" or "2.14.1-alpine": the flags are chosen by version from the table of 2.x releases, and 1.x proxies take another command line',
          });
          return;
        }
        p.extraArgs.forEach((arg, i) => {
          const problem = extraArgProblem(version, arg);
          if (problem) ctx.addIssue({ code: 'custom', path: ['extraArgs', i], input: arg, message: problem });
        });
      })
      .describe('The Cloud SQL Auth Proxy sidecar (database mode cloudsql).'),
  })
  .prefault({})
  .superRefine((m, ctx) => {
    if (m.maxReplicas < m.replicas)
      ctx.addIssue({ code: 'custom', path: ['maxReplicas'], input: m.maxReplicas, message: `must be at least replicas (${m.replicas})` });
    // The staging directory must hold a typical model artifact; a 1Gi /tmp got pods evicted.
    if (sizeBytes(m.scratchSize) < 2 ** 30)
      ctx.addIssue({
        code: 'custom',
        path: ['scratchSize'],
        input: m.scratchSize,
        message: 'must be at least 1Gi: every artifact upload and download is staged there in full',
      });
    const problem = mlflowImageProblem(m.image);
    if (problem) ctx.addIssue({ code: 'custom', path: ['image'], input: m.image, message: problem });
  })
  .describe('MLflow tracking server.');

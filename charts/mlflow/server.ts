/**
 * The MLflow tracking server: its Workload Identity ServiceAccount, the Deployment (HTTPS on one port,
 * basic-auth with the IAP verifier, the Cloud SQL Auth Proxy as a native sidecar in cloudsql mode),
 * the Service, the CPU autoscaler and the disruption budget.
 */
import { Construct } from 'constructs';
import { sizeBytes } from '../../config/schema/primitives';
import { EXTERNAL_SECRETS_ANNOTATION, MLFLOW_HEALTH_PATH } from '../../common/contract';
import * as kube from '../../imports/k8s-1.31';
import { serverCertificateVolume } from '../certificates/server-certificate';
import { httpsProbe } from '../lib/pod';
import { authConfigHash, authMount, authVolume, MlflowAuthProps, serverAuthEnv, serverAuthSecrets } from './auth';
import { ownershipEnv, type MlflowDatabase } from './database';
import { mlflowProgram } from './programs';
import { databasePoolEnv, type DatabasePool, type MlflowWorkload } from './workload';

/** Where `--expose-prometheus` keeps the multiprocess metric files. */
export const METRICS_DIR = '/var/run/mlflow/metrics';
/** preStop pause, so endpoints and the load balancer stop sending before the server stops. */
export const PRE_STOP_SECONDS = 10;
export const TERMINATION_GRACE_SECONDS = 60;
/**
 * uvicorn's idle keep-alive (`--timeout-keep-alive`; its default is 5 s). Google's external
 * Application Load Balancer keeps backend connections idle for 600 s, a fixed value, and asks backends
 * to keep theirs longer, or a request sent as the backend closes the connection fails with a 502
 * (https://cloud.google.com/load-balancing/docs/https/request-distribution: "client HTTP keepalive
 * timeout 610 seconds, backend keepalive timeout 600 seconds"; docs/https#timeouts_and_retries).
 */
export const KEEP_ALIVE_SECONDS = 620;
/**
 * uvicorn's `--timeout-graceful-shutdown`: how long a stopping worker waits for requests in flight.
 * Unset, a worker waits for them without end: at SIGTERM, and in the certificate watcher's SIGHUP
 * restart, where uvicorn's supervisor joins each old worker without a timeout and queues every signal
 * meanwhile (uvicorn/supervisors/multiprocess.py, restart_all), so one long transfer could stall the
 * reload and the pod's stop. Fits the grace period after the preStop pause.
 */
export const GRACEFUL_SHUTDOWN_SECONDS = TERMINATION_GRACE_SECONDS - PRE_STOP_SECONDS - 10;
/** How long a new worker may take to start in a reload (UVICORN_TIMEOUT_WORKER_HEALTHCHECK). */
export const WORKER_READY_SECONDS = 60;
/** Name of the server's port (container and Service): ingress-gce keys its app-protocols annotation by it. */
export const SERVER_PORT_NAME = 'https';
/** Where the server's certificate Secret is mounted; no spaces: MLflow shlex-splits --uvicorn-opts. */
const SERVER_TLS_DIR = '/etc/mlflow/tls';

/** Size of the metrics emptyDir (multiprocess Prometheus files). */
const METRICS_SIZE = '256Mi';
/** Room for the container's logs beside its emptyDirs (the root filesystem is read-only). */
const LOG_HEADROOM_MI = 512;

/**
 * Ephemeral storage of the server container: its /tmp, the metrics directory and log headroom. Both
 * emptyDirs count against the pod's ephemeral storage, so the request (what the scheduler reserves on
 * the node) and the limit both cover them.
 */
function serverEphemeralStorage(scratchSize: string): string {
  const mi = (size: string) => Math.ceil(sizeBytes(size) / 2 ** 20);
  return `${mi(scratchSize) + mi(METRICS_SIZE) + LOG_HEADROOM_MI}Mi`;
}

export interface MlflowServerProps {
  /** Name of the Deployment, the Service and the autoscaler, and the prefix of every other MLflow object. */
  readonly name: string;
  readonly port: number;
  readonly workload: MlflowWorkload;
  readonly serviceAccount: { readonly name: string; readonly gcpServiceAccount: string };
  /** The server's certificate Secret (cert-manager, charts/certificates.ts). */
  readonly tlsSecret: string;
  readonly database: MlflowDatabase;
  /** gs:// URI where the proxied artifacts go. */
  readonly artifactsDestination: string;
  readonly workers: number;
  /** The pools of every engine of every worker (model/connection-budget.ts counts them against the database's limit). */
  readonly databasePool: DatabasePool;
  readonly replicas: number;
  readonly maxReplicas: number;
  readonly targetCpuUtilization: number;
  readonly updateStrategy: 'RollingUpdate' | 'Recreate';
  /**
   * Size of the server's /tmp. The server stages every proxied artifact upload and download there
   * (mlflow/server/handlers.py: `_upload_artifact` writes the request body to a
   * `tempfile.TemporaryDirectory()`, `_download_artifact` downloads into one before streaming), so it
   * bounds the largest artifact; the pod requests this much ephemeral storage.
   */
  readonly scratchSize: string;
  /**
   * Secret (created out of band) whose key `passphrase` becomes MLFLOW_CRYPTO_KEK_PASSPHRASE, and
   * whose optional key `version` becomes MLFLOW_CRYPTO_KEK_VERSION. mlflow/utils/crypto.py derives the
   * key that wraps every AI Gateway secret from it, and falls back to a published default passphrase
   * ("mlflow-default-kek-passphrase-for-development-only") when it is unset.
   */
  readonly kekSecret: string;
  /** MLFLOW_SERVER_ENABLE_JOB_EXECUTION: the server-side job runner, extra worker processes on every replica. */
  readonly jobExecution: boolean;
  /** Host header patterns; `$(POD_IP):<port>` is added for the metrics scraper. */
  readonly allowedHosts: readonly string[];
  /**
   * Origins whose browsers may send state-changing requests (`--cors-allowed-origins`): the public
   * edge's. MLflow answers 403 to a POST, PUT, PATCH or DELETE on /api/ or /ajax-api/ from any other
   * origin (mlflow/server/security_utils.py should_block_cors_request), and browsers send Origin on
   * same-origin POSTs, so without the edge's origin the UI behind IAP could not write at all. Empty:
   * MLflow's default (localhost origins only).
   */
  readonly corsAllowedOrigins: readonly string[];
  /** The authentication the server runs with (./auth.ts). */
  readonly auth: MlflowAuthProps;
  /**
   * Extra annotations of the Service (the edge's BackendConfig).
   * @default - none
   */
  readonly serviceAnnotations?: Record<string, string>;
}

export class MlflowServer extends Construct {
  constructor(scope: Construct, id: string, props: MlflowServerProps) {
    super(scope, id);
    const w = props.workload;
    const db = props.database;
    const labels = w.labels('server');
    const serverSelector = w.selector('server');
    const { env, tmpMount, caMount, caVolume } = w;
    const serverTmpVolume: kube.Volume = { name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString(props.scratchSize) } };
    // The server's key pair, readable by the MLflow group only (the kubelet makes the files root:fsGroup).
    const tlsVolume = serverCertificateVolume('tls', props.tlsSecret);

    // Workload Identity: the pods act as the MLflow Google service account (GCS, Cloud SQL login).
    new kube.KubeServiceAccount(this, 'service-account', {
      metadata: {
        name: props.serviceAccount.name,
        labels: labels,
        annotations: { 'iam.gke.io/gcp-service-account': props.serviceAccount.gcpServiceAccount },
      },
      automountServiceAccountToken: false,
    });

    const health = (periodSeconds: number, failureThreshold: number) => httpsProbe(MLFLOW_HEALTH_PATH, SERVER_PORT_NAME, periodSeconds, failureThreshold);
    // Runs after the proxy has started and before the server: the server starts only on the schema
    // revision its image expects, which the migration Job brings about.
    // cloudsql: it also hands tables the server's IAM user still owns to the owner role, once the
    // migration lets it (charts/mlflow/wait_for_schema.py).
    const waitForSchema = w.container({
      name: 'wait-for-schema',
      command: ['python', '-c', mlflowProgram('wait_for_schema')],
      env: [...env, ...ownershipEnv(db)],
      volumeMounts: [tmpMount, caMount],
    });
    const server = w.container({
      name: 'mlflow',
      // charts/mlflow/serve.py starts the certificate watcher, then becomes `mlflow server` (exec).
      command: ['python', '-c', mlflowProgram('serve'), 'mlflow', 'server'],
      args: serverArgs(props),
      env: serverEnv(props),
      ports: [{ name: SERVER_PORT_NAME, containerPort: props.port, protocol: 'TCP' }],
      // The server's own start (its workers import MLflow); the wait for the migration is the init container's.
      startupProbe: health(10, 30),
      readinessProbe: health(10, 3),
      livenessProbe: health(20, 3),
      lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } },
      ephemeralStorage: serverEphemeralStorage(props.scratchSize),
      // No subPath: the kubelet then swaps renewed files in place (a subPath mount never sees an update).
      volumeMounts: [tmpMount, { name: 'metrics', mountPath: METRICS_DIR }, { name: 'tls', mountPath: SERVER_TLS_DIR, readOnly: true }, caMount, authMount],
    });
    new kube.KubeDeployment(this, 'deployment', {
      metadata: {
        name: props.name,
        labels: labels,
        // Secrets created out of band, for the policy gate's reference check.
        annotations: {
          [EXTERNAL_SECRETS_ANNOTATION]: [
            props.kekSecret,
            ...(db.mode === 'statefulset' ? [db.passwordSecret.name] : []),
            ...serverAuthSecrets(props.auth.names),
          ].join(', '),
        },
      },
      spec: {
        // No replicas: the autoscaler owns the count (minimum props.replicas); re-applying never resets it.
        selector: { matchLabels: serverSelector },
        revisionHistoryLimit: 5,
        strategy:
          props.updateStrategy === 'Recreate'
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxSurge: kube.IntOrString.fromNumber(1), maxUnavailable: kube.IntOrString.fromNumber(0) } },
        template: {
          // The auth ConfigMap's content: a changed file (verifier, settings) rolls the servers.
          metadata: { labels: labels, annotations: { 'mlflow-gke/auth-config': authConfigHash(props.auth) } },
          spec: w.podSpec({
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            initContainers: [waitForSchema],
            containers: [server],
            volumes: [
              serverTmpVolume,
              { name: 'metrics', emptyDir: { sizeLimit: kube.Quantity.fromString(METRICS_SIZE) } },
              tlsVolume,
              caVolume,
              authVolume(props.auth.names),
            ],
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: serverSelector } },
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: serverSelector } },
            ],
          }),
        },
      },
    });

    new kube.KubeService(this, 'service', {
      metadata: {
        name: props.name,
        labels: labels,
        // Container-native load balancing: the load balancer reaches pod IPs directly.
        annotations: { 'cloud.google.com/neg': '{"ingress": true}', ...props.serviceAnnotations },
      },
      spec: {
        type: 'ClusterIP',
        selector: serverSelector,
        ports: [{ name: SERVER_PORT_NAME, port: props.port, targetPort: kube.IntOrString.fromString(SERVER_PORT_NAME), protocol: 'TCP' }],
      },
    });

    new kube.KubeHorizontalPodAutoscalerV2(this, 'autoscaler', {
      metadata: { name: props.name, labels: labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.name },
        minReplicas: props.replicas,
        maxReplicas: props.maxReplicas,
        metrics: [
          {
            // The MLflow container only: the proxy's small request would skew a pod-wide average.
            type: 'ContainerResource',
            containerResource: { name: 'cpu', container: 'mlflow', target: { type: 'Utilization', averageUtilization: props.targetCpuUtilization } },
          },
        ],
      },
    });

    // The autoscaler may run two or more servers whenever maxReplicas allows it, whatever the minimum;
    // maxUnavailable 1 keeps one serving during a drain and never blocks a drain at one replica.
    if (props.maxReplicas >= 2)
      new kube.KubePodDisruptionBudget(this, 'disruption-budget', {
        metadata: { name: props.name, labels: labels },
        spec: {
          maxUnavailable: kube.IntOrString.fromNumber(1),
          selector: { matchLabels: serverSelector },
          // A pod that is not Ready serves nothing: evicting it must not wait for the budget.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });
  }
}

/** `mlflow server`'s arguments: HTTPS on one port, proxied artifacts, metrics and basic-auth. */
function serverArgs(props: MlflowServerProps): string[] {
  return [
    '--host',
    '0.0.0.0',
    '--port',
    String(props.port),
    '--workers',
    String(props.workers),
    '--serve-artifacts',
    '--artifacts-destination',
    props.artifactsDestination,
    '--expose-prometheus',
    METRICS_DIR,
    // The metrics scraper addresses the pod by IP.
    '--allowed-hosts',
    [...props.allowedHosts, `$(POD_IP):${props.port}`].join(','),
    // HTTPS on the one port: uvicorn's own TLS options (uvicorn 0.35.0 uvicorn/main.py --ssl-certfile,
    // --ssl-keyfile), which MLflow passes through (mlflow/cli.py --uvicorn-opts; mlflow/server/__init__.py
    // _build_uvicorn_command shlex-splits them before its own --host, --port and --workers).
    ...(props.corsAllowedOrigins.length > 0 ? ['--cors-allowed-origins', props.corsAllowedOrigins.join(',')] : []),
    '--uvicorn-opts',
    [
      `--ssl-certfile ${SERVER_TLS_DIR}/tls.crt --ssl-keyfile ${SERVER_TLS_DIR}/tls.key`,
      `--timeout-keep-alive ${KEEP_ALIVE_SECONDS}`,
      `--timeout-graceful-shutdown ${GRACEFUL_SHUTDOWN_SECONDS}`,
    ].join(' '),
    // Users, permissions and the IAP identity (charts/mlflow/auth.ts): the `basic-auth` app of the
    // `mlflow.app` entry points, mlflow.server.auth:create_app.
    '--app-name',
    'basic-auth',
  ];
}

/** The server container's environment: the pod's address, the database, the KEK, TLS, reloads and authentication. */
function serverEnv(props: MlflowServerProps): kube.EnvVar[] {
  return [
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ...props.workload.env,
    ...databasePoolEnv(props.databasePool),
    // Required, not optional: a missing Secret holds the pod in CreateContainerConfigError rather
    // than letting it encrypt gateway secrets under the published default passphrase.
    { name: 'MLFLOW_CRYPTO_KEK_PASSPHRASE', valueFrom: { secretKeyRef: { name: props.kekSecret, key: 'passphrase' } } },
    // After `mlflow crypto rotate-kek` the Secret carries the new version; until then MLflow uses 1.
    { name: 'MLFLOW_CRYPTO_KEK_VERSION', valueFrom: { secretKeyRef: { name: props.kekSecret, key: 'version', optional: true } } },
    // Explicit: the upstream default turned on with mlflow/mlflow#19850 (3.9).
    { name: 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION', value: props.jobExecution ? 'true' : 'false' },
    // What serve.py's watcher compares; the kubelet swaps it when cert-manager renews the Secret.
    { name: 'TLS_CERT_FILE', value: `${SERVER_TLS_DIR}/tls.crt` },
    // The watcher's SIGHUP reload: from uvicorn 0.40 its supervisor starts each new worker and
    // abandons the whole reload when that worker is not ready within timeout_worker_healthcheck,
    // 5 s by default (uvicorn/supervisors/multiprocess.py restart_all), and an MLflow worker needs
    // about that long to import and connect even on an idle core: the live test's reload failed
    // under load and fell back to a container restart. An environment variable, not an option:
    // uvicorn's CLI reads UVICORN_<OPTION> (click auto_envvar_prefix), and the option exists only
    // from 0.37, so an image with an older uvicorn ignores the variable instead of failing to start.
    { name: 'UVICORN_TIMEOUT_WORKER_HEALTHCHECK', value: String(WORKER_READY_SECONDS) },
    ...serverAuthEnv(props.auth),
  ];
}

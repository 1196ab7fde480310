/**
 * The MLflow tracking server: Deployment (with the Cloud SQL Auth Proxy as a native sidecar in
 * cloudsql mode), Service, Workload Identity ServiceAccount, autoscaler, disruption budget, schema
 * migration Job, garbage-collection CronJob, PodMonitoring and the NetworkPolicies of its hops.
 *
 * The pods (Deployment, Job, CronJob) are built from the Kubernetes 1.31 typings and the restricted
 * helpers of charts/lib/pod.ts, whose output keeps the sidecar's `restartPolicy`; the objects without
 * a pod template stay on the cdk8s-plus-27 classes. The two type sets never meet within one object.
 */
import { createHash } from 'crypto';
import type { PlatformModel } from '../model';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { imageTag, type Resources, sizeBytes } from '../config/schema/primitives';
import * as kube from '../imports/k8s-1.31';
import { PodMonitoring, PodMonitoringSpecEndpointsPort, PodMonitoringSpecEndpointsScheme } from '../imports/monitoring.googleapis.com';
import { edgeServiceAnnotations } from './edge/annotations';
import { EXTERNAL_SECRETS_ANNOTATION } from '../common/contract';
import { proxyVersionOf, Version } from '../common/cloud-sql-proxy-flags';
import { cloudSqlProxyContainer, PROXY_HTTP_PORT } from './lib/cloud-sql-proxy';
import { appLabels, labelValue, PART_OF, selectorLabels } from './lib/labels';
import { googleApisEgress } from './lib/network-policy';
import { PlatformChart } from './lib/platform-chart';
import { CloudSqlGrantJob, cloudSqlGrantJobProps, CloudSqlGrantJobProps } from './mlflow/cloudsql-grant-job';
import { mlflowProgram } from './mlflow/programs';
import { RestrictedContainer, restrictedContainer, RestrictedContainerProps, restrictedPodSpec } from './lib/pod';
import { DB_SECRET_KEYS, MLFLOW_AUTH_SECRET_KEYS, PORTS } from '../common/contract';
import { CA_BUNDLE_FILE, caBundleMount, caBundleVolume, MLFLOW_CA_ENV } from './certificates/ca-bundle';
import type { MlflowAuthNames } from '../model/names';
import {
  authConfigEnv,
  authConfigHash,
  authMount,
  authVolume,
  clientCredentialEnv,
  MlflowAuth,
  MlflowAuthProps,
  serverAuthEnv,
  serverAuthSecrets,
} from './mlflow/auth';
import { MlflowAuthProvisionJob, ProvisionedAccount } from './mlflow/auth-provision';
import { serverCertificateVolume } from './certificates/server-certificate';

/** Cloud SQL's server-side proxy port behind the private IP. */
/** Where `--expose-prometheus` keeps the multiprocess metric files. */
export const METRICS_DIR = '/var/run/mlflow/metrics';
/** Numeric user of the MLflow containers (the image's default is root). */
export const MLFLOW_UID = 1000;
/** preStop pause, so endpoints and the load balancer stop sending before the server stops. */
export const PRE_STOP_SECONDS = 10;
export const PROXY_MAX_SIGTERM_SECONDS = 30;
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
/** The migration Job's deadline; it waits for the Cloud SQL grant for at most GRANT_WAIT_SECONDS of it. */
export const MIGRATION_DEADLINE_SECONDS = 3600;
/** Leaves a quarter of the deadline for the migration itself once the grant is there. */
export const GRANT_WAIT_SECONDS = 2700;
/** Name of the server's port (container and Service): ingress-gce keys its app-protocols annotation by it. */
export const SERVER_PORT_NAME = 'https';
/** Where the server's certificate Secret is mounted; no spaces: MLflow shlex-splits --uvicorn-opts. */
export const SERVER_TLS_DIR = '/etc/mlflow/tls';

export type MlflowDatabase =
  | {
      readonly mode: 'cloudsql';
      readonly connectionName: string;
      /** IAM database user: the Google service account's email without `.gserviceaccount.com`. */
      readonly iamUser: string;
      readonly database: string;
      readonly proxy: { readonly image: string; readonly version: Version; readonly resources: Resources; readonly extraArgs: readonly string[] };
      /** Private services access range where the Cloud SQL private IP lives. */
      readonly privateServicesCidr: string;
    }
  | {
      readonly mode: 'statefulset';
      /** Service of the in-cluster PostgreSQL, in the same namespace. */
      readonly service: string;
      readonly user: string;
      readonly database: string;
      readonly passwordSecret: { readonly name: string; readonly key: string };
      /** Labels of the PostgreSQL pods (egress peer). */
      readonly podLabels: Record<string, string>;
      /** CA file that verifies the server's certificate (libpq sslrootcert, with sslmode=verify-full). */
      readonly caFile: string;
    };

export interface MlflowChartProps {
  readonly instance: string;
  readonly namespace: string;
  /** Name of the Deployment, the Service and the prefix of every other object. */
  readonly name: string;
  readonly port: number;
  readonly image: string;
  readonly serviceAccount: { readonly name: string; readonly gcpServiceAccount: string };
  /**
   * TLS: the server's certificate Secret (cert-manager, charts/certificates.ts), the CA bundle Secret
   * its clients in this namespace mount, and the name the metrics scraper checks the certificate for.
   */
  readonly tls: { readonly secretName: string; readonly caBundleSecret: string; readonly serverName: string };
  readonly projectId: string;
  readonly database: MlflowDatabase;
  /** gs:// URI where the proxied artifacts go. */
  readonly artifactsDestination: string;
  readonly workers: number;
  readonly replicas: number;
  readonly maxReplicas: number;
  readonly targetCpuUtilization: number;
  readonly updateStrategy: 'RollingUpdate' | 'Recreate';
  readonly resources: Resources;
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
  /**
   * `mlflow gc`: schedule, age, and the in-cluster URL of this server. gc refuses to run without a
   * tracking URI and deletes proxied (`mlflow-artifacts:`) artifacts through the server.
   */
  readonly gc: { readonly schedule: string; readonly olderThan: string; readonly trackingUri: string };
  readonly ingress: {
    readonly workspacesNamespace: string;
    /** Load balancer ranges; empty when no public entry is rendered. */
    readonly loadBalancerRanges: readonly string[];
    /** The managed Prometheus collectors: their namespace, pod labels and ServiceAccount. */
    readonly prometheus: { readonly namespace: string; readonly podLabels: Record<string, string>; readonly serviceAccount: string };
  };
  /**
   * Pod labels of the workspace pods allowed to reach MLflow.
   * @default part-of mlflow-gke, component workspace
   */
  readonly workspacePodLabels?: Record<string, string>;
  /**
   * Extra annotations of the Service (the edge's BackendConfig).
   * @default - none
   */
  readonly serviceAnnotations?: Record<string, string>;
  /** The cluster's own ranges, which the internet rule to Google APIs excludes (charts/lib/network-policy.ts). */
  readonly clusterRanges: readonly string[];
  /** The one-shot Job that grants the IAM database user its privileges (cloudsql mode). @default - none */
  readonly sqlGrant?: CloudSqlGrantJobProps;
  /** Authentication: MLflow's accounts and their Secrets, permissions, the IAP verifier's settings (charts/mlflow/auth.ts). */
  readonly auth: MlflowAuthSettings;
}

/** What the chart needs to know about authentication. */
export interface MlflowAuthSettings {
  readonly names: MlflowAuthNames;
  readonly defaultPermission: string;
  /** Granted on the Default experiment to people (provisioned or created at first sign-in). */
  readonly defaultExperimentPermission: string;
  readonly iap: { readonly enabled: boolean; readonly projectNumber: string; readonly backendServiceId?: string };
}

/** The Host headers MLflow must accept: public host, every form of the Service name, with and without port. */
export function derivedAllowedHosts(model: PlatformModel): string[] {
  const { config, names } = model;
  const svc = names.mlflow;
  const ns = names.namespaces.platform;
  const forms = [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
  const inCluster = forms.flatMap((f) => [f, `${f}:${names.mlflowPort}`]);
  const publicHost = config.edge.enabled ? [names.mlflowHost] : [];
  return [...new Set([...publicHost, ...inCluster, 'localhost', `localhost:${names.mlflowPort}`, ...config.mlflow.extraAllowedHosts])];
}

export function mlflowChartProps(model: PlatformModel): MlflowChartProps {
  const { config, names } = model;
  const sa = names.serviceAccounts.mlflow;
  if (!sa.kubernetes) throw new Error('names.serviceAccounts.mlflow has no Kubernetes ServiceAccount');
  const proxyVersion = proxyVersionOf(imageTag(config.mlflow.cloudSqlProxy.image));
  // The schema refuses a proxy image without a version tag: an invariant here.
  if (!proxyVersion) throw new Error(`MlflowChart: proxy image "${config.mlflow.cloudSqlProxy.image}" has no version tag`);
  const database: MlflowDatabase =
    config.database.mode === 'cloudsql'
      ? {
          mode: 'cloudsql',
          connectionName: names.cloudSql.connectionName,
          iamUser: names.cloudSql.iamUser,
          database: names.cloudSql.database,
          proxy: {
            image: config.mlflow.cloudSqlProxy.image,
            version: proxyVersion,
            resources: config.mlflow.cloudSqlProxy.resources,
            extraArgs: config.mlflow.cloudSqlProxy.extraArgs,
          },
          privateServicesCidr: config.network.privateServicesCidr,
        }
      : {
          mode: 'statefulset',
          service: names.mlflowDb,
          user: config.database.statefulset.user,
          database: config.database.name,
          passwordSecret: { name: config.database.statefulset.credentialsSecret, key: DB_SECRET_KEYS.mlflow },
          podLabels: selectorLabels({ name: names.mlflowDb, instance: config.environment, component: 'database' }),
          caFile: CA_BUNDLE_FILE,
        };
  return {
    instance: config.environment,
    namespace: names.namespaces.platform,
    name: names.mlflow,
    port: names.mlflowPort,
    image: config.mlflow.image,
    serviceAccount: { name: sa.kubernetes.name, gcpServiceAccount: sa.email },
    tls: { secretName: names.tls.mlflow, caBundleSecret: names.tls.caBundle, serverName: `${names.mlflow}.${names.namespaces.platform}.svc` },
    projectId: config.project.id,
    database,
    artifactsDestination: `gs://${names.bucket}/artifacts`,
    workers: config.mlflow.workers,
    replicas: config.mlflow.replicas,
    maxReplicas: config.mlflow.maxReplicas,
    targetCpuUtilization: config.mlflow.targetCpuUtilization,
    updateStrategy: config.mlflow.updateStrategy,
    resources: config.mlflow.resources,
    scratchSize: config.mlflow.scratchSize,
    kekSecret: config.mlflow.kekSecret,
    jobExecution: config.mlflow.jobExecution,
    allowedHosts: config.mlflow.allowedHosts ?? derivedAllowedHosts(model),
    corsAllowedOrigins: config.edge.enabled ? [`https://${names.mlflowHost}`] : [],
    gc: { schedule: config.mlflow.gcSchedule, olderThan: config.mlflow.gcOlderThan, trackingUri: names.mlflowUrl },
    ingress: {
      workspacesNamespace: names.namespaces.workspaces,
      loadBalancerRanges: config.edge.enabled ? [...model.ranges.loadBalancer] : [],
      prometheus: { namespace: 'gmp-system', podLabels: { 'app.kubernetes.io/name': 'collector' }, serviceAccount: 'collector' },
    },
    serviceAnnotations: edgeServiceAnnotations(config, names.mlflow, { port: SERVER_PORT_NAME, protocol: 'HTTPS' }),
    clusterRanges: model.ranges.cluster,
    sqlGrant: config.database.mode === 'cloudsql' ? cloudSqlGrantJobProps(model) : undefined,
    auth: {
      names: names.mlflowAuth,
      defaultPermission: config.mlflow.auth.defaultPermission,
      defaultExperimentPermission: config.mlflow.auth.defaultExperimentPermission,
      iap: { enabled: config.edge.enabled, projectNumber: config.project.number, backendServiceId: config.mlflow.auth.iapBackendServiceId },
    },
  };
}

/** The accounts the provisioning Job keeps: the platform's, then one per workspace account. */
export function provisionedAccounts(names: MlflowAuthNames): ProvisionedAccount[] {
  return [
    // Admins, kept to their routes by the verifier where they can be: /metrics answers only admins under
    // fail-closed; gc deletes artifacts of every experiment, which needs MANAGE on each.
    { ...names.metrics, admin: true, defaultExperiment: false },
    { ...names.gc, admin: true, defaultExperiment: false },
    { ...names.verify, admin: false, defaultExperiment: false },
    ...names.workspaceAccounts.map((a) => ({ ...a, admin: false, defaultExperiment: true })),
  ];
}

/**
 * The backend store URI: never a password in it (IAM login through the proxy, or PGPASSWORD from a
 * Secret). In-cluster PostgreSQL speaks TLS only: sslmode=verify-full checks the server's certificate
 * against the platform CA and its name against the host dialled (the short Service name, which the
 * certificate lists). SQLAlchemy's psycopg2 dialect hands the query to libpq as connection options
 * (lib/sqlalchemy/dialects/postgresql/psycopg2.py create_connect_args: opts.update(url.query)).
 */
export function backendStoreUri(db: MlflowDatabase): string {
  if (db.mode === 'cloudsql') return `postgresql+psycopg2://${encodeURIComponent(db.iamUser)}@127.0.0.1:${PORTS.postgres}/${db.database}`;
  const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(db.caFile)}`;
  return `postgresql+psycopg2://${encodeURIComponent(db.user)}@${db.service}:${PORTS.postgres}/${db.database}?${tls}`;
}

const q = (v: string) => kube.Quantity.fromString(v);
const port = (n: number) => k8s.IntOrString.fromNumber(n);

/** Size of the metrics emptyDir (multiprocess Prometheus files). */
export const METRICS_SIZE = '256Mi';
/** Room for the container's logs beside its emptyDirs (the root filesystem is read-only). */
const LOG_HEADROOM_MI = 512;

/**
 * Ephemeral storage of the server container: its /tmp, the metrics directory and log headroom. Both
 * emptyDirs count against the pod's ephemeral storage, so the request (what the scheduler reserves on
 * the node) and the limit both cover them.
 */
export function serverEphemeralStorage(scratchSize: string): string {
  const mi = (size: string) => Math.ceil(sizeBytes(size) / 2 ** 20);
  return `${mi(scratchSize) + mi(METRICS_SIZE) + LOG_HEADROOM_MI}Mi`;
}

/**
 * Short content hash: part of the migration Job's name, because a Job's pod template is immutable.
 * Taken of the props the Job is built from (Quantity and IntOrString serialize with their value).
 */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 8);
}

export class MlflowChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: MlflowChartProps) {
    super(scope, id, { namespace: props.namespace, instance: props.instance });
    const db = props.database;
    const cloudsql = db.mode === 'cloudsql';
    const version = imageTag(props.image);
    const labelsFor = (component: string) => appLabels({ name: props.name, instance: props.instance, component, version });
    const selectorFor = (component: string) => selectorLabels({ name: props.name, instance: props.instance, component });
    const serverSelector = selectorFor('server');
    const authProps: MlflowAuthProps = {
      namespace: props.namespace,
      labels: labelsFor('server'),
      names: props.auth.names,
      databaseUri: backendStoreUri(db),
      defaultPermission: props.auth.defaultPermission,
      defaultExperimentPermission: props.auth.defaultExperimentPermission,
      iap: { ...props.auth.iap, trustedPeers: props.ingress.loadBalancerRanges },
      collector: { namespace: props.ingress.prometheus.namespace, serviceAccount: props.ingress.prometheus.serviceAccount },
    };

    // Workload Identity: the pods act as the MLflow Google service account (GCS, Cloud SQL login).
    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: {
        name: props.serviceAccount.name,
        labels: labelsFor('server'),
        annotations: { 'iam.gke.io/gcp-service-account': props.serviceAccount.gcpServiceAccount },
      },
      automountServiceAccountToken: false,
    });

    const env: kube.EnvVar[] = [
      { name: 'MLFLOW_BACKEND_STORE_URI', value: backendStoreUri(db) },
      ...(db.mode === 'statefulset' ? [{ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: db.passwordSecret.name, key: db.passwordSecret.key } } }] : []),
      { name: 'GOOGLE_CLOUD_PROJECT', value: props.projectId },
      { name: 'HOME', value: '/tmp' },
      { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
      { name: 'PYTHONUNBUFFERED', value: '1' },
    ];
    // One-shot pods stage nothing: a small /tmp. The server's /tmp holds artifacts in transit.
    const tmpVolume: kube.Volume = { name: 'tmp', emptyDir: { sizeLimit: q('1Gi') } };
    const serverTmpVolume: kube.Volume = { name: 'tmp', emptyDir: { sizeLimit: q(props.scratchSize) } };
    const tmpMount: kube.VolumeMount = { name: 'tmp', mountPath: '/tmp' };
    // Every MLflow pod is a TLS client (of the server, or of the in-cluster PostgreSQL): the CA bundle's ca.crt only.
    const caVolume = caBundleVolume(props.tls.caBundleSecret);
    const caMount = caBundleMount();
    // The server's key pair, readable by the MLflow group only (the kubelet makes the files root:fsGroup).
    const tlsVolume = serverCertificateVolume('tls', props.tls.secretName);
    // A native sidecar: started (startup probe passed) before the other containers, stopped after them.
    const sidecars: RestrictedContainer[] =
      db.mode === 'cloudsql'
        ? [
            cloudSqlProxyContainer({
              image: db.proxy.image,
              resources: db.proxy.resources,
              connectionName: db.connectionName,
              version: db.proxy.version,
              maxSigtermDelaySeconds: PROXY_MAX_SIGTERM_SECONDS,
              extraArgs: db.proxy.extraArgs,
            }),
          ]
        : [];
    /** A container of the MLflow image, as the MLflow user, with the database settings and /tmp. */
    const mlflowContainer = (c: Omit<RestrictedContainerProps, 'image' | 'runAsUser' | 'runAsGroup' | 'resources'>): RestrictedContainer =>
      restrictedContainer({ image: props.image, runAsUser: MLFLOW_UID, runAsGroup: MLFLOW_UID, resources: props.resources, ...c });
    const mlflowPodSpec = (spec: Omit<Parameters<typeof restrictedPodSpec>[0], 'sidecars' | 'serviceAccountName' | 'runAsUser' | 'runAsGroup' | 'fsGroup'>) =>
      restrictedPodSpec({
        serviceAccountName: props.serviceAccount.name,
        runAsUser: MLFLOW_UID,
        runAsGroup: MLFLOW_UID,
        fsGroup: MLFLOW_UID,
        sidecars,
        ...spec,
      });

    // --- the server ---------------------------------------------------------------------------
    const serverArgs = [
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
    // The kubelet sends HTTPS probes without checking the certificate (Kubernetes docs, "Configure
    // Liveness, Readiness and Startup Probes", HTTP probes): the name and CA do not matter to it.
    const health = (periodSeconds: number, failureThreshold: number): kube.Probe => ({
      httpGet: { path: '/health', port: kube.IntOrString.fromString(SERVER_PORT_NAME), scheme: 'HTTPS' },
      periodSeconds,
      timeoutSeconds: 5,
      failureThreshold,
    });
    // Runs after the proxy has started and before the server: the server starts only on the schema
    // revision its image expects, which the migration Job brings about.
    const waitForSchema = mlflowContainer({
      name: 'wait-for-schema',
      command: ['python', '-c', mlflowProgram('wait_for_schema')],
      env,
      volumeMounts: [tmpMount, caMount],
    });
    const server = mlflowContainer({
      name: 'mlflow',
      // charts/mlflow/serve.py starts the certificate watcher, then becomes `mlflow server` (exec).
      command: ['python', '-c', mlflowProgram('serve'), 'mlflow', 'server'],
      args: serverArgs,
      env: [
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        ...env,
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
        ...serverAuthEnv(authProps),
      ],
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
        labels: labelsFor('server'),
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
          metadata: { labels: labelsFor('server'), annotations: { 'mlflow-gke/auth-config': authConfigHash(authProps) } },
          spec: mlflowPodSpec({
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            initContainers: [waitForSchema],
            containers: [server],
            volumes: [serverTmpVolume, { name: 'metrics', emptyDir: { sizeLimit: q(METRICS_SIZE) } }, tlsVolume, caVolume, authVolume(props.auth.names)],
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: serverSelector } },
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: serverSelector } },
            ],
          }),
        },
      },
    });

    new k8s.KubeService(this, 'service', {
      metadata: {
        name: props.name,
        labels: labelsFor('server'),
        // Container-native load balancing: the load balancer reaches pod IPs directly.
        annotations: { 'cloud.google.com/neg': '{"ingress": true}', ...props.serviceAnnotations },
      },
      spec: {
        type: 'ClusterIP',
        selector: serverSelector,
        ports: [{ name: SERVER_PORT_NAME, port: props.port, targetPort: k8s.IntOrString.fromString(SERVER_PORT_NAME), protocol: 'TCP' }],
      },
    });

    new k8s.KubeHorizontalPodAutoscalerV2(this, 'autoscaler', {
      metadata: { name: props.name, labels: labelsFor('server') },
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
      new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
        metadata: { name: props.name, labels: labelsFor('server') },
        spec: {
          maxUnavailable: port(1),
          selector: { matchLabels: serverSelector },
          // A pod that is not Ready serves nothing: evicting it must not wait for the budget.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });

    // --- schema migration -----------------------------------------------------------------------
    const oneShotPod = (component: string, name: string, script: string, extraEnv: kube.EnvVar[] = [], auth = false): kube.PodTemplateSpec => ({
      metadata: { labels: labelsFor(component) },
      spec: mlflowPodSpec({
        restartPolicy: 'Never',
        containers: [
          mlflowContainer({
            name,
            command: ['python', '-c', script],
            env: [...env, ...extraEnv],
            volumeMounts: [tmpMount, caMount, ...(auth ? [authMount] : [])],
          }),
        ],
        volumes: [tmpVolume, caVolume, ...(auth ? [authVolume(props.auth.names)] : [])],
      }),
    });
    const migrationSpec: kube.JobSpec = {
      backoffLimit: 6,
      activeDeadlineSeconds: MIGRATION_DEADLINE_SECONDS,
      // The auth tables' upgrade imports mlflow.server.auth, which reads the server's auth file at import.
      template: oneShotPod(
        'migrate',
        'migrate',
        mlflowProgram('migrate'),
        [{ name: 'GRANT_WAIT_SECONDS', value: String(GRANT_WAIT_SECONDS) }, authConfigEnv],
        true,
      ),
    };
    const migrationBase = `${props.name}-migrate-${labelValue(version)
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}`
      .slice(0, 53)
      .replace(/-+$/, '');
    new kube.KubeJob(this, 'migration', {
      metadata: {
        // A Job's pod template is immutable: any change to it must become a new Job, so the name carries
        // a hash of the spec. An unchanged spec keeps its name and re-applies as a no-op.
        name: `${migrationBase}-${contentHash(migrationSpec)}`,
        labels: labelsFor('migrate'),
        annotations: { 'mlflow-gke/purpose': 'Runs the MLflow schema migration of this image once; servers wait for it before serving.' },
      },
      spec: migrationSpec,
    });

    // --- garbage collection ---------------------------------------------------------------------
    new kube.KubeCronJob(this, 'gc', {
      metadata: { name: `${props.name}-gc`, labels: labelsFor('gc'), annotations: { [EXTERNAL_SECRETS_ANNOTATION]: props.auth.names.gc.secret } },
      spec: {
        schedule: props.gc.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: labelsFor('gc') },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 7200,
            template: oneShotPod('gc', 'gc', mlflowProgram('gc'), [
              { name: 'GC_OLDER_THAN', value: props.gc.olderThan },
              // mlflow/cli/__init__.py gc(): "Tracking URL is not set" without it; the runs'
              // mlflow-artifacts: URIs resolve against it, so the server deletes their GCS objects.
              { name: 'MLFLOW_TRACKING_URI', value: props.gc.trackingUri },
              // The server's certificate is checked against the platform CA (mlflow/utils/rest_utils.py: `verify`).
              { name: MLFLOW_CA_ENV, value: CA_BUNDLE_FILE },
              // Its own account, an admin: deleting a run's proxied artifacts needs MANAGE on its experiment.
              ...clientCredentialEnv(props.auth.names.gc),
            ]),
          },
        },
      },
    });
    // gc -> server: the artifact deletes of `mlflow gc` go through the tracking server.
    const gcSelector = selectorFor('gc');
    new k8s.KubeNetworkPolicy(this, 'gc-egress', {
      metadata: { name: `${props.name}-gc-egress`, labels: labelsFor('gc') },
      spec: {
        podSelector: { matchLabels: gcSelector },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: serverSelector } }], ports: [{ protocol: 'TCP', port: port(props.port) }] }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'gc-to-server', {
      metadata: { name: `${props.name}-gc-to-server`, labels: labelsFor('server') },
      spec: {
        podSelector: { matchLabels: serverSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: gcSelector } }], ports: [{ protocol: 'TCP', port: port(props.port) }] }],
      },
    });

    if (props.sqlGrant) new CloudSqlGrantJob(this, 'sql-grant', props.sqlGrant);

    // --- authentication -------------------------------------------------------------------------
    new MlflowAuth(this, 'auth', authProps);
    new MlflowAuthProvisionJob(this, 'auth-provision', {
      name: props.name,
      image: props.image,
      runAsUser: MLFLOW_UID,
      labels: labelsFor('auth-provision'),
      selector: selectorFor('auth-provision'),
      serverSelector,
      port: props.port,
      trackingUri: props.gc.trackingUri,
      caBundleSecret: props.tls.caBundleSecret,
      admin: props.auth.names.admin,
      accounts: provisionedAccounts(props.auth.names),
      defaultExperimentPermission: props.auth.defaultExperimentPermission,
      hash: contentHash,
    });

    // --- metrics --------------------------------------------------------------------------------
    // Over TLS, checked against the platform CA: the collector scrapes pod IPs, which the certificate
    // does not name, so serverName says which name to expect (prometheus-engine @2ffde4e
    // pkg/operator/apis/monitoring/v1/http_types.go TLS: serverName, ca). The CA comes from the CA
    // bundle Secret, never the server's own (that holds its key).
    // /metrics needs an admin under fail-closed; the verifier admits the metrics account there and
    // nowhere else. The collector sends it as Basic credentials (prometheus-engine @2ffde4e
    // pkg/operator/apis/monitoring/v1/http_types.go BasicAuth: username, password from a Secret of the
    // PodMonitoring's namespace), which a Role below lets it read.
    new PodMonitoring(this, 'pod-monitoring', {
      metadata: { name: props.name, labels: labelsFor('server'), annotations: { [EXTERNAL_SECRETS_ANNOTATION]: props.auth.names.metrics.secret } },
      spec: {
        selector: { matchLabels: serverSelector },
        endpoints: [
          {
            port: PodMonitoringSpecEndpointsPort.fromString(SERVER_PORT_NAME),
            scheme: PodMonitoringSpecEndpointsScheme.HTTPS,
            path: '/metrics',
            interval: '30s',
            tls: { serverName: props.tls.serverName, ca: { secret: { name: props.tls.caBundleSecret, key: 'ca.crt' } } },
            basicAuth: {
              username: props.auth.names.metrics.username,
              password: { secret: { name: props.auth.names.metrics.secret, key: MLFLOW_AUTH_SECRET_KEYS.password } },
            },
          },
          // Numeric: the sidecar's port is scraped by number.
          ...(cloudsql ? [{ port: PodMonitoringSpecEndpointsPort.fromNumber(PROXY_HTTP_PORT), path: '/metrics', interval: '30s' }] : []),
        ],
      },
    });

    // The managed collectors read the CA through the API as their ServiceAccount: a Role on that one
    // Secret (the pattern of prometheus-engine @2ffde4e examples/instrumentation/go-synthetic/
    // go-synthetic-basic-auth.yaml: Role get/list/watch with resourceNames, RoleBinding to
    // ServiceAccount collector in gmp-system).
    const reader = `${props.name}-ca-bundle-reader`;
    new k8s.KubeRole(this, 'ca-bundle-reader', {
      metadata: { name: reader, labels: labelsFor('server') },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [props.tls.caBundleSecret], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'ca-bundle-reader-binding', {
      metadata: { name: reader, labels: labelsFor('server') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: reader },
      subjects: [{ kind: 'ServiceAccount', name: props.ingress.prometheus.serviceAccount, namespace: props.ingress.prometheus.namespace }],
    });

    // --- network policies (the namespace denies everything else) --------------------------------
    const tcp = (n: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: port(n) });
    const ingress: k8s.NetworkPolicyIngressRule[] = [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.ingress.workspacesNamespace } },
            podSelector: { matchLabels: props.workspacePodLabels ?? { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/component': 'workspace' } },
          },
        ],
        ports: [tcp(props.port)],
      },
      ...(props.ingress.loadBalancerRanges.length > 0
        ? [{ from: props.ingress.loadBalancerRanges.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(props.port)] }]
        : []),
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.ingress.prometheus.namespace } },
            podSelector: { matchLabels: props.ingress.prometheus.podLabels },
          },
        ],
        ports: [tcp(props.port), ...(cloudsql ? [tcp(PROXY_HTTP_PORT)] : [])],
      },
    ];
    new k8s.KubeNetworkPolicy(this, 'server-ingress', {
      metadata: { name: `${props.name}-server-ingress`, labels: labelsFor('server') },
      spec: { podSelector: { matchLabels: serverSelector }, policyTypes: ['Ingress'], ingress },
    });

    const databaseEgress: k8s.NetworkPolicyEgressRule =
      db.mode === 'cloudsql'
        ? { to: [{ ipBlock: { cidr: db.privateServicesCidr } }], ports: [tcp(PORTS.cloudSqlServer)] }
        : { to: [{ podSelector: { matchLabels: db.podLabels } }], ports: [tcp(PORTS.postgres)] };
    new k8s.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: `${props.name}-egress`, labels: labelsFor('server') },
      spec: {
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/instance': props.instance },
          matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['server', 'migrate', 'gc'] }],
        },
        policyTypes: ['Egress'],
        egress: [
          databaseEgress,
          // GCS, Cloud SQL Admin and IAM credentials: the metadata server, then 443 outside the cluster.
          // The same 443 rule carries the IAP verifier's fetch of Google's keys (www.gstatic.com): a
          // NetworkPolicy matches addresses, not names, and that host has no fixed range.
          ...googleApisEgress(props.clusterRanges),
        ],
      },
    });
  }
}

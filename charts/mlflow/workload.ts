/**
 * What every MLflow pod shares (the server, the migration Job, gc): labels, the database settings
 * and their environment, /tmp, the CA bundle, the Cloud SQL Auth Proxy as a native sidecar, and the
 * MLflow user. Built once per chart from its props; no Kubernetes object of its own.
 */
import type { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import { imageTag, type Resources } from '../../config/schema/primitives';
import { caBundleMount, caBundleVolume } from '../certificates/ca-bundle';
import { cloudSqlProxyContainer } from '../lib/cloud-sql-proxy';
import { appLabels, selectorLabels } from '../lib/labels';
import { RestrictedContainer, restrictedContainer, RestrictedContainerProps, restrictedPodSpec } from '../lib/pod';
import { authMount, authVolume } from './auth';
import { backendStoreUri, MlflowDatabase } from './database';
import type { MlflowAuthNames } from '../../model/names';

/**
 * A Kubernetes ServiceAccount of its own for a pod that needs no Google identity: no
 * `iam.gke.io/gcp-service-account` annotation, so Workload Identity gives it no Google service account
 * (cloud.google.com/kubernetes-engine/docs/how-to/workload-identity: a ServiceAccount is linked to a
 * Google service account by that annotation and the roles/iam.workloadIdentityUser grant), and no API
 * token in its pods.
 */
export function noGoogleIdentityServiceAccount(scope: Construct, id: string, name: string, labels: Record<string, string>): string {
  new kube.KubeServiceAccount(scope, id, { metadata: { name, labels }, automountServiceAccountToken: false });
  return name;
}

/** The size of MLflow's SQLAlchemy pools: connections kept, and those opened beyond them under load. */
export interface DatabasePool {
  readonly size: number;
  readonly maxOverflow: number;
}

/**
 * The environment that sizes every SQLAlchemy engine MLflow opens in a process
 * (mlflow@v3.17.0 mlflow/store/db/utils.py create_sqlalchemy_engine reads these three in each
 * process, for each engine). The pool class is named: QueuePool is what honours size and overflow,
 * whatever SQLAlchemy would pick by default. maxOverflow is at least 1 (the schema refuses 0, which
 * MLflow would drop in favour of SQLAlchemy's default of 10).
 */
export function databasePoolEnv(pool: DatabasePool): kube.EnvVar[] {
  return [
    { name: 'MLFLOW_SQLALCHEMYSTORE_POOLCLASS', value: 'QueuePool' },
    { name: 'MLFLOW_SQLALCHEMYSTORE_POOL_SIZE', value: String(pool.size) },
    { name: 'MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW', value: String(pool.maxOverflow) },
  ];
}

/**
 * A Kubernetes ServiceAccount of its own that acts as a Google service account of its own through
 * Workload Identity (the `iam.gke.io/gcp-service-account` annotation; the gcp chart binds
 * roles/iam.workloadIdentityUser on that account to this ServiceAccount), without an API token: the
 * migration Job and gc in cloudsql mode, for their own IAM database logins.
 */
export function googleIdentityServiceAccount(scope: Construct, id: string, name: string, googleServiceAccount: string, labels: Record<string, string>): string {
  new kube.KubeServiceAccount(scope, id, {
    metadata: { name, labels, annotations: { 'iam.gke.io/gcp-service-account': googleServiceAccount } },
    automountServiceAccountToken: false,
  });
  return name;
}

/**
 * A Job's ServiceAccount and, in cloudsql mode, the Google service account it acts as and that
 * account's IAM database user (the user its backend store URI logs in as).
 */
export interface MlflowJobAccount {
  readonly name: string;
  /**
   * The Google service account it acts as, and in cloudsql mode that account's IAM database user.
   * @default - no Google identity (statefulset mode: a password login)
   */
  readonly google?: { readonly email: string; readonly iamUser?: string };
}

/** The Job's own ServiceAccount, with or without a Google identity. */
export function jobServiceAccount(scope: Construct, id: string, account: MlflowJobAccount, labels: Record<string, string>): string {
  return account.google
    ? googleIdentityServiceAccount(scope, id, account.name, account.google.email, labels)
    : noGoogleIdentityServiceAccount(scope, id, account.name, labels);
}

/** Init containers that run before a one-shot program, and the volumes they share with it. */
export interface OneShotPrelude {
  readonly initContainers: RestrictedContainer[];
  readonly volumes: kube.Volume[];
  /** Mounted in the program's container. */
  readonly mounts: kube.VolumeMount[];
}

/** Numeric user of the MLflow containers (the image's default is root). */
export const MLFLOW_UID = 1000;
/** How long the proxy sidecar waits for open connections after SIGTERM. */
export const PROXY_MAX_SIGTERM_SECONDS = 30;

export interface MlflowWorkloadProps {
  readonly instance: string;
  /** Name of the Deployment, the Service and the prefix of every other object. */
  readonly name: string;
  readonly image: string;
  readonly serviceAccount: { readonly name: string };
  readonly tls: { readonly caBundleConfigMap: string };
  readonly projectId: string;
  readonly database: MlflowDatabase;
  readonly resources: Resources;
  readonly auth: { readonly names: MlflowAuthNames };
}

export class MlflowWorkload {
  /** The image tag: every object's version label. */
  readonly version: string;
  /** The database settings every MLflow process reads, and what a pod of it needs. */
  readonly env: kube.EnvVar[];
  /** One-shot pods stage nothing: a small /tmp. The server's /tmp holds artifacts in transit (its own volume). */
  readonly tmpVolume: kube.Volume = { name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString('1Gi') } };
  readonly tmpMount: kube.VolumeMount = { name: 'tmp', mountPath: '/tmp' };
  /** Every MLflow pod is a TLS client (of the server, or of the in-cluster PostgreSQL): the CA bundle's ca.crt only. */
  readonly caVolume: kube.Volume;
  readonly caMount: kube.VolumeMount = caBundleMount();
  /** A native sidecar: started (startup probe passed) before the other containers, stopped after them. */
  readonly sidecars: RestrictedContainer[];

  constructor(private readonly props: MlflowWorkloadProps) {
    const db = props.database;
    this.version = imageTag(props.image);
    this.env = [
      { name: 'MLFLOW_BACKEND_STORE_URI', value: backendStoreUri(db) },
      ...(db.mode === 'statefulset' ? [{ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: db.passwordSecret.name, key: db.passwordSecret.key } } }] : []),
      { name: 'GOOGLE_CLOUD_PROJECT', value: props.projectId },
      { name: 'HOME', value: '/tmp' },
      { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
      { name: 'PYTHONUNBUFFERED', value: '1' },
    ];
    this.caVolume = caBundleVolume(props.tls.caBundleConfigMap);
    this.sidecars =
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
  }

  /** Where the pods keep their metadata, as this workload logs in. */
  get database(): MlflowDatabase {
    return this.props.database;
  }

  /**
   * The same pods, as another ServiceAccount (`serviceAccountName`) and, in cloudsql mode, logging in as
   * another IAM database user (`iamUser`, that ServiceAccount's Google identity's); unchanged when undefined.
   */
  as(serviceAccountName: string | undefined, iamUser?: string): MlflowWorkload {
    if (!serviceAccountName) return this;
    const db = this.props.database;
    const database: MlflowDatabase = iamUser && db.mode === 'cloudsql' ? { ...db, iamUser } : db;
    return new MlflowWorkload({ ...this.props, serviceAccount: { name: serviceAccountName }, database });
  }

  labels(component: string): Record<string, string> {
    return appLabels({ name: this.props.name, instance: this.props.instance, component, version: this.version });
  }

  selector(component: string): Record<string, string> {
    return selectorLabels({ name: this.props.name, instance: this.props.instance, component });
  }

  /** A container of the MLflow image, as the MLflow user, with the server's resources. */
  container(c: Omit<RestrictedContainerProps, 'image' | 'runAsUser' | 'runAsGroup' | 'resources'>): RestrictedContainer {
    return restrictedContainer({ image: this.props.image, runAsUser: MLFLOW_UID, runAsGroup: MLFLOW_UID, resources: this.props.resources, ...c });
  }

  /** A pod of the MLflow ServiceAccount and user, with the proxy sidecar in cloudsql mode. */
  podSpec(spec: Omit<Parameters<typeof restrictedPodSpec>[0], 'sidecars' | 'serviceAccountName' | 'runAsUser' | 'runAsGroup' | 'fsGroup'>): kube.PodSpec {
    return restrictedPodSpec({
      serviceAccountName: this.props.serviceAccount.name,
      runAsUser: MLFLOW_UID,
      runAsGroup: MLFLOW_UID,
      fsGroup: MLFLOW_UID,
      sidecars: this.sidecars,
      ...spec,
    });
  }

  /**
   * A pod that runs one MLflow program once; `auth` mounts the auth config it reads at import. `before`
   * runs first: init containers, and the volumes they share with the program (mounted in it too).
   */
  oneShotPod(component: string, name: string, script: string, extraEnv: kube.EnvVar[] = [], auth = false, before?: OneShotPrelude): kube.PodTemplateSpec {
    return {
      metadata: { labels: this.labels(component) },
      spec: this.podSpec({
        restartPolicy: 'Never',
        initContainers: before?.initContainers,
        containers: [this.programContainer(name, script, extraEnv, before?.mounts ?? [], auth)],
        volumes: [this.tmpVolume, this.caVolume, ...(auth ? [authVolume(this.props.auth.names)] : []), ...(before?.volumes ?? [])],
      }),
    };
  }

  /** A container of the MLflow image that runs one MLflow program, with the database environment and mounts of oneShotPod. */
  programContainer(name: string, script: string, extraEnv: kube.EnvVar[], mounts: kube.VolumeMount[], auth = false): RestrictedContainer {
    return this.container({
      name,
      command: ['python', '-c', script],
      env: [...this.env, ...extraEnv],
      volumeMounts: [this.tmpMount, this.caMount, ...(auth ? [authMount] : []), ...mounts],
    });
  }
}

/**
 * Garbage collection: `mlflow gc` on a schedule, with its own account, deleting the artifacts of
 * deleted runs through the tracking server (never the bucket directly), and the NetworkPolicies of
 * that one hop.
 */
import { Construct } from 'constructs';
import { EXTERNAL_SECRETS_ANNOTATION } from '../../common/contract';
import * as kube from '../../imports/k8s-1.31';
import type { MlflowAccount } from '../../model/names';
import { CA_BUNDLE_FILE, MLFLOW_CA_ENV } from '../certificates/ca-bundle';
import { clientCredentialEnv } from './auth';
import { mlflowProgram } from './programs';
import { JOB_POOL } from '../../model/connection-budget';
import { databasePoolEnv, jobServiceAccount, type MlflowJobAccount, type MlflowWorkload } from './workload';

export interface MlflowGcProps {
  /** Prefix of the CronJob's and the NetworkPolicies' names. */
  readonly name: string;
  /** The server's port. */
  readonly port: number;
  readonly workload: MlflowWorkload;
  /** Cron schedule, in UTC. */
  readonly schedule: string;
  /** `mlflow gc --older-than`. */
  readonly olderThan: string;
  /** The in-cluster URL of the server: gc refuses to run without a tracking URI. */
  readonly trackingUri: string;
  /** gc's own MLflow account. */
  readonly account: MlflowAccount;
  /**
   * A ServiceAccount of its own, never the server's: gc deletes artifacts through the server, so it
   * needs no right on the bucket. Without Google identity in statefulset mode (a password login); in
   * cloudsql mode with a Google service account of its own, whose IAM database user has DML on the
   * tracking tables (a member of the writer role of charts/mlflow/cloudsql-grant.sql) and nothing else.
   */
  readonly serviceAccount: MlflowJobAccount;
}

export class MlflowGc extends Construct {
  constructor(scope: Construct, id: string, props: MlflowGcProps) {
    super(scope, id);
    const w = props.workload.as(
      jobServiceAccount(this, 'service-account', props.serviceAccount, props.workload.labels('gc')),
      props.serviceAccount.google?.iamUser,
    );
    const serverSelector = w.selector('server');
    new kube.KubeCronJob(this, 'gc', {
      metadata: { name: `${props.name}-gc`, labels: w.labels('gc'), annotations: { [EXTERNAL_SECRETS_ANNOTATION]: props.account.secret } },
      spec: {
        schedule: props.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: w.labels('gc') },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 7200,
            template: w.oneShotPod('gc', 'gc', mlflowProgram('gc'), [
              { name: 'GC_OLDER_THAN', value: props.olderThan },
              // `mlflow gc` opens MLflow's stores: one process, one request at a time.
              ...databasePoolEnv(JOB_POOL),
              // mlflow/cli/__init__.py gc(): "Tracking URL is not set" without it; the runs'
              // mlflow-artifacts: URIs resolve against it, so the server deletes their GCS objects.
              { name: 'MLFLOW_TRACKING_URI', value: props.trackingUri },
              // The server's certificate is checked against the platform CA (mlflow/utils/rest_utils.py: `verify`).
              { name: MLFLOW_CA_ENV, value: CA_BUNDLE_FILE },
              // Its own account, no admin: the provisioning Job's role mlflow-gke-gc gives MANAGE on every
              // experiment, which deleting a run's proxied artifacts needs (charts/mlflow.ts provisionedRoles).
              ...clientCredentialEnv(props.account),
            ]),
          },
        },
      },
    });
    // gc -> server: the artifact deletes of `mlflow gc` go through the tracking server.
    const gcSelector = w.selector('gc');
    new kube.KubeNetworkPolicy(this, 'gc-egress', {
      metadata: { name: `${props.name}-gc-egress`, labels: w.labels('gc') },
      spec: {
        podSelector: { matchLabels: gcSelector },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: serverSelector } }], ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(props.port) }] }],
      },
    });
    new kube.KubeNetworkPolicy(this, 'gc-to-server', {
      metadata: { name: `${props.name}-gc-to-server`, labels: w.labels('server') },
      spec: {
        podSelector: { matchLabels: serverSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: gcSelector } }], ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(props.port) }] }],
      },
    });
  }
}

/**
 * The provisioning Job of MLflow's users (charts/mlflow/provision.py): the platform's accounts and one
 * per workspace account, each with its password from its own Secret, through the server's REST API as
 * the bootstrap admin; each person's personal experiment; every user's grant on the Default
 * experiment; the platform's MLflow roles (gc's, the groups' and the sharing of mlflow.auth.sharing);
 * plus the two NetworkPolicy holes of that hop. Its name carries a hash of its
 * spec, like the migration Job's: a Job's pod template is immutable, so a changed list of accounts
 * becomes a new Job, and an unchanged render re-applies as a no-op. A rotated password (a Secret's new
 * value) reaches MLflow when the Job runs again (docs/mlflow.md, "Rotating a password").
 */
import { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import type { MlflowAccount } from '../../model/names';
import { MLFLOW_AUTH_SECRET_KEYS } from '../../common/contract';
import { EXTERNAL_SECRETS_ANNOTATION } from '../../common/contract';
import { RestrictedContainer, restrictedContainer, restrictedPodSpec } from '../lib/pod';
import type { Resources } from '../../config/schema/primitives';
import { CA_BUNDLE_FILE, caBundleMount, caBundleVolume, MLFLOW_CA_ENV } from '../certificates/ca-bundle';
import { clientCredentialEnv } from './auth';
import { mlflowProgram } from './programs';
import { noGoogleIdentityServiceAccount } from './workload';

/** Small: a few REST calls. */
const PROVISION_RESOURCES: Resources = { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

/** One account to provision. */
export interface ProvisionedAccount extends MlflowAccount {
  /** Made an admin (the metrics scraper); any other account that is one is made an ordinary user. */
  readonly admin: boolean;
  /** A person (or the shared workspace account): given a personal experiment with MANAGE. */
  readonly defaultExperiment: boolean;
}

/** One grant of a platform role: an experiment or registered model by name, or a resource type and pattern. */
export type ProvisionedGrant =
  | { readonly experiment: string; readonly permission: string }
  | { readonly registeredModel: string; readonly permission: string }
  | { readonly resourceType: string; readonly pattern: string; readonly permission: string };

/** An MLflow role the Job keeps to exactly these members (usernames) and grants. */
export interface ProvisionedRole {
  readonly name: string;
  readonly description: string;
  readonly members: readonly string[];
  readonly grants: readonly ProvisionedGrant[];
}

export interface MlflowAuthProvisionJobProps {
  /** Prefix of the Job's and the NetworkPolicies' names (the MLflow Deployment's name). */
  readonly name: string;
  readonly image: string;
  readonly runAsUser: number;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly serverSelector: Record<string, string>;
  readonly port: number;
  readonly trackingUri: string;
  readonly caBundleConfigMap: string;
  /** The bootstrap admin the Job acts as. */
  readonly admin: MlflowAccount;
  readonly accounts: readonly ProvisionedAccount[];
  /** Every non-admin user's own grant on the Default experiment: READ, or NO_PERMISSIONS for none (a higher one is lowered). */
  readonly defaultExperimentPermission: string;
  /** The personal experiments' prefix: a person's is this and their username. */
  readonly personalExperimentPrefix: string;
  /** The platform's roles (gc's, the groups', the shared-with users'). */
  readonly roles: readonly ProvisionedRole[];
  /** Every role whose name starts with this and is not in `roles` is deleted. */
  readonly managedRolePrefix: string;
  /** Its own ServiceAccount, without Google identity: the Job talks to the server's REST API only. */
  readonly serviceAccount: string;
  /** Short hash of the spec, computed by the caller (charts/lib/content-hash.ts). */
  readonly hash: (spec: unknown) => string;
}

/** The variable that holds account i's password (the program reads it by this name). */
export const passwordVariable = (i: number) => `PASSWORD_${i}`;

export class MlflowAuthProvisionJob extends Construct {
  constructor(scope: Construct, id: string, props: MlflowAuthProvisionJobProps) {
    super(scope, id);
    const accounts = props.accounts.map((a, i) => ({
      username: a.username,
      secret: a.secret,
      passwordVariable: passwordVariable(i),
      admin: a.admin,
      defaultExperiment: a.defaultExperiment,
    }));
    const container: RestrictedContainer = restrictedContainer({
      name: 'provision',
      image: props.image,
      command: ['python', '-c', mlflowProgram('provision')],
      env: [
        { name: 'MLFLOW_TRACKING_URI', value: props.trackingUri },
        { name: MLFLOW_CA_ENV, value: CA_BUNDLE_FILE },
        ...clientCredentialEnv(props.admin),
        { name: 'PROVISION_ACCOUNTS', value: JSON.stringify(accounts) },
        { name: 'DEFAULT_EXPERIMENT_PERMISSION', value: props.defaultExperimentPermission },
        { name: 'PERSONAL_EXPERIMENT_PREFIX', value: props.personalExperimentPrefix },
        { name: 'PROVISION_ROLES', value: JSON.stringify(props.roles) },
        { name: 'MANAGED_ROLE_PREFIX', value: props.managedRolePrefix },
        ...accounts.map((a): kube.EnvVar => ({
          name: a.passwordVariable,
          valueFrom: { secretKeyRef: { name: a.secret, key: MLFLOW_AUTH_SECRET_KEYS.password } },
        })),
        { name: 'HOME', value: '/tmp' },
        { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
        { name: 'PYTHONUNBUFFERED', value: '1' },
      ],
      resources: PROVISION_RESOURCES,
      // /tmp (64Mi) and its log.
      ephemeralStorage: '128Mi',
      runAsUser: props.runAsUser,
      runAsGroup: props.runAsUser,
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, caBundleMount()],
    });
    const spec: kube.JobSpec = {
      // The server may still be starting (its pods wait for the migration): the program waits for
      // /health for 10 minutes, and the Job retries after that.
      backoffLimit: 4,
      activeDeadlineSeconds: 3600,
      template: {
        metadata: { labels: props.labels },
        spec: restrictedPodSpec({
          restartPolicy: 'Never',
          serviceAccountName: noGoogleIdentityServiceAccount(this, 'service-account', props.serviceAccount, props.labels),
          runAsUser: props.runAsUser,
          runAsGroup: props.runAsUser,
          fsGroup: props.runAsUser,
          containers: [container],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString('64Mi') } }, caBundleVolume(props.caBundleConfigMap)],
        }),
      },
    };
    new kube.KubeJob(this, 'job', {
      metadata: {
        name: `${props.name}-auth-provision-${props.hash(spec)}`,
        labels: props.labels,
        annotations: {
          'mlflow-gke/purpose':
            "Creates MLflow's users and sets their passwords from their Secrets, their personal experiments, the Default experiment's grant and the platform's roles; run it again after rotating a password.",
          [EXTERNAL_SECRETS_ANNOTATION]: [...new Set([props.admin.secret, ...accounts.map((a) => a.secret)])].join(', '),
        },
      },
      spec,
    });

    const tcp = { protocol: 'TCP', port: kube.IntOrString.fromNumber(props.port) };
    new kube.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: `${props.name}-auth-provision-egress`, labels: props.labels },
      spec: {
        podSelector: { matchLabels: props.selector },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: props.serverSelector } }], ports: [tcp] }],
      },
    });
    new kube.KubeNetworkPolicy(this, 'to-server', {
      metadata: { name: `${props.name}-auth-provision-to-server`, labels: props.labels },
      spec: {
        podSelector: { matchLabels: props.serverSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: props.selector } }], ports: [tcp] }],
      },
    });
  }
}

/**
 * Post-deploy verification of the tracking server, rendered to dist/tests/ so that
 * `kubectl apply -f dist` never runs it and `kubectl apply -f dist/tests` does. A Job that uses the
 * server the way a notebook does and fails loudly, plus the two NetworkPolicy holes it needs (they
 * exist only while the test objects are applied).
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../model';
import { imageTag } from '../config/schema/primitives';
import * as kube from '../imports/k8s-1.31';
import { contentHash } from './lib/content-hash';
import { MLFLOW_UID } from './mlflow/workload';
import { appLabels, selectorLabels } from './lib/labels';
import { mlflowProgram } from './mlflow/programs';
import { PlatformChart } from './lib/platform-chart';
import { restrictedContainer, restrictedPodSpec } from './lib/pod';
import { CA_BUNDLE_FILE, caBundleMount, caBundleVolume, MLFLOW_CA_ENV } from './certificates/ca-bundle';
import type { MlflowAccount } from '../model/names';
import { EXTERNAL_SECRETS_ANNOTATION } from '../common/contract';
import { clientCredentialEnv } from './mlflow/auth';

/** The MLflow client needs little: one run, one small artifact. */
const VERIFY_RESOURCES = { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } };

export interface MlflowVerifyChartProps {
  readonly instance: string;
  readonly namespace: string;
  /** The MLflow Deployment/Service name; the Job is `<name>-verify`. */
  readonly name: string;
  readonly port: number;
  /** In-cluster URL of the tracking server (HTTPS). */
  readonly trackingUri: string;
  /** ConfigMap of the namespace's CA bundle (charts/certificates/ca-bundle.ts): the server's certificate is checked against it. */
  readonly caBundleConfigMap: string;
  /** Image with the MLflow client: the server's own image, so client and server versions match. */
  readonly image: string;
  /** The Job's own MLflow account (an ordinary user; the provisioning Job creates it). */
  readonly account: MlflowAccount;
}

export function mlflowVerifyChartProps(model: PlatformModel): MlflowVerifyChartProps {
  const { config, names } = model;
  return {
    instance: config.environment,
    namespace: names.namespaces.platform,
    name: names.mlflow,
    port: names.mlflowPort,
    trackingUri: names.mlflowUrl,
    caBundleConfigMap: names.tls.caBundle,
    image: config.mlflow.image,
    account: names.mlflowAuth.verify,
  };
}

export class MlflowVerifyChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: MlflowVerifyChartProps) {
    super(scope, id, { namespace: props.namespace, instance: props.instance });
    const version = imageTag(props.image);
    const labels = appLabels({ name: props.name, instance: props.instance, component: 'verify', version });
    const self = selectorLabels({ name: props.name, instance: props.instance, component: 'verify' });
    const server = selectorLabels({ name: props.name, instance: props.instance, component: 'server' });
    const tcp = { protocol: 'TCP', port: kube.IntOrString.fromNumber(props.port) };

    // The pod template: the restricted helpers of charts/lib/pod.ts.
    const spec: kube.JobSpec = {
      backoffLimit: 0,
      activeDeadlineSeconds: 900,
      // Gone an hour after it finished, so that `kubectl apply -f dist/tests` can run it again.
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: restrictedPodSpec({
          restartPolicy: 'Never',
          runAsUser: MLFLOW_UID,
          runAsGroup: MLFLOW_UID,
          fsGroup: MLFLOW_UID,
          containers: [
            restrictedContainer({
              name: 'verify',
              image: props.image,
              command: ['python', '-c', mlflowProgram('verify')],
              env: [
                { name: 'MLFLOW_TRACKING_URI', value: props.trackingUri },
                // The MLflow client checks the server's certificate against it (mlflow/utils/rest_utils.py: `verify`).
                { name: MLFLOW_CA_ENV, value: CA_BUNDLE_FILE },
                // Its own account: the client sends it as Basic credentials (mlflow/utils/rest_utils.py).
                ...clientCredentialEnv(props.account),
                { name: 'HOME', value: '/tmp' },
                { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
                { name: 'PYTHONUNBUFFERED', value: '1' },
              ],
              resources: VERIFY_RESOURCES,
              runAsUser: MLFLOW_UID,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, caBundleMount()],
            }),
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: kube.Quantity.fromString('256Mi') } }, caBundleVolume(props.caBundleConfigMap)],
        }),
      },
    };
    new kube.KubeJob(this, 'job', {
      metadata: {
        // A Job's pod template is immutable: a changed check (a new image, say) must be a new Job, or
        // applying dist/tests/ again within the hour the finished one is kept fails. The name carries a
        // hash of the spec, as the migration Job's does; `kubectl apply -o name` prints it.
        name: `${props.name}-verify-${contentHash(spec)}`,
        labels,
        annotations: { [EXTERNAL_SECRETS_ANNOTATION]: props.account.secret },
      },
      spec,
    });

    new kube.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: `${props.name}-verify-egress`, labels },
      spec: { podSelector: { matchLabels: self }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: server } }], ports: [tcp] }] },
    });
    new kube.KubeNetworkPolicy(this, 'server-ingress', {
      metadata: { name: `${props.name}-verify-to-server`, labels },
      spec: { podSelector: { matchLabels: server }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: self } }], ports: [tcp] }] },
    });
  }
}

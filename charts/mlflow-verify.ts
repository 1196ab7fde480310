/**
 * Post-deploy verification of the tracking server, rendered to dist/tests/ so that
 * `kubectl apply -f dist` never runs it and `kubectl apply -f dist/tests` does. A Job that uses the
 * server the way a notebook does and fails loudly, plus the two NetworkPolicy holes it needs (they
 * exist only while the test objects are applied).
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import type { Config } from '../config/schema';
import { imageTag } from '../config/schema/primitives';
import { MLFLOW_UID } from './mlflow';
import { appLabels, selectorLabels } from './lib/labels';
import { VERIFY } from './lib/mlflow-scripts';
import { platformNames } from './lib/names';
import { PlatformChart } from './lib/platform-chart';
import { restrictWorkload } from './lib/security';

export interface MlflowVerifyChartProps {
  readonly instance: string;
  readonly namespace: string;
  /** The MLflow Deployment/Service name; the Job is `<name>-verify`. */
  readonly name: string;
  readonly port: number;
  /** In-cluster URL of the tracking server. */
  readonly trackingUri: string;
  /** Image with the MLflow client: the server's own image, so client and server versions match. */
  readonly image: string;
}

export function mlflowVerifyChartProps(config: Config): MlflowVerifyChartProps {
  const names = platformNames(config);
  return {
    instance: config.environment,
    namespace: names.namespaces.platform,
    name: names.mlflow,
    port: names.mlflowPort,
    trackingUri: names.mlflowUrl,
    image: config.mlflow.image,
  };
}

export class MlflowVerifyChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: MlflowVerifyChartProps) {
    super(scope, id, { namespace: props.namespace, instance: props.instance });
    const version = imageTag(props.image);
    const labels = appLabels({ name: props.name, instance: props.instance, component: 'verify', version });
    const self = selectorLabels({ name: props.name, instance: props.instance, component: 'verify' });
    const server = selectorLabels({ name: props.name, instance: props.instance, component: 'server' });
    const q = (v: string) => k8s.Quantity.fromString(v);
    const tcp = { protocol: 'TCP', port: k8s.IntOrString.fromNumber(props.port) };

    const job = new k8s.KubeJob(this, 'job', {
      metadata: { name: `${props.name}-verify`, labels },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 900,
        // Gone an hour after it finished, so that `kubectl apply -f dist/tests` can run it again.
        ttlSecondsAfterFinished: 3600,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: MLFLOW_UID, runAsGroup: MLFLOW_UID, fsGroup: MLFLOW_UID, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'verify',
                image: props.image,
                command: ['python', '-c', VERIFY],
                env: [
                  { name: 'MLFLOW_TRACKING_URI', value: props.trackingUri },
                  { name: 'HOME', value: '/tmp' },
                  { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
                  { name: 'PYTHONUNBUFFERED', value: '1' },
                ],
                resources: { requests: { cpu: q('100m'), memory: q('256Mi') }, limits: { cpu: q('1'), memory: q('1Gi') } },
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: MLFLOW_UID,
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: q('256Mi') } }],
          },
        },
      },
    });
    restrictWorkload(job);

    new k8s.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: `${props.name}-verify-egress`, labels },
      spec: { podSelector: { matchLabels: self }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: server } }], ports: [tcp] }] },
    });
    new k8s.KubeNetworkPolicy(this, 'server-ingress', {
      metadata: { name: `${props.name}-verify-to-server`, labels },
      spec: { podSelector: { matchLabels: server }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: self } }], ports: [tcp] }] },
    });
  }
}

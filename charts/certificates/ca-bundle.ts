/**
 * The platform CA, handed to the clients of the platform's namespaces as a certificate and nothing
 * else: one trust-manager Bundle (cluster-scoped) copies the CA certificate out of the CA's Secret in
 * cert-manager's namespace into a ConfigMap of the Bundle's name in every client namespace, and
 * keeps it current when the CA certificate is renewed. No client namespace holds a private key for
 * the bundle (a cert-manager Certificate would leave one in its Secret), and nobody copies the CA
 * into config.
 *
 * trust-manager v0.24.0 (deploy/charts/trust-manager, the release the platform installs; see
 * TRUST_MANAGER_VERSION): API `trust.cert-manager.io/v1alpha1`, kind `Bundle`, cluster-scoped
 * (pkg/apis/trust/v1alpha1/types_bundle.go: `+kubebuilder:resource:scope=Cluster`). Fields used, from
 * that file: `spec.sources[].secret` {name, key}, read in the trust namespace (the chart's
 * `app.trust.namespace`, default `cert-manager`: cert-manager's namespace, where the CA's Secret is);
 * `spec.target.configMap.key` and `spec.target.secret.key`; `spec.target.namespaceSelector`, a
 * LabelSelector. The target objects are named after the Bundle (pkg/bundle/bundle.go, target
 * Name: bundle.Name).
 *
 * Two targets. The ConfigMap is what pods mount (caBundleVolume): MLflow clients, Jobs, the
 * verification. The Secret exists for the managed Prometheus collector alone: a PodMonitoring takes a
 * CA from a Secret only (prometheus-engine v0.17.2 CRD: endpoints[].tls.ca has `secret` and nothing
 * else). Both hold the CA certificate under `ca.crt`, so a client's file path stays CA_BUNDLE_FILE.
 * trust-manager writes a Secret only when installed with `secretTargets.enabled` and the Secret's name
 * in `secretTargets.authorizedSecrets` (chart values.yaml, templates/_helpers.tpl): the install
 * (synth/runbook/runbook.ts) sets both, and `app.targetNamespaces` to the client namespaces, so its
 * Roles stay in those namespaces and cert-manager's.
 *
 * For a namespace of its own, a chart adds the namespace to the Bundle's targets (certificatesChartProps),
 * mounts `caBundleVolume()` at `CA_BUNDLE_DIR` and points its clients at `CA_BUNDLE_FILE` (MLflow:
 * MLFLOW_TRACKING_SERVER_CERT_PATH, libpq: sslrootcert or PGSSLROOTCERT).
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { PlatformModel } from '../../model';
import type { Config } from '../../config/schema';
import { certManagerDuration } from '../../config/schema/tls';
import type * as kube from '../../imports/k8s-1.31';
import { appLabels } from '../lib/labels';
import type { CertificateLifetime } from './issuer';

/** Where pods mount the CA bundle, and the file clients read. */
export const CA_BUNDLE_DIR = '/etc/platform-ca';
/** The key of the bundle's ConfigMap and Secret that holds the CA certificate. */
export const CA_BUNDLE_KEY = 'ca.crt';
export const CA_BUNDLE_FILE = `${CA_BUNDLE_DIR}/${CA_BUNDLE_KEY}`;
/** Name of the pod volume that holds the CA bundle. */
const CA_BUNDLE_VOLUME = 'platform-ca';
/**
 * MLflow's client variable for the CA file: mlflow/utils/rest_utils.py http_request passes it to
 * requests as `verify` (mlflow/environment_variables.py: "Sets the verify param in requests.request").
 * Not REQUESTS_CA_BUNDLE or SSL_CERT_FILE: those would replace the system trust store of every
 * other HTTPS client in the pod (pip, uv, the Google client libraries).
 */
export const MLFLOW_CA_ENV = 'MLFLOW_TRACKING_SERVER_CERT_PATH';

/** trust-manager's Bundle: group, version and kind (trust-manager v0.24.0 pkg/apis/trust/v1alpha1). */
export const TRUST_BUNDLE_GVK = { apiVersion: 'trust.cert-manager.io/v1alpha1', kind: 'Bundle' } as const;

/**
 * The label the API server sets on every namespace to its name (Kubernetes "Well-Known Labels,
 * Annotations and Taints": kubernetes.io/metadata.name, set by the control plane since 1.21 and
 * immutable): selecting by it needs no label of the platform's own on the namespaces.
 */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface CaBundleProps {
  /** Name of the Bundle, and of the ConfigMap and Secret it writes in each target namespace. */
  readonly name: string;
  /** The namespaces whose clients get the CA, sorted. */
  readonly namespaces: readonly string[];
  readonly labels: Record<string, string>;
  /** The CA's Secret in cert-manager's namespace (trust-manager's trust namespace). */
  readonly caSecret: string;
}

/** The Certificates' lifetime from the config, in cert-manager's form. */
export function certificateLifetime(config: Config): CertificateLifetime {
  return { duration: certManagerDuration(config.tls.certificateLifetime), renewBefore: certManagerDuration(config.tls.renewBefore) };
}

export function caBundleProps(model: PlatformModel, namespaces: readonly string[]): CaBundleProps {
  const { config, names } = model;
  return {
    name: names.tls.caBundle,
    namespaces: [...new Set(namespaces)].sort(),
    labels: appLabels({ name: names.tls.caBundle, instance: config.environment, component: 'tls' }),
    caSecret: names.tls.ca,
  };
}

export class CaBundle extends Construct {
  /** The ConfigMap (and Secret) trust-manager writes in every target namespace. */
  public readonly configMapName: string;

  constructor(scope: Construct, id: string, props: CaBundleProps) {
    super(scope, id);
    if (props.namespaces.length === 0) throw new Error(`CaBundle ${props.name}: no target namespace`);
    this.configMapName = props.name;
    new ApiObject(this, 'bundle', {
      ...TRUST_BUNDLE_GVK,
      metadata: { name: props.name, labels: props.labels },
      spec: {
        // tls.crt of the CA's Secret is the CA certificate itself (a self-signed CA: cert-manager
        // writes the same certificate as ca.crt). Never tls.key: trust-manager copies the key named.
        sources: [{ secret: { name: props.caSecret, key: 'tls.crt' } }],
        target: {
          configMap: { key: CA_BUNDLE_KEY },
          secret: { key: CA_BUNDLE_KEY },
          namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...props.namespaces] }] },
        },
      },
    });
  }
}

/** The pod volume with the CA bundle ConfigMap's `ca.crt` only, world-readable: it is public. */
export function caBundleVolume(configMapName: string): kube.Volume {
  return { name: CA_BUNDLE_VOLUME, configMap: { name: configMapName, items: [{ key: CA_BUNDLE_KEY, path: CA_BUNDLE_KEY }], defaultMode: 0o444 } };
}

export function caBundleMount(): kube.VolumeMount {
  return { name: CA_BUNDLE_VOLUME, mountPath: CA_BUNDLE_DIR, readOnly: true };
}

/**
 * The platform CA, handed to the clients of one namespace: a Certificate from the CA ClusterIssuer
 * whose Secret carries the CA as `ca.crt` (cert-manager fills `ca.crt` with the issuing CA,
 * cert-manager v1.21.1 pkg/controller/certificaterequests/ca/ca.go: IssueResponse.CA), renewed like
 * any other, so a namespace never holds a copy of the CA's key and nobody copies the CA into config.
 * Pods mount only the `ca.crt` key (caBundleVolume): the bundle's own key never reaches a pod.
 *
 * This is the one way a client namespace gets the CA. For a namespace of its own, a chart renders
 * `new CaBundle(...)` with `caBundleProps(config, namespace)`, mounts `caBundleVolume()` at
 * `CA_BUNDLE_DIR` and points its clients at `CA_BUNDLE_FILE` (MLflow: MLFLOW_TRACKING_SERVER_CERT_PATH,
 * libpq: sslrootcert or PGSSLROOTCERT). The certificates chart already renders one in the platform
 * and the workspaces namespaces.
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../../model';
import type { Config } from '../../config/schema';
import { certManagerDuration } from '../../config/schema/tls';
import { Certificate, CertificateSpecUsages } from '../../imports/cert-manager.io';
import type * as kube from '../../imports/k8s-1.31';
import { appLabels } from '../lib/labels';
import { CertificateLifetime, clusterIssuerRef, LEAF_KEY } from './issuer';

/** Where pods mount the CA bundle, and the file clients read. */
export const CA_BUNDLE_DIR = '/etc/platform-ca';
export const CA_BUNDLE_FILE = `${CA_BUNDLE_DIR}/ca.crt`;
/** Name of the pod volume that holds the CA bundle. */
const CA_BUNDLE_VOLUME = 'platform-ca';
/**
 * MLflow's client variable for the CA file: mlflow/utils/rest_utils.py http_request passes it to
 * requests as `verify` (mlflow/environment_variables.py: "Sets the verify param in requests.request").
 * Not REQUESTS_CA_BUNDLE or SSL_CERT_FILE: those would replace the system trust store of every
 * other HTTPS client in the pod (pip, uv, the Google client libraries).
 */
export const MLFLOW_CA_ENV = 'MLFLOW_TRACKING_SERVER_CERT_PATH';

export interface CaBundleProps {
  /** Name of the Certificate and its Secret. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly caIssuer: string;
  readonly lifetime: CertificateLifetime;
}

/** The Certificates' lifetime from the config, in cert-manager's form. */
export function certificateLifetime(config: Config): CertificateLifetime {
  return { duration: certManagerDuration(config.tls.certificateLifetime), renewBefore: certManagerDuration(config.tls.renewBefore) };
}

export function caBundleProps(model: PlatformModel, namespace: string): CaBundleProps {
  const { config, names } = model;
  return {
    name: names.tls.caBundle,
    namespace,
    labels: appLabels({ name: names.tls.caBundle, instance: config.environment, component: 'tls' }),
    caIssuer: names.tls.caIssuer,
    lifetime: certificateLifetime(config),
  };
}

export class CaBundle extends Construct {
  public readonly secretName: string;

  constructor(scope: Construct, id: string, props: CaBundleProps) {
    super(scope, id);
    this.secretName = props.name;
    new Certificate(this, 'certificate', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        secretName: props.name,
        // A Certificate needs a subject; this one is never presented to anybody.
        commonName: `${props.name}.${props.namespace}`,
        usages: [CertificateSpecUsages.DIGITAL_SIGNATURE],
        duration: props.lifetime.duration,
        renewBefore: props.lifetime.renewBefore,
        privateKey: LEAF_KEY,
        issuerRef: clusterIssuerRef(props.caIssuer),
      },
    });
  }
}

/** The pod volume with the CA bundle's `ca.crt` only, world-readable: it is public. */
export function caBundleVolume(secretName: string): kube.Volume {
  return { name: CA_BUNDLE_VOLUME, secret: { secretName, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } };
}

export function caBundleMount(): kube.VolumeMount {
  return { name: CA_BUNDLE_VOLUME, mountPath: CA_BUNDLE_DIR, readOnly: true };
}

/**
 * One HTTPS entry: the GKE Ingress of one namespace with its global address, managed
 * certificate(s), FrontendConfig (HTTP to HTTPS redirect, SSL policy) and one BackendConfig per
 * Service (IAP, health check, timeouts, draining, logging, Cloud Armor). A GKE Ingress routes only
 * to Services of its own namespace, so every namespace with apps gets its own entry.
 */
import { Construct } from 'constructs';
import { EXTERNAL_SECRETS_ANNOTATION } from '../../common/contract';
import * as kube from '../../imports/k8s-1.31';
import { BackendConfig, BackendConfigProps, BackendConfigSpecIap } from '../../imports/cloud.google.com';
import { FrontendConfig, ManagedCertificate } from '../../imports/networking.gke.io';
import { appLabels } from '../lib/labels';
import { appProtocolsAnnotation, BACKEND_CONFIG_ANNOTATION, backendConfigName, BackendProtocol, NEG_ANNOTATION } from './annotations';
import { EdgeApp, MAX_CERT_DOMAINS, MAX_CERTS_PER_INGRESS } from '../../model/edge-sites';

export interface EdgeBackend {
  readonly app: EdgeApp;
  /** Service the host routes to; its BackendConfig is named after it. */
  readonly service: string;
  /** Service port the Ingress names. */
  readonly port: number;
  readonly host: string;
  /** Path answering HTTP 200 without login: the load balancer's health check. */
  readonly healthPath: string;
  /**
   * What the app's port speaks, and so the load balancer's protocol to it and its health checks.
   * HTTPS is encrypted, but Google's load balancer checks no backend certificate.
   * @default 'HTTP'
   */
  readonly protocol?: BackendProtocol;
  /** Backend timeout; for websockets it is also their longest life. */
  readonly timeoutSec: number;
  /**
   * Serve the health path without IAP through a Service of its own (the uptime check cannot sign in).
   * @default - the health path is behind IAP like everything else
   */
  readonly publicHealth?: PublicHealth;
}

/** A second Service in front of the same pods, whose backend answers only the health path, without IAP. */
export interface PublicHealth {
  /** Name of the Service and its BackendConfig. */
  readonly service: string;
  /** Selector of the serving pods (the app's own Service selector). */
  readonly selector: Record<string, string>;
  /** Named container port the app's Service targets; also the name of this Service's port. */
  readonly targetPort: string;
}

export interface EdgeEntryProps {
  /** Environment name (instance label). */
  readonly instance: string;
  readonly namespace: string;
  /** Name of the Ingress, its FrontendConfig and (first) ManagedCertificate. */
  readonly name: string;
  /** Name of the reserved global address (ComputeAddress of the gcp chart). */
  readonly globalAddress: string;
  /** Name of the Compute SSL policy (gcp chart). */
  readonly sslPolicy: string;
  readonly backends: readonly EdgeBackend[];
  /**
   * Secret with a custom OAuth client for IAP (keys client_id, client_secret), in this namespace.
   * @default - the Google-managed OAuth client
   */
  readonly oauthClientSecret?: string;
  /**
   * Cloud Armor security policy attached to every backend.
   * @default - none
   */
  readonly securityPolicy?: string;
  readonly drainingSec: number;
  readonly logSampleRate: number;
  /** The Strict-Transport-Security header every backend's responses carry (hstsHeader). */
  readonly hsts: Hsts;
}

/** HTTP Strict Transport Security (RFC 6797 section 6.1): how long, and whether for subdomains too. */
export interface Hsts {
  /** max-age in seconds; 0 makes browsers forget the host (RFC 6797 section 6.1.1). */
  readonly maxAgeSeconds: number;
  readonly includeSubDomains: boolean;
}

/**
 * The BackendConfig entry for HSTS. BackendConfig `spec.customResponseHeaders.headers` is a list of
 * strings (kubernetes/ingress-gce v1.41.1 pkg/apis/backendconfig/v1/types.go, CustomResponseHeadersConfig),
 * each `header-name:header-value`: the load balancer sets them on the responses it returns
 * (cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration, "Custom response headers",
 * GA from GKE 1.25; cloud.google.com/load-balancing/docs/https/custom-headers-global). Only HTTPS
 * responses carry it: the HTTP port answers with the FrontendConfig's redirect, and browsers ignore
 * the header over plain HTTP anyway (RFC 6797 section 8.1).
 */
export function hstsHeader(hsts: Hsts): string {
  if (!Number.isInteger(hsts.maxAgeSeconds) || hsts.maxAgeSeconds < 0)
    throw new Error(`hstsHeader: max-age ${hsts.maxAgeSeconds} is not a whole number of seconds`);
  return `Strict-Transport-Security: max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
}

/**
 * A BackendConfig with `spec.customResponseHeaders`. The imported types come from the same
 * out-of-date CRD copy as the schema (__tests__/support/schema-exceptions.ts) and lack the field;
 * their toJson rebuilds the object from the known fields after any JSON patch, so the field is added
 * to what it returns.
 */
class BackendConfigWithHeaders extends BackendConfig {
  constructor(
    scope: Construct,
    id: string,
    private readonly responseHeaders: readonly string[],
    props: BackendConfigProps,
  ) {
    super(scope, id, props);
  }

  public override toJson(): Record<string, unknown> {
    const json = super.toJson() as { spec: Record<string, unknown> };
    return { ...json, spec: { ...json.spec, customResponseHeaders: { headers: [...this.responseHeaders] } } };
  }
}

export class EdgeEntry extends Construct {
  /** Names of the ManagedCertificates, in the order the Ingress annotation lists them. */
  public readonly certificates: string[];

  constructor(scope: Construct, id: string, props: EdgeEntryProps) {
    super(scope, id);
    const { namespace } = props;
    const labels = appLabels({ name: props.name, instance: props.instance, component: 'edge' });

    new FrontendConfig(this, 'frontend-config', {
      metadata: { name: props.name, namespace, labels },
      spec: {
        redirectToHttps: { enabled: true, responseCodeName: 'MOVED_PERMANENTLY_DEFAULT' },
        sslPolicy: props.sslPolicy,
      },
    });

    const hosts = props.backends.map((b) => b.host).sort();
    const chunks: string[][] = [];
    for (let i = 0; i < hosts.length; i += MAX_CERT_DOMAINS) chunks.push(hosts.slice(i, i + MAX_CERT_DOMAINS));
    if (chunks.length > MAX_CERTS_PER_INGRESS)
      // The config rules refuse such configs (model/edge-sites.ts, edgeProblems): an invariant here.
      throw new Error(`EdgeEntry ${props.name}: ${hosts.length} hosts exceed ${MAX_CERTS_PER_INGRESS} certificates of ${MAX_CERT_DOMAINS} names`);
    this.certificates = chunks.map((domains, i) => {
      const name = i === 0 ? props.name : `${props.name}-${i + 1}`;
      new ManagedCertificate(this, `certificate-${i + 1}`, { metadata: { name, namespace, labels }, spec: { domains } });
      return name;
    });

    const backendSpec = (backend: EdgeBackend, timeoutSec: number) => ({
      healthCheck: {
        // BackendConfig healthCheck.type (kubernetes/ingress-gce @acbcf5d pkg/apis/backendconfig/v1/types.go):
        // the protocol of the health check, which must match what the port serves.
        type: backend.protocol ?? 'HTTP',
        requestPath: backend.healthPath,
        checkIntervalSec: 15,
        timeoutSec: 5,
        healthyThreshold: 1,
        unhealthyThreshold: 3,
      },
      timeoutSec,
      connectionDraining: { drainingTimeoutSec: props.drainingSec },
      logging: { enable: props.logSampleRate > 0, ...(props.logSampleRate > 0 ? { sampleRate: props.logSampleRate } : {}) },
      ...(props.securityPolicy ? { securityPolicy: { name: props.securityPolicy } } : {}),
    });

    const responseHeaders = [hstsHeader(props.hsts)];
    for (const backend of props.backends) {
      // The CRD copy in shared/schemas still requires oauthclientCredentials; ingress-gce does not
      // (Google-managed OAuth client), see __tests__/support/schema-exceptions.ts.
      const iap = (
        props.oauthClientSecret ? { enabled: true, oauthclientCredentials: { secretName: props.oauthClientSecret } } : { enabled: true }
      ) as BackendConfigSpecIap;
      new BackendConfigWithHeaders(this, `backend-${backend.service}`, responseHeaders, {
        metadata: {
          name: backendConfigName(backend.service),
          namespace,
          labels: appLabels({ name: backend.service, instance: props.instance, component: 'edge' }),
          annotations: props.oauthClientSecret ? { [EXTERNAL_SECRETS_ANNOTATION]: props.oauthClientSecret } : undefined,
        },
        spec: { iap, ...backendSpec(backend, backend.timeoutSec) },
      });
      const health = backend.publicHealth;
      if (health) {
        const healthLabels = appLabels({ name: backend.service, instance: props.instance, component: 'edge' });
        new kube.KubeService(this, `health-${backend.service}`, {
          metadata: {
            name: health.service,
            namespace,
            labels: healthLabels,
            annotations: {
              [NEG_ANNOTATION]: '{"ingress": true}',
              [BACKEND_CONFIG_ANNOTATION]: JSON.stringify({ default: backendConfigName(health.service) }),
              ...(backend.protocol === 'HTTPS' ? appProtocolsAnnotation({ port: health.targetPort, protocol: 'HTTPS' }) : {}),
            },
          },
          spec: {
            type: 'ClusterIP',
            selector: health.selector,
            ports: [{ name: health.targetPort, port: backend.port, targetPort: kube.IntOrString.fromString(health.targetPort), protocol: 'TCP' }],
          },
        });
        // IAP stated off: this backend serves the health path alone, which the Ingress routes by exact match.
        new BackendConfigWithHeaders(this, `backend-${health.service}`, responseHeaders, {
          metadata: { name: backendConfigName(health.service), namespace, labels: healthLabels },
          spec: { iap: { enabled: false } as BackendConfigSpecIap, ...backendSpec(backend, 30) },
        });
      }
    }

    new kube.KubeIngress(this, 'ingress', {
      metadata: {
        name: props.name,
        namespace,
        labels,
        annotations: {
          // The class annotation, not spec.ingressClassName: ingress-gce skips an Ingress that only names a class.
          'kubernetes.io/ingress.class': 'gce',
          'kubernetes.io/ingress.global-static-ip-name': props.globalAddress,
          'networking.gke.io/managed-certificates': this.certificates.join(','),
          'networking.gke.io/v1beta1.FrontendConfig': props.name,
        },
      },
      spec: {
        rules: [...props.backends]
          .sort((a, b) => a.host.localeCompare(b.host))
          .map((b) => ({
            host: b.host,
            http: {
              paths: [
                ...(b.publicHealth
                  ? [{ path: b.healthPath, pathType: 'Exact', backend: { service: { name: b.publicHealth.service, port: { number: b.port } } } }]
                  : []),
                { path: '/', pathType: 'Prefix', backend: { service: { name: b.service, port: { number: b.port } } } },
              ],
            },
          })),
      },
    });
  }
}

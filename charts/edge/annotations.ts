/**
 * The annotations that attach a Service to the HTTPS edge. The MLflow and workspaces charts put them
 * on their Services, the edge chart renders the BackendConfig they name: both take the name from here,
 * and both follow `edge.enabled`, so no Service names a BackendConfig that is not rendered.
 */
import type { Config } from '../../config/schema';

export const NEG_ANNOTATION = 'cloud.google.com/neg';
export const BACKEND_CONFIG_ANNOTATION = 'cloud.google.com/backend-config';
/**
 * The protocol the load balancer speaks to a Service port: "a stringified JSON map of port names to
 * protocol strings. Possible values are HTTP, HTTPS and HTTP2" (kubernetes/ingress-gce @acbcf5d,
 * pkg/annotations/service.go; the older service.alpha.kubernetes.io/app-protocols is read first when
 * present, so it is never set). HTTPS, not HTTP2: uvicorn serves HTTP/1.1 only.
 */
const APP_PROTOCOLS_ANNOTATION = 'cloud.google.com/app-protocols';

export type BackendProtocol = 'HTTP' | 'HTTPS';

/** A Service port the load balancer reaches over TLS. */
export interface TlsBackendPort {
  /** Name of the Service port. */
  readonly port: string;
  readonly protocol: 'HTTPS';
}

/** The app-protocols annotation of one TLS port. */
export function appProtocolsAnnotation(backend: TlsBackendPort): Record<string, string> {
  return { [APP_PROTOCOLS_ANNOTATION]: JSON.stringify({ [backend.port]: backend.protocol }) };
}

/** Name of the BackendConfig of a Service: one per Service, named after it. */
export function backendConfigName(service: string): string {
  return service;
}

/**
 * Annotations of a Service that the edge routes to: container-native load balancing (NEG), its
 * BackendConfig and, for a port that serves TLS, the protocol the load balancer must speak to it.
 * Empty while `edge.enabled` is false.
 */
export function edgeServiceAnnotations(config: Config, service: string, tls?: TlsBackendPort): Record<string, string> {
  if (!config.edge.enabled) return {};
  return {
    [NEG_ANNOTATION]: '{"ingress": true}',
    [BACKEND_CONFIG_ANNOTATION]: JSON.stringify({ default: backendConfigName(service) }),
    ...(tls ? appProtocolsAnnotation(tls) : {}),
  };
}

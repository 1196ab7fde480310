/**
 * The annotations that attach a Service to the HTTPS edge. The MLflow and workspaces charts put them
 * on their Services, the edge chart renders the BackendConfig they name: both take the name from here,
 * and both follow `edge.enabled`, so no Service names a BackendConfig that is not rendered.
 */
import type { Config } from '../../config/schema';

export const NEG_ANNOTATION = 'cloud.google.com/neg';
export const BACKEND_CONFIG_ANNOTATION = 'cloud.google.com/backend-config';

/** Name of the BackendConfig of a Service: one per Service, named after it. */
export function backendConfigName(service: string): string {
  return service;
}

/**
 * Annotations of a Service that the edge routes to: container-native load balancing (NEG) and its
 * BackendConfig. Empty while `edge.enabled` is false.
 */
export function edgeServiceAnnotations(config: Config, service: string): Record<string, string> {
  if (!config.edge.enabled) return {};
  return {
    [NEG_ANNOTATION]: '{"ingress": true}',
    [BACKEND_CONFIG_ANNOTATION]: JSON.stringify({ default: backendConfigName(service) }),
  };
}

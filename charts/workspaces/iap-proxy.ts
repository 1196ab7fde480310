/**
 * The verifying proxy of a workspace pod while the edge is on (charts/workspaces/iap_proxy.py): a
 * native sidecar on the MLflow image, serving HTTPS with the workspace's certificate on PROXY_PORT,
 * which the Service and the load balancer reach, and passing to the app on 127.0.0.1 only requests
 * that carry IAP's token for this workspace (its backend service once pinned, its user's email for a
 * per-user instance), plus the health path. It runs iap_verify.py's part followed by its own as one
 * file, IAP_PROXY_FILE, which the app's shared ConfigMap holds once for all its instances
 * (charts/lib/workspace-shared-files.ts; its content hash is on every pod template, so a changed
 * program rolls the pods).
 */
import type { Resources } from '../../config/schema/primitives';
import * as k8s from '../../imports/k8s-1.31';
import { RestrictedContainer, restrictedContainer } from '../lib/pod';
import { programPart } from '../mlflow/programs';
import { IAP_KEYS_URL } from '../../common/contract';
import { MLFLOW_UID } from '../mlflow/workload';

/** The proxy's port in the pod: the Service's target, the NetworkPolicy's, the probes'. */
export const PROXY_PORT = 8443;
export const PROXY_CONTAINER = 'iap-proxy';
const TOKEN_CHECK = 'charts/mlflow/iap_verify.py';
/**
 * The proxy's share of the pod: one Python process that checks a signature per request and copies
 * bytes. A fixed size rather than another config field; the app's resources stay the app's.
 */
export const IAP_PROXY_RESOURCES: Resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } };
const PROXY = 'charts/workspaces/iap_proxy.py';
/** The program's file name among the shared files. */
export const IAP_PROXY_FILE = 'iap_proxy.py';

/** The program the sidecar runs: the token check, then the proxy. */
export function iapProxyProgram(): string {
  return `${programPart(TOKEN_CHECK)}\n${programPart(PROXY)}`;
}

/** The proxy's share of the app's shared files, by file name. */
export function iapProxyFiles(): Record<string, string> {
  return { [IAP_PROXY_FILE]: iapProxyProgram() };
}

export interface IapProxyOptions {
  /** The MLflow image: Python, google-auth and h11. */
  readonly image: string;
  readonly resources: Resources;
  /** The app's port on 127.0.0.1. */
  readonly upstreamPort: number;
  /** The one path answered without a token (GET, exact). */
  readonly healthPath: string;
  readonly projectNumber: string;
  /** The workspace's backend service id, once pinned. @default - any backend service of the project */
  readonly backendServiceId?: string;
  /** The email every token must carry (a per-user instance). @default - any member IAP admits */
  readonly user?: string;
  /** Where the workspace's certificate (`tls.crt`, `tls.key`) is mounted. */
  readonly tlsDir: string;
  /** Where the shared files, with IAP_PROXY_FILE, are mounted. */
  readonly programDir: string;
  /** Mounts of the certificate volume and the shared files. */
  readonly volumeMounts: k8s.VolumeMount[];
}

/** The sidecar container, for `restrictedPodSpec({ sidecars })`: the app starts once the proxy listens. */
export function iapProxyContainer(o: IapProxyOptions): RestrictedContainer {
  const env: k8s.EnvVar[] = [
    { name: 'PROXY_PORT', value: String(PROXY_PORT) },
    { name: 'UPSTREAM_PORT', value: String(o.upstreamPort) },
    { name: 'HEALTH_PATH', value: o.healthPath },
    { name: 'IAP_PROJECT_NUMBER', value: o.projectNumber },
    ...(o.backendServiceId ? [{ name: 'IAP_BACKEND_SERVICE_ID', value: o.backendServiceId }] : []),
    ...(o.user ? [{ name: 'WORKSPACE_USER', value: o.user }] : []),
    { name: 'IAP_KEYS_URL', value: IAP_KEYS_URL },
    { name: 'TLS_CERT_FILE', value: `${o.tlsDir}/tls.crt` },
    { name: 'TLS_KEY_FILE', value: `${o.tlsDir}/tls.key` },
    { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
    { name: 'PYTHONUNBUFFERED', value: '1' },
  ];
  return restrictedContainer({
    name: PROXY_CONTAINER,
    image: o.image,
    command: ['python', `${o.programDir}/${IAP_PROXY_FILE}`],
    env,
    ports: [{ name: 'https', containerPort: PROXY_PORT, protocol: 'TCP' }],
    // The kubelet starts the app once the proxy accepts connections.
    startupProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(PROXY_PORT) }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 60 },
    livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(PROXY_PORT) }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 5 },
    resources: o.resources,
    runAsUser: MLFLOW_UID,
    runAsGroup: MLFLOW_UID,
    volumeMounts: o.volumeMounts,
  });
}

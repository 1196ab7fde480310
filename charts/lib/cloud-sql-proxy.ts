/**
 * The Cloud SQL Auth Proxy (v2) as a native sidecar: an init container with `restartPolicy: Always`
 * (charts/lib/pod.ts), which the kubelet starts, and waits for through its startup probe, before the
 * pod's other init containers and its app, and stops only after the app has exited. Jobs therefore
 * end by themselves and a server never loses its database while it drains.
 *
 * A flag the running proxy does not know makes it exit with "unknown flag" and the pod crash-loops,
 * so every flag is emitted only when the configured image version has it: PROXY_FLAGS is the one
 * table of which version introduced which flag. The config schema validates extra flags against the
 * same table.
 */
import type { Resources } from '../../config/schema/primitives';
import * as k8s from '../../imports/k8s-1.31';
import { RestrictedContainer, restrictedContainer } from './pod';
import { extraArgProblem, formatVersion, proxySupports, Version } from '../../common/cloud-sql-proxy-flags';
import { PORTS } from '../../common/contract';

/** Fixed ports inside the pod. */
export const PROXY_HTTP_PORT = 9801;

export interface ProxyArgsOptions {
  /** project:region:instance. */
  readonly connectionName: string;
  readonly version: Version;
  /** How long the proxy keeps serving open connections after SIGTERM. */
  readonly maxSigtermDelaySeconds: number;
  /**
   * Log in with the pod's Workload Identity (IAM database authentication). Off for a client that
   * logs in with a database password: the flag makes every connection an IAM login.
   * @default true
   */
  readonly autoIamAuthn?: boolean;
  /** Validated extra flags. @default [] */
  readonly extraArgs?: readonly string[];
}

/** The proxy's arguments for the configured version: 2.0.0 never receives a flag it does not know. */
export function cloudSqlProxyArgs(o: ProxyArgsOptions): string[] {
  const args = [
    o.connectionName,
    `--address=127.0.0.1`,
    `--port=${PORTS.postgres}`,
    '--private-ip',
    ...(o.autoIamAuthn === false ? [] : ['--auto-iam-authn']),
    '--structured-logs',
    '--health-check',
    '--http-address=0.0.0.0',
    `--http-port=${PROXY_HTTP_PORT}`,
    '--prometheus',
    `--max-sigterm-delay=${o.maxSigtermDelaySeconds}s`,
  ];
  if (proxySupports(o.version, '--exit-zero-on-sigterm')) args.push('--exit-zero-on-sigterm');
  for (const extra of o.extraArgs ?? []) {
    const problem = extraArgProblem(o.version, extra);
    // The schema validates extra flags against the same table: an invariant here.
    if (problem) throw new Error(`cloudSqlProxyArgs: extra flag "${extra}" ${problem}`);
    args.push(extra);
  }
  for (const arg of args.slice(1)) if (!proxySupports(o.version, arg)) throw new Error(`cloud-sql-proxy ${formatVersion(o.version)} lacks ${arg}`);
  return args;
}

export interface ProxyContainerOptions extends ProxyArgsOptions {
  readonly image: string;
  readonly resources: Resources;
}

/** The distroless image's own nonroot user and group. */
const PROXY_UID = 65532;

/**
 * The sidecar container, for `restrictedPodSpec({ sidecars })`. Its startup probe is what the kubelet
 * waits for before it starts the next container, so nothing in the pod talks to the database before
 * the proxy listens. Liveness on the health server; no readiness probe (a database maintenance window
 * would otherwise take every MLflow pod out of its Service).
 */
export function cloudSqlProxyContainer(o: ProxyContainerOptions): RestrictedContainer {
  return restrictedContainer({
    name: 'cloud-sql-proxy',
    image: o.image,
    args: cloudSqlProxyArgs(o),
    ports: [{ name: 'proxy-metrics', containerPort: PROXY_HTTP_PORT, protocol: 'TCP' }],
    startupProbe: {
      httpGet: { path: '/startup', port: k8s.IntOrString.fromNumber(PROXY_HTTP_PORT) },
      periodSeconds: 1,
      timeoutSeconds: 1,
      failureThreshold: 60,
    },
    // Certificates refresh from five minutes before expiry; be patient before restarting.
    livenessProbe: {
      httpGet: { path: '/liveness', port: k8s.IntOrString.fromNumber(PROXY_HTTP_PORT) },
      periodSeconds: 60,
      timeoutSeconds: 30,
      failureThreshold: 5,
    },
    resources: o.resources,
    runAsUser: PROXY_UID,
    runAsGroup: PROXY_UID,
  });
}

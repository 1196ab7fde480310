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

/**
 * A proxy flag and the first release that accepts it. Every `since` was read from the flag
 * definitions in GoogleCloudPlatform/cloud-sql-proxy `cmd/root.go` at each release tag
 * (`git show v2.0.0:cmd/root.go`, `v2.1.0`, ... `v2.12.0`), not from the CHANGELOG.
 */
export interface ProxyFlag {
  readonly flag: string;
  readonly since: string;
  /** Set by the chart itself, or kept out of the pod on purpose: refused as an extra flag. */
  readonly managed?: boolean;
  readonly note: string;
}

export const PROXY_FLAGS: readonly ProxyFlag[] = [
  { flag: '--port', since: '2.0.0', managed: true, note: 'local listener port' },
  { flag: '--address', since: '2.0.0', managed: true, note: 'local listener address (127.0.0.1)' },
  { flag: '--private-ip', since: '2.0.0', managed: true, note: 'connect over the VPC' },
  { flag: '--auto-iam-authn', since: '2.0.0', managed: true, note: 'IAM database login, no password' },
  { flag: '--structured-logs', since: '2.0.0', managed: true, note: 'JSON logs for Cloud Logging' },
  { flag: '--health-check', since: '2.0.0', managed: true, note: '/startup, /liveness, /readiness' },
  { flag: '--http-address', since: '2.0.0', managed: true, note: 'health and metrics server address' },
  { flag: '--http-port', since: '2.0.0', managed: true, note: 'health and metrics server port' },
  { flag: '--prometheus', since: '2.0.0', managed: true, note: '/metrics on the HTTP server' },
  { flag: '--max-sigterm-delay', since: '2.0.0', managed: true, note: 'wait for open connections after SIGTERM' },
  // v2.0.0 has no --quitquitquit (its admin server serves only pprof, behind --debug): 2.1.0 added it.
  // Never emitted: a native sidecar is stopped by the kubelet, and an endpoint that ends the proxy would
  // let anything in the pod cut the database away.
  { flag: '--quitquitquit', since: '2.1.0', managed: true, note: 'POST /quitquitquit on the admin port ends the proxy (not used)' },
  { flag: '--admin-port', since: '2.0.0', managed: true, note: 'admin server port (not used)' },
  { flag: '--max-connections', since: '2.0.0', note: 'limit of open connections' },
  // Before 2.9.0 the only "debug" flag is --debug, which opens pprof on the admin server and logs nothing more.
  { flag: '--debug-logs', since: '2.9.0', note: 'debug-level logs' },
  { flag: '--auto-ip', since: '2.2.0', note: 'public IP if present, else private' },
  { flag: '--run-connection-test', since: '2.4.0', note: 'test the connection at startup' },
  { flag: '--psc', since: '2.5.0', note: 'Private Service Connect' },
  { flag: '--exit-zero-on-sigterm', since: '2.6.0', managed: true, note: 'exit 0 on SIGTERM (clean pod status)' },
  { flag: '--lazy-refresh', since: '2.11.0', note: 'refresh certificates on demand (tight CPU limits)' },
  // Not emitted: a native sidecar receives SIGTERM only once the app has exited, so there is no drain
  // during which it must still accept connections.
  { flag: '--min-sigterm-delay', since: '2.12.0', managed: true, note: 'keep accepting connections after SIGTERM (not needed)' },
];

export type Version = readonly [number, number, number];

/** The proxy version in an image tag such as "2.1.0", "v2.14.1" or "2.14.1-alpine"; undefined if none. */
export function proxyVersionOf(tag: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(-[a-z0-9.-]+)?$/.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function parseVersion(text: string): Version {
  const v = proxyVersionOf(text);
  if (!v) throw new Error(`not a version: ${text}`);
  return v;
}

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function formatVersion(v: Version): string {
  return v.join('.');
}

function flagName(arg: string): string {
  return arg.split('=')[0];
}

export function flagInfo(flag: string): ProxyFlag | undefined {
  return PROXY_FLAGS.find((f) => f.flag === flagName(flag));
}

/** Whether the proxy of `version` accepts `flag` (with or without "=value"). */
export function proxySupports(version: Version, flag: string): boolean {
  const info = flagInfo(flag);
  if (!info) throw new Error(`cloud-sql-proxy flag ${flagName(flag)} is missing from PROXY_FLAGS`);
  return compareVersions(version, parseVersion(info.since)) >= 0;
}

/** Why a user-supplied extra argument cannot be used with `version`, or undefined. */
export function extraArgProblem(version: Version, arg: string): string | undefined {
  if (!/^--[a-z][a-z0-9-]*(=.+)?$/.test(arg)) return 'must be a proxy flag written as "--name" or "--name=value"';
  const info = flagInfo(arg);
  const known = PROXY_FLAGS.filter((f) => !f.managed).map((f) => f.flag);
  if (!info) return `must be one of the known extra proxy flags: ${known.join(', ')}`;
  if (info.managed) return `must not be a flag the chart sets itself; allowed extra flags: ${known.join(', ')}`;
  if (!proxySupports(version, arg))
    return `must be a flag of the configured proxy ${formatVersion(version)}: it needs cloud-sql-proxy ${info.since} or newer (an older proxy exits with "unknown flag")`;
  return undefined;
}

/** Fixed ports inside the pod. */
export const PROXY_DB_PORT = 5432;
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
    `--port=${PROXY_DB_PORT}`,
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
    if (problem) throw new Error(`mlflow.cloudSqlProxy.extraArgs: "${extra}" ${problem}`);
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
export const PROXY_UID = 65532;

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

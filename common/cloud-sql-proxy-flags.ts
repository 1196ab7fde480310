/**
 * The Cloud SQL Auth Proxy's flags and versions, shared by the config schema (which validates extra
 * flags) and the chart (which emits flags): a flag the running proxy does not know makes it exit with
 * "unknown flag" and the pod crash-loop, so every flag is emitted, or accepted, only when the
 * configured image version has it. No cdk8s here: config/ imports it.
 */

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

function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function formatVersion(v: Version): string {
  return v.join('.');
}

function flagName(arg: string): string {
  return arg.split('=')[0];
}

function flagInfo(flag: string): ProxyFlag | undefined {
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

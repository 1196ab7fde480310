/**
 * The egress rules every chart shares: "the internet" and the Google APIs behind Workload Identity.
 * Each chart's namespace denies all egress; a pod that may reach the internet gets the one rule
 * built here, so no chart can forget a range the cluster uses.
 *
 * Why the configured ranges matter: an ipBlock matches pod and node addresses as well as outside
 * ones, and GKE accepts ranges outside RFC 1918 for the subnet, pods and Services: RFC 6598
 * (100.64.0.0/10) and other non-RFC 1918 ranges, and privately used public ranges
 * (cloud.google.com/kubernetes-engine/docs/concepts/alias-ips, "Internal IP addresses";
 * cloud.google.com/kubernetes-engine/docs/how-to/configuring-privately-used-public-ips-for-gke).
 * "0.0.0.0/0 except the private ranges" would then admit every pod and node on the allowed ports.
 */
import * as kube from '../../imports/k8s-1.31';

/**
 * Never "the internet", whatever the config says: the RFC 1918 private ranges, the RFC 6598 shared
 * address space (GKE's first choice outside RFC 1918) and link-local addresses (the metadata server
 * lives there and is admitted by its own rules only).
 */
export const NEVER_INTERNET = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] as const;

/**
 * The GKE metadata server answers Workload Identity token requests at 169.254.169.254:80; on
 * Dataplane V2 the traffic is delivered to 169.254.169.252:988, which egress policies must allow too.
 */
const METADATA_SERVER = [
  { cidr: '169.254.169.254/32', port: 80 },
  { cidr: '169.254.169.252/32', port: 988 },
] as const;

/**
 * What an internet rule excludes: the fixed ranges above, then every cluster range they do not
 * already contain (sorted, so the output does not depend on the field order).
 */
export function internetExcept(clusterRanges: readonly string[]): string[] {
  const extra = clusterRanges.filter((cidr) => !NEVER_INTERNET.some((outer) => cidrContains(outer, cidr)));
  return [...NEVER_INTERNET, ...[...new Set(extra)].sort()];
}

/**
 * Egress to the internet and nothing of the cluster: `0.0.0.0/0` except `internetExcept(clusterRanges)`.
 * @param ports TCP ports; none means every port and protocol.
 */
export function internetEgress(clusterRanges: readonly string[], ports: readonly number[] = []): kube.NetworkPolicyEgressRule {
  return {
    to: [{ ipBlock: { cidr: '0.0.0.0/0', except: internetExcept(clusterRanges) } }],
    ...(ports.length > 0 ? { ports: ports.map((port) => ({ protocol: 'TCP', port: kube.IntOrString.fromNumber(port) })) } : {}),
  };
}

/**
 * Egress to Google APIs through Workload Identity: the metadata server for tokens, then HTTPS to the
 * internet (Google APIs have public addresses; Private Google Access routes them without a public IP).
 */
export function googleApisEgress(clusterRanges: readonly string[]): kube.NetworkPolicyEgressRule[] {
  return [
    ...METADATA_SERVER.map((m) => ({ to: [{ ipBlock: { cidr: m.cidr } }], ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(m.port) }] })),
    internetEgress(clusterRanges, [443]),
  ];
}

/** Whether `outer` contains all of `inner`. */
function cidrContains(outer: string, inner: string): boolean {
  const [oa, op] = parseCidr(outer);
  const [ia, ip] = parseCidr(inner);
  if (ip < op) return false;
  const size = 2 ** (32 - op);
  return Math.floor(oa / size) === Math.floor(ia / size);
}

function parseCidr(cidr: string): [number, number] {
  const [address, prefix] = cidr.split('/');
  return [address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0), Number(prefix)];
}

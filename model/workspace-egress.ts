/**
 * The host names the workspaces reach by name (GKE FQDNNetworkPolicy), worked out once for the
 * workspace charts and the cluster (which turns the FQDN network policy on when any exist).
 */
import { IAP_KEYS_URL } from '../common/contract';
import type { Config } from '../config/schema';

/** Git's transports: ssh and HTTPS. */
export const GIT_PORTS = [22, 443] as const;

export interface HostGroup {
  readonly names: readonly string[];
  readonly ports: readonly number[];
}

/**
 * With the internet rule on, nothing (it reaches every host already). Otherwise:
 * - with the edge in front of the workspaces, the host of Google's IAP keys on HTTPS: each workspace's
 *   verifying proxy fetches them (charts/workspaces/iap-proxy.ts) and without them refuses every
 *   request;
 * - with workspaces.hostEgress, the package indexes on HTTPS and the Git hosts on ssh and HTTPS.
 */
export function workspaceEgressHosts(config: Config): readonly HostGroup[] {
  const w = config.workspaces;
  if (w.internetEgress) return [];
  const groups: HostGroup[] = [];
  const https = new Set<string>();
  if (config.edge.enabled) https.add(new URL(IAP_KEYS_URL).host);
  if (w.hostEgress) w.packages.hosts.forEach((h) => https.add(h));
  groups.push({ names: [...https].sort(), ports: [443] });
  if (w.hostEgress) groups.push({ names: [...new Set(w.git.hosts.map((h) => h.host))].sort(), ports: [...GIT_PORTS] });
  return groups.filter((g) => g.names.length > 0);
}

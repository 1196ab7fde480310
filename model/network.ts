/** The address ranges NetworkPolicies and the IAP verifier name, derived from the config in one place. */
import type { Config } from '../config/schema';

/** The ranges the network config gives the cluster and its peers: nodes, pods, Services, control plane, private services. */
export type ClusterRanges = readonly string[];

export function clusterRanges(network: Config['network']): string[] {
  return [network.subnetCidr, network.podsCidr, network.servicesCidr, network.masterCidr, network.privateServicesCidr];
}

/**
 * Source ranges of Google's global load balancer proxies and health checkers: for the global external
 * Application Load Balancer with zonal NEG backends, the GFE proxy ranges are the health check ranges,
 * 35.191.0.0/16 and 130.211.0.0/22 (https://cloud.google.com/load-balancing/docs/firewall-rules, the
 * table of minimum ingress rules). IAP traffic reaches the backends from them.
 */
export const LOAD_BALANCER_RANGES: readonly string[] = ['35.191.0.0/16', '130.211.0.0/22'];

/**
 * The platform VPC: a custom-mode network with one subnet (nodes, plus secondary ranges for pods and
 * Services), private Google access and flow logs; Cloud NAT for egress of the private nodes; private
 * services access for Cloud SQL; the global address and SSL policy the HTTPS load balancer uses.
 */
import { Construct } from 'constructs';
import {
  ComputeAddress,
  ComputeNetwork,
  ComputeRouter,
  ComputeRouterNat,
  ComputeSslPolicy,
  ComputeSubnetwork,
} from '../../imports/compute.cnrm.cloud.google.com';
import { ServiceNetworkingConnection } from '../../imports/servicenetworking.cnrm.cloud.google.com';
import { GcpScope, kccMetadata } from './common';

export interface NetworkNames {
  readonly network: string;
  readonly subnet: string;
  readonly podsRange: string;
  readonly servicesRange: string;
  readonly router: string;
  readonly nat: string;
  /** Global internal range reserved for private services access. */
  readonly privateServicesRange: string;
  /** Global external address of the load balancer. */
  readonly globalAddress: string;
  /**
   * Global external address of the workspaces load balancer.
   * @default - none (no workspaces)
   */
  readonly workspacesGlobalAddress?: string;
  readonly sslPolicy: string;
}

export interface NetworkProps {
  readonly scope: GcpScope;
  readonly names: NetworkNames;
  readonly subnetCidr: string;
  readonly podsCidr: string;
  readonly servicesCidr: string;
  /** Fraction of flows sampled into VPC flow logs. */
  readonly flowLogSampling: number;
  /**
   * Range for private services access (Cloud SQL private IP); undefined renders no peering.
   * @default - no private services access
   */
  readonly privateServicesCidr?: string;
}

export class Network extends Construct {
  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const s = props.scope;
    const n = props.names;
    const network = new ComputeNetwork(this, 'network', {
      metadata: kccMetadata(s, n.network, { stateful: true }),
      spec: { autoCreateSubnetworks: false, routingMode: 'REGIONAL' },
    });
    new ComputeSubnetwork(this, 'subnet', {
      metadata: kccMetadata(s, n.subnet, { stateful: true }),
      spec: {
        networkRef: { name: network.name },
        region: s.region,
        ipCidrRange: props.subnetCidr,
        secondaryIpRange: [
          { rangeName: n.podsRange, ipCidrRange: props.podsCidr },
          { rangeName: n.servicesRange, ipCidrRange: props.servicesCidr },
        ],
        privateIpGoogleAccess: true,
        logConfig: { aggregationInterval: 'INTERVAL_5_SEC', flowSampling: props.flowLogSampling, metadata: 'INCLUDE_ALL_METADATA' },
      },
    });
    const router = new ComputeRouter(this, 'router', {
      metadata: kccMetadata(s, n.router),
      spec: { networkRef: { name: network.name }, region: s.region },
    });
    new ComputeRouterNat(this, 'nat', {
      metadata: kccMetadata(s, n.nat),
      spec: {
        routerRef: { name: router.name },
        region: s.region,
        natIpAllocateOption: 'AUTO_ONLY',
        sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES',
        logConfig: { enable: true, filter: 'ERRORS_ONLY' },
      },
    });
    if (props.privateServicesCidr) {
      const [address, prefix] = props.privateServicesCidr.split('/');
      // Removing the range or the peering while Cloud SQL uses them fails or strands the instance.
      const range = new ComputeAddress(this, 'private-services-range', {
        metadata: kccMetadata(s, n.privateServicesRange, { stateful: true }),
        spec: {
          location: 'global',
          addressType: 'INTERNAL',
          purpose: 'VPC_PEERING',
          address,
          prefixLength: Number(prefix),
          networkRef: { name: network.name },
        },
      });
      new ServiceNetworkingConnection(this, 'private-services-access', {
        metadata: kccMetadata(s, `${n.network}-private-services`, { stateful: true }),
        spec: {
          networkRef: { name: network.name },
          service: 'servicenetworking.googleapis.com',
          reservedPeeringRanges: [{ name: range.name }],
        },
      });
    }
    // DNS records point at this address: recreating it would change the IP.
    new ComputeAddress(this, 'global-address', {
      metadata: kccMetadata(s, n.globalAddress, { stateful: true }),
      spec: { location: 'global', addressType: 'EXTERNAL', ipVersion: 'IPV4', description: 'HTTPS load balancer of the MLflow platform' },
    });
    if (n.workspacesGlobalAddress)
      new ComputeAddress(this, 'workspaces-global-address', {
        metadata: kccMetadata(s, n.workspacesGlobalAddress, { stateful: true }),
        spec: { location: 'global', addressType: 'EXTERNAL', ipVersion: 'IPV4', description: 'HTTPS load balancer of the MLflow platform workspaces' },
      });
    new ComputeSslPolicy(this, 'ssl-policy', {
      metadata: kccMetadata(s, n.sslPolicy),
      spec: { profile: 'MODERN', minTlsVersion: 'TLS_1_2', description: 'TLS 1.2 or newer with modern ciphers' },
    });
  }
}

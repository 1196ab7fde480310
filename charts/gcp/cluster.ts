/**
 * The private GKE cluster and its node pools. The cluster is created with a throwaway default pool
 * that Config Connector removes; every node comes from a ContainerNodePool, so node settings (almost
 * all immutable) change by adding a pool under a new name.
 */
import { Construct } from 'constructs';
import { ContainerCluster, ContainerNodePool, ContainerNodePoolSpecNodeConfig } from '../../imports/container.cnrm.cloud.google.com';
import { ANNOTATIONS, GcpScope, kccMetadata } from './common';

export interface NodePoolProps {
  /** Name of the pool; node settings are immutable, so a change of machine means a new name. */
  readonly name: string;
  readonly machineType: string;
  readonly diskSizeGb: number;
  readonly diskType: string;
  /** Autoscaling bounds per zone, or for the whole pool when `total` is set. */
  readonly minNodes: number;
  readonly maxNodes: number;
  /**
   * The bounds count nodes of the whole pool rather than per zone.
   * @default false
   */
  readonly total?: boolean;
  /**
   * GPUs per node, with their type.
   * @default - no accelerator
   */
  readonly gpu?: { readonly type: string; readonly count: number };
  /**
   * Kubernetes labels of every node (immutable in the ContainerNodePool CRD: a change means a new pool).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Kubernetes taints of every node, effect as the Kubernetes API spells it (`NoSchedule`).
   * @default - none
   */
  readonly taints?: readonly { readonly key: string; readonly value: string; readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  /**
   * GKE Sandbox: every pod of the pool that names the `gvisor` RuntimeClass runs in gVisor
   * (immutable: a change means a new pool).
   * @default false
   */
  readonly sandbox?: boolean;
  /**
   * The kubelet's limit of process IDs per pod on these nodes.
   * @default - GKE's default (the kubelet config is not managed)
   */
  readonly podPidsLimit?: number;
}

export interface ClusterProps {
  readonly scope: GcpScope;
  readonly name: string;
  readonly releaseChannel: 'RAPID' | 'REGULAR' | 'STABLE';
  /** Zones the pools spread over. */
  readonly zones: readonly string[];
  /** ComputeNetwork / ComputeSubnetwork object names and the secondary range names. */
  readonly network: string;
  readonly subnet: string;
  readonly podsRange: string;
  readonly servicesRange: string;
  readonly masterCidr: string;
  readonly authorizedNetworks: readonly { readonly name: string; readonly cidr: string }[];
  readonly workloadPool: string;
  /** Full resource path of the key for application-layer secrets encryption (a plain string field). */
  readonly secretsKeyPath: string;
  /** Name of the KMSCryptoKey object for node boot disks. */
  readonly bootDiskKey: string;
  /** Name of the IAMServiceAccount object the nodes run as. */
  readonly nodeServiceAccount: string;
  /** Daily maintenance window: start "HH:MM" UTC and length in hours. */
  readonly maintenanceStart: string;
  readonly maintenanceHours: number;
  readonly pools: readonly NodePoolProps[];
  /**
   * Encrypt pod traffic between nodes (inter-node transparent encryption, WireGuard on Dataplane V2).
   * @default - not managed (the cluster keeps its setting)
   */
  readonly interNodeEncryption?: boolean;
  /**
   * Turn on GKE's FQDN network policy (FQDNNetworkPolicy objects). Only ever turned on: an absent
   * field leaves the cluster's setting in place, so FQDN policies made outside the render keep working.
   * @default false
   */
  readonly fqdnNetworkPolicy?: boolean;
}

/**
 * The taint effects as the GKE API spells them (NodeTaint.Effect: NO_SCHEDULE, PREFER_NO_SCHEDULE,
 * NO_EXECUTE; https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/NodeTaint), which
 * Config Connector passes through as `spec.nodeConfig.taint[].effect`.
 */
export const GKE_TAINT_EFFECT = { NoSchedule: 'NO_SCHEDULE', PreferNoSchedule: 'PREFER_NO_SCHEDULE', NoExecute: 'NO_EXECUTE' } as const;

/**
 * GKE Sandbox's sandbox type for `spec.nodeConfig.sandboxConfig.sandboxType` (the ContainerNodePool
 * CRD of Config Connector 1.155.1 describes it as "Type of the sandbox to use for the node (e.g.
 * 'gvisor')"; the GKE API's SandboxConfig.Type has GVISOR as its one value).
 */
export const SANDBOX_TYPE = 'gvisor';

/**
 * The CPU manager policy stated with the PID limit: the ContainerNodePool CRD (Config Connector
 * 1.155.1) requires `kubeletConfig.cpuManagerPolicy` whenever `kubeletConfig` is set, and "none" is
 * the kubelet's and GKE's default (NodeKubeletConfig.cpuManagerPolicy: "'none': the default";
 * https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/NodeKubeletConfig).
 */
export const CPU_MANAGER_POLICY = 'none';

const NODE_OAUTH_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export class Cluster extends Construct {
  constructor(scope: Construct, id: string, props: ClusterProps) {
    super(scope, id);
    const s = props.scope;
    const cluster = new ContainerCluster(this, 'cluster', {
      metadata: kccMetadata(s, props.name, { stateful: true, annotations: { [ANNOTATIONS.removeDefaultNodePool]: 'true' } }),
      spec: {
        location: s.region,
        initialNodeCount: 1,
        networkRef: { name: props.network },
        subnetworkRef: { name: props.subnet },
        networkingMode: 'VPC_NATIVE',
        ipAllocationPolicy: { clusterSecondaryRangeName: props.podsRange, servicesSecondaryRangeName: props.servicesRange },
        // Dataplane V2 enforces NetworkPolicy itself; Calico must stay off.
        datapathProvider: 'ADVANCED_DATAPATH',
        // Stated both ways: an absent field would leave an earlier setting in place.
        ...(props.fqdnNetworkPolicy ? { enableFqdnNetworkPolicy: true } : {}),
        ...(props.interNodeEncryption === undefined
          ? {}
          : { inTransitEncryptionConfig: props.interNodeEncryption ? 'IN_TRANSIT_ENCRYPTION_INTER_NODE_TRANSPARENT' : 'IN_TRANSIT_ENCRYPTION_DISABLED' }),
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: props.masterCidr },
        masterAuthorizedNetworksConfig: {
          gcpPublicCidrsAccessEnabled: false,
          ...(props.authorizedNetworks.length > 0 ? { cidrBlocks: props.authorizedNetworks.map((n) => ({ cidrBlock: n.cidr, displayName: n.name })) } : {}),
        },
        workloadIdentityConfig: { workloadPool: props.workloadPool },
        enableShieldedNodes: true,
        enableLegacyAbac: false,
        enableKubernetesAlpha: false,
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        databaseEncryption: { state: 'ENCRYPTED', keyName: props.secretsKeyPath },
        releaseChannel: { channel: props.releaseChannel },
        // BASIC keeps the workload configuration audit. Basic (standard tier) vulnerability scanning is
        // shut down and can no longer be enabled: the GKE v1 API marks VULNERABILITY_BASIC "Deprecated:
        // Basic vulnerability scanning is no longer supported" and the removal notice
        // (cloud.google.com/kubernetes-engine/docs/deprecations/vulnerability-scanning-gkee) says a
        // deprecated tier cannot be enabled. Stated as DISABLED, not left out: an absent field would
        // leave an earlier setting in place.
        securityPostureConfig: { mode: 'BASIC', vulnerabilityMode: 'VULNERABILITY_DISABLED' },
        addonsConfig: {
          httpLoadBalancing: { disabled: false },
          gcePersistentDiskCsiDriverConfig: { enabled: true },
        },
        loggingConfig: { enableComponents: ['SYSTEM_COMPONENTS', 'WORKLOADS'] },
        monitoringConfig: {
          enableComponents: ['SYSTEM_COMPONENTS', 'STORAGE', 'POD', 'DEPLOYMENT', 'STATEFULSET', 'HPA'],
          managedPrometheus: { enabled: true },
        },
        // RFC 3339 times and an RRULE: the daily form is rewritten by the API and diffs forever.
        maintenancePolicy: { recurringWindow: maintenanceWindow(props.maintenanceStart, props.maintenanceHours) },
      },
    });
    for (const pool of props.pools) {
      const nodeConfig: ContainerNodePoolSpecNodeConfig = {
        machineType: pool.machineType,
        diskSizeGb: pool.diskSizeGb,
        diskType: pool.diskType,
        imageType: 'COS_CONTAINERD',
        bootDiskKmsCryptoKeyRef: { name: props.bootDiskKey },
        serviceAccountRef: { name: props.nodeServiceAccount },
        oauthScopes: [NODE_OAUTH_SCOPE],
        workloadMetadataConfig: { mode: 'GKE_METADATA' },
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        metadata: { 'disable-legacy-endpoints': 'true' },
        ...(pool.gpu
          ? { guestAccelerator: [{ type: pool.gpu.type, count: pool.gpu.count, gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } }] }
          : {}),
        ...(pool.labels && Object.keys(pool.labels).length > 0 ? { labels: { ...pool.labels } } : {}),
        ...(pool.taints && pool.taints.length > 0
          ? { taint: pool.taints.map((t) => ({ key: t.key, value: t.value, effect: GKE_TAINT_EFFECT[t.effect] })) }
          : {}),
        ...(pool.sandbox ? { sandboxConfig: { sandboxType: SANDBOX_TYPE } } : {}),
        ...(pool.podPidsLimit !== undefined ? { kubeletConfig: { cpuManagerPolicy: CPU_MANAGER_POLICY, podPidsLimit: pool.podPidsLimit } } : {}),
      };
      new ContainerNodePool(this, pool.name, {
        metadata: kccMetadata(s, pool.name, { stateful: true }),
        spec: {
          clusterRef: { name: cluster.name },
          location: s.region,
          nodeLocations: [...props.zones],
          autoscaling: pool.total
            ? { totalMinNodeCount: pool.minNodes, totalMaxNodeCount: pool.maxNodes, locationPolicy: 'ANY' }
            : { minNodeCount: pool.minNodes, maxNodeCount: pool.maxNodes, locationPolicy: 'BALANCED' },
          management: { autoRepair: true, autoUpgrade: true },
          upgradeSettings: { strategy: 'SURGE', maxSurge: 1, maxUnavailable: 0 },
          nodeConfig,
        },
      });
    }
  }
}

/** A daily window of `hours` starting at `start` ("HH:MM" UTC), as RFC 3339 times on a fixed date. */
export function maintenanceWindow(start: string, hours: number): { startTime: string; endTime: string; recurrence: string } {
  const begin = new Date(`2025-01-01T${start}:00Z`);
  const end = new Date(begin.getTime() + hours * 3600_000);
  const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
  return { startTime: iso(begin), endTime: iso(end), recurrence: 'FREQ=DAILY' };
}

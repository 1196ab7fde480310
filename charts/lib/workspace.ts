/**
 * One workspace instance (a Jupyter or code-server for one user, or the shared one): its
 * ServiceAccount without credentials, home volume, single-replica Deployment, Service, NetworkPolicy
 * and the server certificate it serves HTTPS with. The Service and the volume are named after the
 * instance, which the edge chart and operators rely on.
 */
import { Construct } from 'constructs';
import type { Resources } from '../../config/schema/primitives';
import * as kube from '../../imports/k8s-1.31';
import { appLabels, selectorLabels } from './labels';
import { internetEgress } from './network-policy';
import { FqdnNetworkPolicy } from './fqdn-network-policy';
import { serviceDnsNames, WorkspaceInstance } from '../../model/names';
import { httpsProbe, RestrictedContainer, restrictedContainer, restrictedPodSpec } from './pod';
import { EXTERNAL_SECRETS_ANNOTATION, PRUNE_DISABLED } from '../../common/contract';
import { caBundleMount, caBundleVolume } from '../certificates/ca-bundle';
import type { CertificateLifetime } from '../certificates/issuer';
import { ServerCertificate, serverCertificateVolume } from '../certificates/server-certificate';
import { IapProxyOptions, iapProxyContainer, PROXY_PORT } from '../workspaces/iap-proxy';
import { GIT_PORTS } from '../../model/workspace-egress';

/**
 * The Service port the load balancer talks to, HTTPS like the server behind it; its name is what the
 * app-protocols annotation refers to.
 */
export const SERVICE_PORT = 443;
export const PORT_NAME = 'https';

/** Where the server's key pair is mounted (`tls.crt`, `tls.key`): the apps' certificate options point here. */
export const WORKSPACE_TLS_DIR = '/etc/workspace-tls';
const TLS_VOLUME = 'tls';

/** Ports a Git host is reached on: ssh and HTTPS (model/workspace-egress.ts). */
export { GIT_PORTS };

/** Where the workspace's rendered files and its projected Secret keys appear, read-only. */
export const FILES_PATH = '/etc/workspace';
/** Volume name of those files, for setup steps that read them. */
export const FILES_VOLUME = 'workspace-files';
/**
 * Where the files every instance of the app shares appear, read-only: the package locks the setup
 * steps install from and the verifying proxy's program (charts/lib/workspace-shared-files.ts).
 */
export const SHARED_FILES_PATH = '/etc/workspace-shared';
/** Volume name of the shared files, for setup steps that read them. */
export const SHARED_FILES_VOLUME = 'workspace-shared';
/** Pod template annotation: the shared files' content hash, so a changed file rolls every instance. */
export const SHARED_FILES_HASH_ANNOTATION = 'mlflow-gke/shared-files';

export interface WorkspaceFile {
  readonly content: string;
  /** @default 0o444 */
  readonly mode?: number;
}

export interface WorkspaceFiles {
  /** Files of the instance's ConfigMap `<instance>-files`, by file name. */
  readonly files: Readonly<Record<string, WorkspaceFile>>;
  /**
   * Keys of Secrets created out of band, projected beside the files at `path` with mode 0440: owned
   * by root and readable by the pod's fsGroup (the workspace user's group), never by others.
   * @default - none
   */
  readonly secretFiles?: readonly { readonly secret: string; readonly key: string; readonly path: string }[];
}

/** The app's shared ConfigMap (charts/lib/workspace-shared-files.ts), as an instance mounts it. */
export interface WorkspaceShared {
  readonly configMap: string;
  /** Its content hash, on the pod template. */
  readonly hash: string;
}

export interface WorkspaceGpu {
  readonly count: number;
  /** Value of the node label cloud.google.com/gke-accelerator. */
  readonly acceleratorType: string;
}

export interface WorkspaceNetwork {
  /** Namespace of the MLflow pods. */
  readonly mlflowNamespace: string;
  /** Labels selecting the MLflow server pods. */
  readonly mlflowPods: Record<string, string>;
  /** Container port of MLflow. */
  readonly mlflowPort: number;
  /** Allow egress to the internet (never to the cluster, the private ranges or the metadata server). */
  readonly internetEgress: boolean;
  /** The cluster's own ranges, which the internet rule excludes (model/network.ts). */
  readonly clusterRanges: readonly string[];
  /** Google's load balancer proxies and health checkers (model/network.ts): the only sources allowed to reach a workspace. */
  readonly loadBalancerRanges: readonly string[];
  /**
   * Admit the Google load balancer (its proxies and health checks) on the container port. Off when
   * there is no public edge: then nothing may open a connection to the pod (`kubectl port-forward`
   * enters through the pod's own network namespace and still works).
   */
  readonly loadBalancerIngress: boolean;
  /**
   * Address ranges of the Git hosts, allowed on the Git ports. Only needed, and only given, while the
   * internet rule is off.
   * @default - none
   */
  readonly gitHostRanges?: readonly string[];
  /**
   * Address ranges of the VS Code collaboration server, allowed on HTTPS only. Given only while the
   * internet rule is off: the Open Collaboration Tools extension joins whatever server an invitation
   * code names, and a NetworkPolicy cannot name a host, so these ranges are what keeps it on yours.
   * @default - none
   */
  readonly collaborationServerRanges?: readonly string[];
  /**
   * Hosts allowed by name, each group on its ports (GKE FQDNNetworkPolicy `<instance>-hosts`): the
   * package indexes and the Git hosts of the config, while the internet rule is off.
   * @default - none (no FQDNNetworkPolicy)
   */
  readonly hosts?: readonly { readonly names: readonly string[]; readonly ports: readonly number[] }[];
}

/** Where the pod may run: the workspace nodes (charts/gcp.ts workspaceNodePools) and their runtime. */
export interface WorkspacePlacement {
  /** Node labels the pod requires. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Taints the pod tolerates. */
  readonly tolerations: readonly kube.Toleration[];
  /**
   * RuntimeClass of the pod, `gvisor` for GKE Sandbox.
   * @default - the node's default runtime
   */
  readonly runtimeClassName?: string;
}

/** The server's certificate, and the platform CA its clients in the pod (MLflow's) trust. */
export interface WorkspaceTls {
  /** CA ClusterIssuer that signs the server certificate. */
  readonly caIssuer: string;
  readonly lifetime: CertificateLifetime;
  /** The namespace's CA bundle ConfigMap (charts/certificates/ca-bundle.ts): its `ca.crt` is mounted at CA_BUNDLE_DIR. */
  readonly caBundleConfigMap: string;
}

export interface WorkspaceProps {
  readonly instance: WorkspaceInstance;
  /** Environment name, the `app.kubernetes.io/instance` label. */
  readonly environment: string;
  readonly namespace: string;
  readonly image: string;
  /** Version label of the workload, usually the image tag. */
  readonly version: string;
  /** Port the server listens on. */
  readonly containerPort: number;
  /** Home directory of the image user; the persistent volume is mounted there. */
  readonly homePath: string;
  readonly storageSize: string;
  /**
   * StorageClass of the home claim.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  readonly resources: Resources;
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly fsGroup: number;
  /**
   * Entrypoint override.
   * @default - the image's entrypoint
   */
  readonly command?: string[];
  readonly args: string[];
  readonly env: kube.EnvVar[];
  /** Path answering unauthenticated HTTP 200 while the server is up (probes, load-balancer health check). */
  readonly healthPath: string;
  /**
   * HTTPS: a certificate for the Service's names, mounted at WORKSPACE_TLS_DIR, where the app's own
   * TLS options (in `args`) read it; and the platform CA.
   */
  readonly tls: WorkspaceTls;
  /**
   * Steps run before the server starts, with the home volume and /tmp mounted.
   * @default - none
   */
  readonly initContainers?: RestrictedContainer[];
  /**
   * Size of a memory-backed /dev/shm (PyTorch DataLoader workers need more than the runtime's 64 MiB).
   * @default - no /dev/shm volume
   */
  readonly sharedMemory?: string;
  /**
   * Files mounted read-only at FILES_PATH in the server (setup steps mount FILES_VOLUME themselves).
   * @default - no files
   */
  readonly files?: WorkspaceFiles;
  /**
   * The app's shared ConfigMap, mounted read-only at SHARED_FILES_PATH in the verifying proxy (setup
   * steps mount SHARED_FILES_VOLUME themselves); required with `iapProxy`, whose program it holds.
   * @default - none
   */
  readonly shared?: WorkspaceShared;
  /**
   * Secrets the pod reads that are created out of band, declared for the policy gate.
   * @default - none
   */
  readonly externalSecrets?: readonly string[];
  /**
   * GPUs for the server container.
   * @default - no GPU
   */
  readonly gpu?: WorkspaceGpu;
  /**
   * Node placement and runtime.
   * @default - any node, the default runtime
   */
  readonly placement?: WorkspacePlacement;
  readonly network: WorkspaceNetwork;
  /**
   * Annotations of the Service (NEG and BackendConfig, set by the edge).
   * @default - none
   */
  readonly serviceAnnotations?: Record<string, string>;
  /**
   * A verifying proxy in front of the app, as a native sidecar: it serves HTTPS with the instance's
   * certificate on PROXY_PORT, which the Service, the NetworkPolicy and the probes then name, and lets
   * through only requests with this workspace's IAP token (and the health path); the app must then
   * listen on 127.0.0.1:containerPort, in plain HTTP (its `args` say so).
   * @default - none: the app serves containerPort itself, with TLS and its own login
   */
  readonly iapProxy?: WorkspaceIapProxy;
}

/** The verifying proxy's settings that differ between instances (charts/workspaces/iap-proxy.ts). */
export type WorkspaceIapProxy = Omit<IapProxyOptions, 'upstreamPort' | 'healthPath' | 'tlsDir' | 'programDir' | 'volumeMounts'>;

/** Volume names shared by the server container and the setup steps. */
export const HOME_VOLUME = 'home';
export const TMP_VOLUME = 'tmp';

export class Workspace extends Construct {
  /** Name of the Deployment, Service, ServiceAccount and NetworkPolicy. */
  public readonly name: string;
  /** Name of the home volume claim. */
  public readonly claimName: string;

  constructor(scope: Construct, id: string, props: WorkspaceProps) {
    super(scope, id);
    const { instance, namespace } = props;
    this.name = instance.name;
    this.claimName = `${instance.name}-home`;
    const labelOptions = { name: instance.name, instance: props.environment, component: 'workspace' };
    const labels = appLabels({ ...labelOptions, version: props.version });
    const selector = selectorLabels(labelOptions);
    const userAnnotations = instance.user ? { 'mlflow-gke/user': instance.user.email } : undefined;

    // Users run arbitrary code here: the account carries no Workload Identity binding and no token.
    new kube.KubeServiceAccount(this, 'service-account', {
      metadata: { name: this.name, namespace, labels },
      automountServiceAccountToken: false,
    });

    new kube.KubePersistentVolumeClaim(this, 'home', {
      metadata: {
        name: this.claimName,
        namespace,
        labels,
        // The user's files live only here: Flux must never prune the claim.
        annotations: { ...PRUNE_DISABLED, ...userAnnotations },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        // Immutable once bound: an existing claim keeps its class (workspaces.homeStorage, docs/workspaces.md).
        ...(props.storageClassName ? { storageClassName: props.storageClassName } : {}),
        resources: { requests: { storage: kube.Quantity.fromString(props.storageSize) } },
      },
    });

    // Every name a client may use for the Service; the pod waits in ContainerCreating until
    // cert-manager has written the Secret.
    const certificate = new ServerCertificate(this, 'certificate', {
      name: `${instance.name}-tls`,
      namespace,
      labels,
      dnsNames: serviceDnsNames(this.name, namespace),
      caIssuer: props.tls.caIssuer,
      lifetime: props.tls.lifetime,
    });

    const mounts: kube.VolumeMount[] = [
      { name: HOME_VOLUME, mountPath: props.homePath },
      { name: TMP_VOLUME, mountPath: '/tmp' },
      // No subPath: renewed files replace these in place (Jupyter reads them at every connection,
      // code-server's watcher restarts it: charts/workspaces/code-server-tls.sh).
      { name: TLS_VOLUME, mountPath: WORKSPACE_TLS_DIR, readOnly: true },
      caBundleMount(),
    ];
    const volumes: kube.Volume[] = [
      { name: HOME_VOLUME, persistentVolumeClaim: { claimName: this.claimName } },
      { name: TMP_VOLUME, emptyDir: { sizeLimit: kube.Quantity.fromString('2Gi') } },
      // The key is readable by the pod's fsGroup, the workspace user's group: the user can read it,
      // as they can read anything the server can.
      serverCertificateVolume(TLS_VOLUME, certificate.secretName),
      caBundleVolume(props.tls.caBundleConfigMap),
    ];
    if (props.files) {
      const files = props.files;
      const configMap = `${instance.name}-files`;
      new kube.KubeConfigMap(this, 'files', {
        metadata: { name: configMap, namespace, labels },
        data: Object.fromEntries(Object.entries(files.files).map(([file, f]) => [file, f.content])),
      });
      mounts.push({ name: FILES_VOLUME, mountPath: FILES_PATH, readOnly: true });
      volumes.push({
        name: FILES_VOLUME,
        projected: {
          defaultMode: 0o444,
          sources: [
            { configMap: { name: configMap, items: Object.entries(files.files).map(([file, f]) => ({ key: file, path: file, mode: f.mode })) } },
            ...(files.secretFiles ?? []).map((s) => ({ secret: { name: s.secret, items: [{ key: s.key, path: s.path, mode: 0o440 }] } })),
          ],
        },
      });
    }
    if (props.shared) volumes.push({ name: SHARED_FILES_VOLUME, configMap: { name: props.shared.configMap, defaultMode: 0o444 } });
    if (props.sharedMemory) {
      mounts.push({ name: 'dshm', mountPath: '/dev/shm' });
      volumes.push({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: kube.Quantity.fromString(props.sharedMemory) } });
    }
    // Behind the proxy the probes take its port, and so check the proxy and the app together.
    const servedPort = props.iapProxy ? PROXY_PORT : props.containerPort;
    const probe = (periodSeconds: number, failureThreshold: number) =>
      httpsProbe(props.healthPath, props.iapProxy ? PROXY_PORT : PORT_NAME, periodSeconds, failureThreshold);
    // Everything the server writes goes to the home volume, /tmp or /dev/shm, so the image stays
    // read-only; package installs therefore land in the home volume (pip falls back to --user).
    const server = restrictedContainer({
      name: instance.app,
      image: props.image,
      command: props.command,
      args: props.args,
      workingDir: props.homePath,
      env: props.env,
      // Behind the proxy the app's port is on loopback: the pod's named port is the proxy's.
      ports: props.iapProxy
        ? [{ name: 'app', containerPort: props.containerPort, protocol: 'TCP' }]
        : [{ name: PORT_NAME, containerPort: props.containerPort, protocol: 'TCP' }],
      resources: props.resources,
      // GPUs are extended resources: requested and limited alike, never overcommitted.
      extendedResources: props.gpu ? { 'nvidia.com/gpu': props.gpu.count } : undefined,
      runAsUser: props.runAsUser,
      runAsGroup: props.runAsGroup,
      volumeMounts: mounts,
      startupProbe: probe(5, 60),
      readinessProbe: probe(10, 3),
      livenessProbe: probe(30, 5),
    });

    if (props.iapProxy && !props.shared) throw new Error(`Workspace ${instance.name}: the verifying proxy runs from the shared files, and there are none`);
    const proxy = props.iapProxy
      ? iapProxyContainer({
          ...props.iapProxy,
          upstreamPort: props.containerPort,
          healthPath: props.healthPath,
          tlsDir: WORKSPACE_TLS_DIR,
          programDir: SHARED_FILES_PATH,
          volumeMounts: [
            { name: TLS_VOLUME, mountPath: WORKSPACE_TLS_DIR, readOnly: true },
            { name: SHARED_FILES_VOLUME, mountPath: SHARED_FILES_PATH, readOnly: true },
          ],
        })
      : undefined;

    // The pod template: the restricted helpers of charts/lib/pod.ts.
    const secrets = props.externalSecrets ?? [];
    new kube.KubeDeployment(this, 'deployment', {
      metadata: {
        name: this.name,
        namespace,
        labels,
        annotations: secrets.length > 0 ? { ...userAnnotations, [EXTERNAL_SECRETS_ANNOTATION]: secrets.join(', ') } : userAnnotations,
      },
      spec: {
        replicas: 1,
        // The home volume is ReadWriteOnce: the old pod must let go of it before the new one starts.
        strategy: { type: 'Recreate' },
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels,
            annotations: props.shared ? { ...userAnnotations, [SHARED_FILES_HASH_ANNOTATION]: props.shared.hash } : userAnnotations,
          },
          spec: restrictedPodSpec({
            serviceAccountName: this.name,
            enableServiceLinks: false,
            runAsUser: props.runAsUser,
            runAsGroup: props.runAsGroup,
            fsGroup: props.fsGroup,
            // A large home volume would otherwise be re-chowned on every start.
            fsGroupChangePolicy: 'OnRootMismatch',
            sidecars: proxy ? [proxy] : undefined,
            initContainers: props.initContainers,
            containers: [server],
            volumes,
            ...podPlacement(props.placement, props.gpu),
          }),
        },
      },
    });

    new kube.KubeService(this, 'service', {
      metadata: { name: this.name, namespace, labels, annotations: props.serviceAnnotations },
      spec: {
        type: 'ClusterIP',
        selector,
        // The proxy's port by number: a named targetPort is looked up among the pod's containers.
        ports: [
          {
            name: PORT_NAME,
            port: SERVICE_PORT,
            targetPort: props.iapProxy ? kube.IntOrString.fromNumber(PROXY_PORT) : kube.IntOrString.fromString(PORT_NAME),
            protocol: 'TCP',
          },
        ],
      },
    });

    const net = props.network;
    const egress: kube.NetworkPolicyEgressRule[] = [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': net.mlflowNamespace } },
            podSelector: { matchLabels: net.mlflowPods },
          },
        ],
        ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(net.mlflowPort) }],
      },
    ];
    if (net.internetEgress) egress.push(internetEgress(net.clusterRanges));
    const gitRanges = net.gitHostRanges ?? [];
    if (gitRanges.length > 0)
      egress.push({
        to: gitRanges.map((cidr) => ({ ipBlock: { cidr } })),
        ports: GIT_PORTS.map((port) => ({ protocol: 'TCP', port: kube.IntOrString.fromNumber(port) })),
      });
    const collaborationRanges = net.collaborationServerRanges ?? [];
    if (collaborationRanges.length > 0)
      egress.push({ to: collaborationRanges.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(443) }] });
    const hosts = (net.hosts ?? []).filter((h) => h.names.length > 0);
    if (hosts.length > 0)
      // Added to what the NetworkPolicy allows (GKE allows what any policy selecting the pod allows);
      // the host names resolve through the cluster DNS, which the namespace's allow-dns policy admits.
      new FqdnNetworkPolicy(this, 'host-policy', {
        name: `${this.name}-hosts`,
        namespace,
        labels,
        podSelector: selector,
        egress: hosts.map((h) => ({ matches: h.names.map((name) => ({ name })), ports: h.ports.map((port) => ({ protocol: 'TCP' as const, port })) })),
      });
    // DNS is allowed namespace-wide by the namespaces chart; everything else stays denied.
    new kube.KubeNetworkPolicy(this, 'network-policy', {
      metadata: { name: this.name, namespace, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        // No rule at all without the edge: policyTypes Ingress alone denies every connection in. An
        // empty list would mean the same, but the API server drops it when it stores the object
        // (`ingress,omitempty` in k8s.io/api networking/v1 types.go), so every server-side apply of
        // `ingress: []` would change the object again.
        ingress: net.loadBalancerIngress
          ? [
              {
                from: net.loadBalancerRanges.map((cidr) => ({ ipBlock: { cidr } })),
                ports: [{ protocol: 'TCP', port: kube.IntOrString.fromNumber(servedPort) }],
              },
            ]
          : undefined,
        egress,
      },
    });
  }
}

/** The pod spec's node selector, tolerations and RuntimeClass: the placement's, plus the GPU's. */
function podPlacement(
  placement: WorkspacePlacement | undefined,
  gpu: WorkspaceGpu | undefined,
): Pick<kube.PodSpec, 'nodeSelector' | 'tolerations' | 'runtimeClassName'> {
  const nodeSelector = { ...placement?.nodeSelector, ...(gpu ? { 'cloud.google.com/gke-accelerator': gpu.acceleratorType } : {}) };
  const tolerations = [...(placement?.tolerations ?? []), ...(gpu ? [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] : [])];
  return {
    nodeSelector: Object.keys(nodeSelector).length > 0 ? nodeSelector : undefined,
    tolerations: tolerations.length > 0 ? tolerations : undefined,
    runtimeClassName: placement?.runtimeClassName,
  };
}

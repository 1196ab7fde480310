/**
 * Containers and pod specs that meet the restricted Pod Security Standard as they are built, on the
 * Kubernetes 1.31 typings, whose `toJson` keeps every 1.31 field (container `restartPolicy`, the
 * native sidecar switch, included). Nothing edits the rendered objects afterwards.
 *
 * The restricted checks, as pod-security-admission v0.31.0 evaluates them (kubernetes/pod-security-admission,
 * policy/check_allowPrivilegeEscalation.go, check_capabilities_restricted.go, check_runAsNonRoot.go,
 * check_runAsUser.go, check_seccompProfile_restricted.go at tag v0.31.0): allowPrivilegeEscalation
 * false on every container; capabilities.drop includes ALL; runAsNonRoot true; runAsUser never 0;
 * seccomp RuntimeDefault or Localhost. Beyond them the project wants a read-only root filesystem,
 * numeric user and group ids, CPU and memory requests and limits on every container, and no API
 * token in the pod (the policy gate's security.read-only-root-fs, security.user-group-id,
 * resources.cpu-memory and security.automount-token rules).
 */
import type { Resources } from '../../config/schema/primitives';
import * as k8s from '../../imports/k8s-1.31';

declare const RESTRICTED: unique symbol;

/** A container from `restrictedContainer`: the only kind `restrictedPodSpec` accepts. */
export type RestrictedContainer = k8s.Container & { readonly [RESTRICTED]: true };

export interface RestrictedContainerProps extends Omit<k8s.Container, 'image' | 'resources' | 'securityContext' | 'restartPolicy'> {
  readonly image: string;
  /** Numeric, not 0: PSS restricted refuses uid 0 and the policy gate wants a numeric user. */
  readonly runAsUser: number;
  /**
   * Numeric group id, not 0.
   * @default - the pod's runAsGroup (restrictedPodSpec refuses a container left with neither)
   */
  readonly runAsGroup?: number;
  /** CPU and memory requests and limits, as the config gives them. */
  readonly resources: Resources;
  /**
   * Extended resources such as `nvidia.com/gpu`, each requested and limited alike: extended
   * resources are never overcommitted
   * (https://kubernetes.io/docs/concepts/policy/resource-quotas/#quota-for-extended-resources).
   * @default - none
   */
  readonly extendedResources?: Readonly<Record<string, number>>;
  /**
   * Local ephemeral storage (its emptyDirs, logs and writable layer), requested and limited alike,
   * so the scheduler reserves on the node what the container may fill before it is evicted.
   * @default - none
   */
  readonly ephemeralStorage?: string;
}

export interface RestrictedPodSpecProps extends Omit<
  k8s.PodSpec,
  'containers' | 'initContainers' | 'ephemeralContainers' | 'securityContext' | 'automountServiceAccountToken' | 'hostNetwork' | 'hostPID' | 'hostIPC'
> {
  readonly containers: readonly RestrictedContainer[];
  /**
   * Native sidecars: placed first in initContainers with `restartPolicy: Always`, so each starts
   * (after its startup probe, if any) before the next init container, runs beside the main
   * containers, and is shut down once they have all ended (k8s.io/api core/v1/types.go,
   * Container.RestartPolicy, tag v0.31.0). The init containers can therefore use them.
   * @default - none
   */
  readonly sidecars?: readonly RestrictedContainer[];
  /** Regular init containers, run to completion in order after the sidecars have started. @default - none */
  readonly initContainers?: readonly RestrictedContainer[];
  /** @default - the image's user; every container sets its own */
  readonly runAsUser?: number;
  /** @default - the image's group; then every container must set its own */
  readonly runAsGroup?: number;
  /** Group that owns the pod's volumes. @default - volumes keep their ownership */
  readonly fsGroup?: number;
  /**
   * `OnRootMismatch` spares a large volume a recursive chown at every start.
   * @default - Always (k8s.io/api core/v1/types.go, PodSecurityContext.FSGroupChangePolicy, tag v0.31.0)
   */
  readonly fsGroupChangePolicy?: 'OnRootMismatch' | 'Always';
}

const RUNTIME_DEFAULT = { type: 'RuntimeDefault' } as const;

/**
 * Requests and limits from a config `resources` block: the one conversion every chart uses. Extended
 * resources and ephemeral storage get equal requests and limits.
 */
export function containerResources(r: Resources, extended: Readonly<Record<string, number>> = {}, ephemeralStorage?: string): k8s.ResourceRequirements {
  const q = k8s.Quantity.fromString;
  const ext: Record<string, k8s.Quantity> = Object.fromEntries(
    Object.entries(extended).map(([name, count]) => {
      if (!Number.isInteger(count) || count < 1) throw new Error(`extended resource ${name}: count must be a positive integer, not ${count}`);
      return [name, k8s.Quantity.fromNumber(count)];
    }),
  );
  if (ephemeralStorage !== undefined) ext['ephemeral-storage'] = q(ephemeralStorage);
  return {
    requests: { cpu: q(r.requests.cpu), memory: q(r.requests.memory), ...ext },
    limits: { cpu: q(r.limits.cpu), memory: q(r.limits.memory), ...ext },
  };
}

/** A container that runs as the given non-root ids with no privileges, no capabilities, seccomp and a read-only image. */
export function restrictedContainer(props: RestrictedContainerProps): RestrictedContainer {
  const { runAsUser, runAsGroup, resources, extendedResources, ephemeralStorage, ...container } = props;
  checkId(`container ${props.name}: runAsUser`, runAsUser);
  if (runAsGroup !== undefined) checkId(`container ${props.name}: runAsGroup`, runAsGroup);
  return {
    ...container,
    resources: containerResources(resources, extendedResources, ephemeralStorage),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup,
      runAsNonRoot: true,
      runAsUser,
      seccompProfile: RUNTIME_DEFAULT,
    },
  } as RestrictedContainer;
}

/** A pod spec with no API token, non-root and seccomp at pod level, restricted containers and native sidecars. */
export function restrictedPodSpec(props: RestrictedPodSpecProps): k8s.PodSpec {
  const { containers, sidecars = [], initContainers = [], runAsUser, runAsGroup, fsGroup, fsGroupChangePolicy, ...spec } = props;
  for (const [field, id] of Object.entries({ runAsUser, runAsGroup, fsGroup })) if (id !== undefined) checkId(`pod ${field}`, id);
  if (containers.length === 0) throw new Error('restrictedPodSpec: a pod needs at least one container');
  const all = [...sidecars, ...initContainers, ...containers];
  const names = all.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined)
    throw new Error(`restrictedPodSpec: container name "${duplicate}" is used twice; names are unique across all containers of a pod`);
  for (const c of all) checkRestricted(c, runAsGroup);
  for (const c of initContainers) {
    // Regular init containers may not have lifecycle actions or probes; only sidecars may
    // (k8s.io/api core/v1/types.go, PodSpec.InitContainers, tag v0.31.0;
    // https://kubernetes.io/docs/concepts/workloads/pods/init-containers/).
    const forbidden = (['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const).filter((f) => c[f] !== undefined);
    if (forbidden.length > 0)
      throw new Error(`init container ${c.name}: ${forbidden.join(', ')} not allowed on a regular init container; make it a sidecar or drop them`);
  }
  return {
    ...spec,
    automountServiceAccountToken: false,
    securityContext: { fsGroup, fsGroupChangePolicy, runAsGroup, runAsNonRoot: true, runAsUser, seccompProfile: RUNTIME_DEFAULT },
    initContainers: sidecars.length + initContainers.length > 0 ? [...sidecars.map((s) => ({ ...s, restartPolicy: 'Always' })), ...initContainers] : undefined,
    containers: [...containers],
  };
}

function checkId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 2147483647) throw new Error(`${what} must be an integer from 1 to 2147483647, not ${id}`);
}

/** Catches a restricted container whose security context or resources were replaced after it was built. */
function checkRestricted(c: RestrictedContainer, podGroup: number | undefined): void {
  const sc = c.securityContext;
  const r = c.resources;
  const problems = [
    sc?.allowPrivilegeEscalation === false ? '' : 'allowPrivilegeEscalation false',
    sc?.capabilities?.drop?.includes('ALL') && !sc.capabilities.add?.length ? '' : 'capabilities drop ALL, add none',
    sc?.privileged === false ? '' : 'privileged false',
    sc?.readOnlyRootFilesystem === true ? '' : 'readOnlyRootFilesystem true',
    sc?.runAsNonRoot === true ? '' : 'runAsNonRoot true',
    typeof sc?.runAsUser === 'number' && sc.runAsUser > 0 ? '' : 'a non-zero runAsUser',
    (sc?.runAsGroup ?? podGroup ?? 0) > 0 ? '' : 'a non-zero runAsGroup (container or pod)',
    sc?.seccompProfile?.type === 'RuntimeDefault' ? '' : 'seccompProfile RuntimeDefault',
    r?.requests?.cpu && r.requests.memory && r.limits?.cpu && r.limits.memory ? '' : 'CPU and memory requests and limits',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`container ${c.name} is not restricted: it needs ${problems.join(', ')}`);
}

/**
 * An HTTPS GET probe of a named port, 5 s timeout. The kubelet sends HTTPS probes without checking the
 * certificate (Kubernetes docs, "Configure Liveness, Readiness and Startup Probes", HTTP probes): the
 * server's name and CA do not matter to it.
 */
export function httpsProbe(path: string, port: string | number, periodSeconds: number, failureThreshold: number): k8s.Probe {
  const target = typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port);
  return { httpGet: { path, port: target, scheme: 'HTTPS' }, periodSeconds, timeoutSeconds: 5, failureThreshold };
}

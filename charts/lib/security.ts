/**
 * The restricted Pod Security baseline that cdk8s-plus-27 cannot express: it has no `ALL` capability
 * and no seccomp field. Applied after rendering, to every container, init container and ephemeral
 * container of whatever pod template the object holds.
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

type Json = Record<string, any>;

/** The pod spec inside a rendered workload, Job, CronJob or Pod, if any. */
export function podSpecOf(manifest: Json): Json | undefined {
  switch (manifest.kind) {
    case 'Pod':
      return manifest.spec;
    case 'CronJob':
      return manifest.spec?.jobTemplate?.spec?.template?.spec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return manifest.spec?.template?.spec;
    default:
      return undefined;
  }
}

/** Every container list of a pod spec. */
export function containersOf(podSpec: Json): Json[] {
  return [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? []), ...(podSpec.ephemeralContainers ?? [])];
}

/** Sets drop ALL capabilities and the RuntimeDefault seccomp profile on a rendered pod spec. */
export function restrictPodSpec(podSpec: Json): void {
  podSpec.securityContext = { ...podSpec.securityContext, seccompProfile: { type: 'RuntimeDefault' } };
  for (const container of containersOf(podSpec)) {
    const sc = (container.securityContext = container.securityContext ?? {});
    sc.allowPrivilegeEscalation = false;
    sc.privileged = false;
    sc.runAsNonRoot = true;
    sc.capabilities = { drop: ['ALL'] };
    sc.seccompProfile = { type: 'RuntimeDefault' };
  }
}

/**
 * Edits an object's final JSON. Patches on the generated classes are filtered against the 1.27
 * schema and silently dropped for unknown shapes; editing the output is the one reliable hook.
 */
export function editRendered(construct: IConstruct, edit: (manifest: Json) => void): void {
  const apiObject = ApiObject.of(construct);
  const base = apiObject.toJson.bind(apiObject);
  apiObject.toJson = () => {
    const manifest = base();
    edit(manifest);
    return manifest;
  };
}

/** Applies the restricted baseline to a workload construct (Deployment, StatefulSet, Job, CronJob). */
export function restrictWorkload(workload: IConstruct): void {
  editRendered(workload, (manifest) => {
    const podSpec = podSpecOf(manifest);
    if (!podSpec) throw new Error(`restrictWorkload: ${manifest.kind} ${manifest.metadata?.name} has no pod template`);
    restrictPodSpec(podSpec);
  });
}

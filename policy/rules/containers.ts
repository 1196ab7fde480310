/**
 * Per-container and per-pod best practices from the kube-score, kube-linter and Polaris default sets:
 * resources, images, hardening beyond PSS, probes, environment and selectors.
 */
import { ContainerAt, PodTemplate, PolicySet, selectorMatches as matches, workContainers } from '../model';
import type { Json, Violation } from '../types';
import type { Rule } from '../rule';

const name = (c: ContainerAt) => `container "${c.container.name ?? '?'}"`;

function perContainer(lists: 'work' | 'main', fn: (t: PodTemplate, c: ContainerAt, set: PolicySet) => Iterable<Violation>) {
  return function* (set: PolicySet): Iterable<Violation> {
    for (const t of set.templates) for (const c of workContainers(t)) if (lists === 'work' || c.list === 'containers') yield* fn(t, c, set);
  };
}

/** Tag of an image reference: the part after `:` in the last path segment; undefined if none. */
export function imageTag(image: string): { tag?: string; digest?: string } {
  const [ref, digest] = image.split('@', 2);
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return { tag: colon >= 0 ? last.slice(colon + 1) : undefined, digest };
}

function effective(t: PodTemplate, c: ContainerAt, field: string): unknown {
  return c.container.securityContext?.[field] ?? t.spec.securityContext?.[field];
}

function probePort(probe: Json | undefined): unknown {
  return probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
}

export const containerRules: Rule[] = [
  {
    id: 'resources.cpu-memory',
    severity: 'error',
    requires: 'Every container and init container sets CPU and memory requests and limits.',
    sources: ['kube-score', 'kube-linter', 'Polaris', 'mlflow-gke design'],
    check: perContainer('work', function* (t, c) {
      for (const kind of ['requests', 'limits'])
        for (const res of ['cpu', 'memory']) {
          const v = c.container.resources?.[kind]?.[res];
          if (v === undefined || v === null || v === '')
            yield {
              object: t.object,
              path: `${c.path}.resources.${kind}.${res}`,
              message: `${name(c)} has no ${res} ${kind.replace(/s$/, '')}`,
              fix: `set resources.${kind}.${res}`,
            };
        }
    }),
  },
  {
    id: 'resources.ephemeral-storage',
    severity: 'warning',
    requires: 'Every container and init container sets an ephemeral-storage request and limit.',
    sources: ['kube-score'],
    check: perContainer('work', function* (t, c) {
      for (const kind of ['requests', 'limits'])
        if (c.container.resources?.[kind]?.['ephemeral-storage'] === undefined)
          yield {
            object: t.object,
            path: `${c.path}.resources.${kind}.ephemeral-storage`,
            message: `${name(c)} has no ephemeral-storage ${kind.replace(/s$/, '')}`,
            fix: `set resources.${kind}.ephemeral-storage`,
          };
    }),
  },
  {
    id: 'image.tag',
    severity: 'error',
    requires: 'Every image is pinned by a tag other than `latest`, or by digest.',
    sources: ['kube-score', 'kube-linter', 'Polaris'],
    check: function* (set) {
      for (const t of set.templates)
        for (const c of workContainers(t)) {
          const image = c.container.image;
          if (typeof image !== 'string' || image === '') {
            yield { object: t.object, path: `${c.path}.image`, message: `${name(c)} has no image`, fix: 'set image to repository:tag' };
            continue;
          }
          const { tag, digest } = imageTag(image);
          if (digest) continue;
          if (!tag)
            yield {
              object: t.object,
              path: `${c.path}.image`,
              message: `${name(c)} image ${image} has no tag`,
              fix: 'pin a version tag (repository:1.2.3) or a digest',
            };
          else if (tag === 'latest')
            yield { object: t.object, path: `${c.path}.image`, message: `${name(c)} image ${image} uses latest`, fix: 'pin a version tag or a digest' };
        }
    },
  },
  {
    id: 'security.read-only-root-fs',
    severity: 'error',
    requires: 'Every container and init container sets `readOnlyRootFilesystem: true` (emptyDir mounts where it writes).',
    sources: ['kube-score', 'kube-linter', 'Polaris', 'mlflow-gke design'],
    check: perContainer('work', function* (t, c) {
      if (c.container.securityContext?.readOnlyRootFilesystem !== true)
        yield {
          object: t.object,
          path: `${c.path}.securityContext.readOnlyRootFilesystem`,
          message: `${name(c)} has a writable root filesystem`,
          fix: 'set securityContext.readOnlyRootFilesystem: true and mount emptyDir where it writes',
        };
    }),
  },
  {
    id: 'security.user-group-id',
    severity: 'error',
    requires: 'Every container runs with a numeric `runAsUser` and a non-zero `runAsGroup` (pod or container level).',
    sources: ['kube-score', 'kube-linter', 'mlflow-gke design'],
    check: perContainer('work', function* (t, c) {
      if (typeof effective(t, c, 'runAsUser') !== 'number')
        yield {
          object: t.object,
          path: `${c.path}.securityContext.runAsUser`,
          message: `${name(c)} has no numeric runAsUser (pod or container)`,
          fix: `set ${t.specPath}.securityContext.runAsUser to the image's non-root uid`,
        };
      const gid = effective(t, c, 'runAsGroup');
      if (gid === 0)
        yield {
          object: t.object,
          path: c.container.securityContext?.runAsGroup === 0 ? `${c.path}.securityContext.runAsGroup` : `${t.specPath}.securityContext.runAsGroup`,
          message: `${name(c)} runs with group 0`,
          fix: 'set a non-zero runAsGroup',
        };
      else if (typeof gid !== 'number')
        yield {
          object: t.object,
          path: `${c.path}.securityContext.runAsGroup`,
          message: `${name(c)} has no runAsGroup (pod or container), so the image's group applies`,
          fix: `set ${t.specPath}.securityContext.runAsGroup`,
        };
    }),
  },
  {
    id: 'security.high-uid',
    severity: 'warning',
    requires: 'runAsUser and runAsGroup are 10000 or more, away from host users.',
    sources: ['kube-score'],
    check: perContainer('work', function* (t, c) {
      for (const field of ['runAsUser', 'runAsGroup']) {
        const id = effective(t, c, field);
        if (typeof id === 'number' && id > 0 && id < 10000)
          yield {
            object: t.object,
            path: `${c.path}.securityContext.${field}`,
            message: `${name(c)} ${field} ${id} is below 10000`,
            fix: `use a ${field} of 10000 or more where the image allows it`,
          };
      }
    }),
  },
  {
    id: 'security.automount-token',
    severity: 'error',
    requires:
      'The pod does not mount a Kubernetes API token: `automountServiceAccountToken: false` on the pod, or on its ServiceAccount with the pod not overriding it. Pods that call the API carry an exemption with the reason.',
    sources: ['Polaris', 'mlflow-gke design'],
    check: function* (set) {
      for (const t of set.templates) {
        const pod = t.spec.automountServiceAccountToken;
        if (pod === false) continue;
        const saName = t.spec.serviceAccountName ?? t.spec.serviceAccount ?? 'default';
        const sa = set.find('ServiceAccount', t.namespace, saName)?.manifest;
        if (pod === undefined && sa?.automountServiceAccountToken === false) continue;
        yield {
          object: t.object,
          path: `${t.specPath}.automountServiceAccountToken`,
          message:
            pod === true
              ? 'pod mounts a service account token'
              : `pod mounts a service account token: neither it nor ServiceAccount ${saName} sets automountServiceAccountToken: false`,
          fix: `set ${t.specPath}.automountServiceAccountToken: false, or exempt with the reason the pod calls the API`,
        };
      }
    },
  },
  {
    id: 'probes.readiness',
    severity: 'error',
    requires:
      'Every long-running pod (not Job/CronJob) has a readinessProbe on at least one container, the one that serves; sidecars may go without (a Cloud SQL Auth Proxy readiness would take every pod out of its Service during database maintenance).',
    sources: ['kube-score', 'kube-linter', 'Polaris', 'mlflow-gke design'],
    check: function* (set) {
      for (const t of set.templates) {
        const main = workContainers(t).filter((c) => c.list === 'containers');
        if (!t.longRunning || main.length === 0 || main.some((c) => c.container.readinessProbe)) continue;
        yield {
          object: t.object,
          path: `${main[0].path}.readinessProbe`,
          message: `no container of the pod has a readinessProbe: it takes traffic before it can serve`,
          fix: 'add a readinessProbe to the serving container',
        };
      }
    },
  },
  {
    id: 'probes.liveness',
    severity: 'warning',
    requires: 'Every container of a long-running pod has a livenessProbe.',
    sources: ['kube-score', 'kube-linter', 'Polaris'],
    check: perContainer('main', function* (t, c) {
      if (t.longRunning && !c.container.livenessProbe)
        yield {
          object: t.object,
          path: `${c.path}.livenessProbe`,
          message: `${name(c)} has no livenessProbe`,
          fix: 'add a livenessProbe that detects a hung process',
        };
    }),
  },
  {
    id: 'probes.identical',
    severity: 'warning',
    requires: 'Liveness and readiness probes differ (an identical pair restarts a container that is merely busy).',
    sources: ['kube-score'],
    check: perContainer('main', function* (t, c) {
      const { livenessProbe: l, readinessProbe: r } = c.container;
      if (l && r && JSON.stringify(l) === JSON.stringify(r))
        yield {
          object: t.object,
          path: `${c.path}.livenessProbe`,
          message: `${name(c)} livenessProbe equals its readinessProbe`,
          fix: 'give liveness a longer period/threshold or a different check',
        };
    }),
  },
  {
    id: 'probes.port',
    severity: 'error',
    requires: 'A probe that names a port names one the container declares.',
    sources: ['kube-linter'],
    check: perContainer('work', function* (t, c) {
      const names = new Set((c.container.ports ?? []).map((p: Json) => p?.name).filter(Boolean));
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const port = probePort(c.container[probe]);
        if (typeof port === 'string' && !/^\d+$/.test(port) && !names.has(port)) {
          const kind = ['httpGet', 'tcpSocket', 'grpc'].find((k) => c.container[probe]?.[k]);
          yield {
            object: t.object,
            path: `${c.path}.${probe}.${kind}.port`,
            message: `${name(c)} ${probe} uses port "${port}", which the container does not declare`,
            fix: 'name a declared container port or use the number',
          };
        }
      }
    }),
  },
  {
    id: 'env.duplicate',
    severity: 'error',
    requires: 'No container defines the same environment variable twice.',
    sources: ['kube-score', 'kube-linter'],
    check: perContainer('work', function* (t, c) {
      const seen = new Set<string>();
      const env: Json[] = c.container.env ?? [];
      for (let i = 0; i < env.length; i++) {
        if (seen.has(env[i]?.name))
          yield { object: t.object, path: `${c.path}.env[${i}].name`, message: `${name(c)} defines ${env[i].name} twice`, fix: 'remove one definition' };
        seen.add(env[i]?.name);
      }
    }),
  },
  {
    id: 'workload.selector-labels',
    severity: 'error',
    requires: "A workload's selector matches its own pod template labels.",
    sources: ['kube-score', 'kube-linter'],
    check: function* (set) {
      for (const t of set.templates) {
        if (!['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(t.kind)) continue;
        const selector = t.object.manifest.spec?.selector;
        if (!selector || !(selector.matchLabels || selector.matchExpressions))
          yield {
            object: t.object,
            path: 'spec.selector',
            message: 'workload has no selector',
            fix: 'set spec.selector.matchLabels to the selector labels of the template',
          };
        else if (!matches(selector, t.labels))
          yield {
            object: t.object,
            path: 'spec.selector',
            message: 'selector does not match the pod template labels',
            fix: `make ${t.metaPath}.labels include spec.selector.matchLabels`,
          };
      }
    },
  },
  {
    id: 'job.ttl',
    severity: 'warning',
    requires: 'A Job not owned by a CronJob sets `ttlSecondsAfterFinished` so finished pods are cleaned up.',
    sources: ['kube-linter'],
    check: function* (set) {
      for (const o of set.ofKind('Job'))
        if (o.manifest.spec?.ttlSecondsAfterFinished === undefined)
          yield {
            object: o,
            path: 'spec.ttlSecondsAfterFinished',
            message: 'Job is never cleaned up after it finishes',
            fix: 'set spec.ttlSecondsAfterFinished, or exempt the Job with that reason when GitOps re-applies it (a deleted Job is re-created and runs again)',
          };
    },
  },
  {
    id: 'cronjob.deadline',
    severity: 'warning',
    requires: 'A CronJob sets `startingDeadlineSeconds`.',
    sources: ['kube-score'],
    check: function* (set) {
      for (const o of set.ofKind('CronJob'))
        if (o.manifest.spec?.startingDeadlineSeconds === undefined)
          yield {
            object: o,
            path: 'spec.startingDeadlineSeconds',
            message: 'CronJob has no starting deadline: missed runs may pile up',
            fix: 'set spec.startingDeadlineSeconds',
          };
    },
  },
];

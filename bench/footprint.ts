/**
 * What a render costs a cluster: CPU and memory requests and limits of the workloads that run all
 * the time, and the storage they claim. Scheduled and one-shot pods (CronJobs, Jobs) are listed apart.
 */
import { cpuMillis, sizeBytes } from '../config/schema/primitives';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON (rendered manifests), read at any depth
type Json = Record<string, any>;

export interface Footprint {
  cpuRequestMillis: number;
  cpuLimitMillis: number;
  memoryRequestBytes: number;
  memoryLimitBytes: number;
  storageBytes: number;
  /** Largest CPU and memory request of any single Job or CronJob run. */
  transientCpuRequestMillis: number;
  transientMemoryRequestBytes: number;
  pods: number;
}

/** Parses a Kubernetes quantity as the renders write them ("500m", "2", "1Gi", "512Mi"). */
function cpu(q: unknown): number {
  return q === undefined ? 0 : cpuMillis(String(q));
}
function bytes(q: unknown): number {
  if (q === undefined) return 0;
  const s = String(q);
  if (/^[0-9]+$/.test(s)) return Number(s);
  if (/^[0-9]+(Ki|Mi|Gi|Ti)$/.test(s)) return sizeBytes(s);
  const m = /^([0-9]+)(k|M|G|T)$/.exec(s);
  if (m) return Number(m[1]) * 1000 ** ('kMGT'.indexOf(m[2]) + 1);
  throw new Error(`unsupported quantity ${s}`);
}

function podTotals(spec: Json) {
  // Init containers run before the app containers; a pod reserves the larger of the two sums. Native
  // sidecars (init containers with restartPolicy Always) keep running: each counts with the app
  // containers and with every init container after it (kubernetes/enhancements
  // keps/sig-node/753-sidecar-containers, "Resources calculation for scheduling and pod admission").
  const sum = (list: Json[] = [], key: 'requests' | 'limits') => ({
    cpu: list.reduce((a, c) => a + cpu(c.resources?.[key]?.cpu), 0),
    memory: list.reduce((a, c) => a + bytes(c.resources?.[key]?.memory), 0),
  });
  const maxOf = (key: 'requests' | 'limits') => {
    const inits: Json[] = spec.initContainers ?? [];
    const sidecarsBefore = (i: number) => inits.slice(0, i).filter((c) => c.restartPolicy === 'Always');
    const main = sum([...(spec.containers ?? []), ...inits.filter((c) => c.restartPolicy === 'Always')], key);
    const init = inits.map((c, i) => (c.restartPolicy === 'Always' ? sum([], key) : sum([...sidecarsBefore(i), c], key)));
    return {
      cpu: Math.max(main.cpu, ...init.map((i: { cpu: number }) => i.cpu)),
      memory: Math.max(main.memory, ...init.map((i: { memory: number }) => i.memory)),
    };
  };
  return { requests: maxOf('requests'), limits: maxOf('limits') };
}

export function footprint(objects: Json[]): Footprint {
  const f: Footprint = {
    cpuRequestMillis: 0,
    cpuLimitMillis: 0,
    memoryRequestBytes: 0,
    memoryLimitBytes: 0,
    storageBytes: 0,
    transientCpuRequestMillis: 0,
    transientMemoryRequestBytes: 0,
    pods: 0,
  };
  // A workload an autoscaler owns renders no replica count; it runs at least the autoscaler's minimum.
  const autoscaled = new Map(
    objects
      .filter((o) => o.kind === 'HorizontalPodAutoscaler')
      .map((h) => [`${h.metadata.namespace}/${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}`, h.spec.minReplicas ?? 1]),
  );
  for (const o of objects) {
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') {
      const replicas = o.spec.replicas ?? autoscaled.get(`${o.metadata?.namespace}/${o.kind}/${o.metadata?.name}`) ?? 1;
      const t = podTotals(o.spec.template.spec);
      f.pods += replicas;
      f.cpuRequestMillis += replicas * t.requests.cpu;
      f.cpuLimitMillis += replicas * t.limits.cpu;
      f.memoryRequestBytes += replicas * t.requests.memory;
      f.memoryLimitBytes += replicas * t.limits.memory;
      for (const claim of o.spec.volumeClaimTemplates ?? []) f.storageBytes += replicas * bytes(claim.spec.resources.requests.storage);
    } else if (o.kind === 'PersistentVolumeClaim') {
      f.storageBytes += bytes(o.spec.resources.requests.storage);
    } else if (o.kind === 'Job' || o.kind === 'CronJob') {
      const spec = o.kind === 'Job' ? o.spec.template.spec : o.spec.jobTemplate.spec.template.spec;
      const t = podTotals(spec);
      f.transientCpuRequestMillis = Math.max(f.transientCpuRequestMillis, t.requests.cpu);
      f.transientMemoryRequestBytes = Math.max(f.transientMemoryRequestBytes, t.requests.memory);
    }
  }
  return f;
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? `${millis / 1000}` : `${(millis / 1000).toFixed(2)}`;
}

export function formatBytes(b: number): string {
  const gi = b / 2 ** 30;
  return gi >= 1 ? `${Number.isInteger(gi) ? gi : gi.toFixed(2)} GiB` : `${Math.round(b / 2 ** 20)} MiB`;
}

/**
 * Whether the controllers could create every workload's Pods. There is no scheduler and no kubelet:
 * Pods are created (and judged by admission, Pod Security included) and then stay Pending, so a
 * StatefulSet with ordered start gets its first Pod only. A CronJob gets one Job, as
 * `kubectl create job --from=cronjob/NAME` makes it by hand.
 */
import type { Cluster } from './cluster';

type Json = Record<string, any>;

const id = (o: Json) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Pods a workload's controller creates at once, with no Pod ever becoming ready. */
function podsExpected(o: Json): number {
  const spec = o.spec ?? {};
  if (o.kind === 'Deployment') return spec.replicas ?? 1;
  if (o.kind === 'StatefulSet') return Math.min(spec.replicas ?? 1, spec.podManagementPolicy === 'Parallel' ? Infinity : 1);
  if (o.kind === 'Job') return spec.suspend ? 0 : Math.min(spec.parallelism ?? 1, spec.completions ?? 1);
  return 0;
}

/** Names the Pods of each workload (ReplicaSets resolved to their Deployment) from the server's Pods. */
async function podsByWorkload(cluster: Cluster): Promise<Map<string, Json[]>> {
  const [pods, replicaSets] = await Promise.all([cluster.list('pods'), cluster.list('replicasets')]);
  const owner = (o: Json) => o.metadata.ownerReferences?.find((r: Json) => r.controller);
  const rsOwner = new Map(replicaSets.map((rs) => [`${rs.metadata.namespace}/${rs.metadata.name}`, owner(rs)]));
  const out = new Map<string, Json[]>();
  for (const pod of pods) {
    let ref = owner(pod);
    if (ref?.kind === 'ReplicaSet') ref = rsOwner.get(`${pod.metadata.namespace}/${ref.name}`);
    if (!ref) continue;
    const key = `${ref.kind} ${pod.metadata.namespace}/${ref.name}`;
    out.set(key, [...(out.get(key) ?? []), pod]);
  }
  return out;
}

/** Starts one Job from each CronJob among `objects`, as a person checks a CronJob by hand. */
export async function runCronJobsOnce(cluster: Cluster, objects: readonly Json[]): Promise<Json[]> {
  const jobs: Json[] = [];
  for (const cron of objects.filter((o) => o.kind === 'CronJob')) {
    const name = `${cron.metadata.name}`.slice(0, 52) + '-manual';
    await cluster.kubectl(['create', 'job', '-n', cron.metadata.namespace, `--from=cronjob/${cron.metadata.name}`, name]);
    jobs.push({ kind: 'Job', metadata: { namespace: cron.metadata.namespace, name }, spec: cron.spec.jobTemplate.spec });
  }
  return jobs;
}

/**
 * Waits until every workload among `objects` has the Pods its controller creates; returns one line
 * per workload that has not, with the controller's FailedCreate events (Pod Security's refusals among
 * them). Empty when every Pod was admitted.
 */
export async function missingPods(cluster: Cluster, objects: readonly Json[], timeoutMs = 60_000): Promise<string[]> {
  const workloads = objects.filter((o) => podsExpected(o) > 0);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await podsByWorkload(cluster);
    const short = workloads.filter((w) => (pods.get(id(w))?.length ?? 0) < podsExpected(w));
    if (short.length === 0) return [];
    if (Date.now() > deadline) {
      const events = (await cluster.list('events')).filter((e) => e.reason === 'FailedCreate');
      return short.map((w) => {
        const why = events
          .filter((e) => e.metadata.namespace === w.metadata.namespace && e.involvedObject.name.startsWith(w.metadata.name))
          .map((e) => e.message);
        return `${id(w)}: ${pods.get(id(w))?.length ?? 0} of ${podsExpected(w)} Pods created${why.length ? `: ${[...new Set(why)].join(' | ')}` : ''}`;
      });
    }
    await sleep(1000);
  }
}

/**
 * One render on one fresh control plane, with the checks every render must pass: it applies with no
 * error and no warning, the controllers create every workload's Pods (so Pod Security admitted them),
 * the references resolve on the server, and a second apply changes nothing. `onCluster` starts the
 * cluster and applies in beforeAll, stops it in afterAll; `expectRenderChecks` adds the four tests.
 */
import type { Cluster } from './cluster';
import { CLUSTER_TIMEOUT, startCluster } from './cluster';
import { Applied, applyFiles, applyText, FIELD_MANAGER, ManifestFile } from './apply';
import { checkReferences } from './references';
import { unexplainedWarnings } from './warnings';
import { missingPods, runCronJobsOnce } from './workloads';

type Json = Record<string, any>;

export interface Scenario {
  cluster: Cluster;
  files: ManifestFile[];
  applied: Applied;
  /** Workloads whose Pods the controllers should have made: the applied ones and one Job per CronJob. */
  workloads: Json[];
}

/** Starts a control plane and applies `files()` to it before the tests of the enclosing describe. */
export function onCluster(files: () => ManifestFile[] | Promise<ManifestFile[]>): Scenario {
  const scenario = {} as Scenario;
  beforeAll(async () => {
    scenario.cluster = await startCluster();
    scenario.files = await files();
    scenario.applied = await applyFiles(scenario.cluster, scenario.files);
    scenario.workloads = [...scenario.applied.objects, ...(await runCronJobsOnce(scenario.cluster, scenario.applied.objects))];
  }, CLUSTER_TIMEOUT);
  afterAll(() => scenario.cluster?.stop());
  return scenario;
}

/** Kinds whose objects the controllers write (status, replicas, annotations) while the tests run. */
const WRITTEN_BY_CONTROLLERS = new Set([
  'Deployment',
  'StatefulSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'PersistentVolumeClaim',
]);

/**
 * Kinds whose status a controller writes by server-side apply on the status subresource:
 * kube-controller-manager's ValidatingAdmissionPolicy status controller (kubernetes
 * pkg/controller/validatingadmissionpolicystatus) applies status.typeChecking and observedGeneration
 * as manager validatingadmissionpolicy-status. The next apply of ours, unchanged, then re-sorts the
 * object's managedFields, which gives it a new resourceVersion and our entry a new time (seen on the
 * local control plane: once, after the status write). For these, "did not move" is: the same fields
 * of ours and the same generation, which changes with every change of the spec.
 */
const STATUS_APPLIED_BY_CONTROLLERS = new Set(['ValidatingAdmissionPolicy']);

/**
 * What of each applied object only an apply of ours changes: our field manager's entry in its managed
 * fields (the fields and the time of the last change), and the resourceVersion of the objects no
 * controller writes. The server writes nothing for an apply that changes nothing. Generations are no
 * measure: the autoscaler scales the Deployments it targets.
 */
async function ourState(scenario: Scenario): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const f of scenario.files) {
    const { items } = JSON.parse(await scenario.cluster.kubectl(['get', '-f', '-', '-o', 'json', '--show-managed-fields'], f.content));
    for (const o of items as Json[]) {
      const ours = (o.metadata.managedFields ?? []).filter((m: Json) => m.manager === FIELD_MANAGER);
      if (ours.length === 0) throw new Error(`${o.kind} ${o.metadata.name}: no managed fields of ${FIELD_MANAGER}, so no apply of ours could be seen`);
      const key = `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (STATUS_APPLIED_BY_CONTROLLERS.has(o.kind))
        state.set(key, JSON.stringify({ ours: ours.map(({ time: _time, ...entry }: Json) => entry), generation: o.metadata.generation }));
      else state.set(key, JSON.stringify({ ours, version: WRITTEN_BY_CONTROLLERS.has(o.kind) ? undefined : o.metadata.resourceVersion }));
    }
  }
  return state;
}

export function expectRenderChecks(scenario: Scenario): void {
  test('applies server-side with no error and no warning but the known ones', () => {
    expect(unexplainedWarnings(scenario.applied.warnings)).toEqual([]);
  });

  test('the controllers create the Pods of every Deployment, StatefulSet, Job and CronJob: the namespaces admit them all', async () => {
    expect(await missingPods(scenario.cluster, scenario.workloads)).toEqual([]);
    // Admitted by the render's own Pod Security labels: every namespace with Pods enforces a level.
    const namespaces = await scenario.cluster.list('namespaces');
    const withPods = new Set((await scenario.cluster.list('pods')).map((p) => p.metadata.namespace));
    const unlabelled = namespaces.filter((n) => withPods.has(n.metadata.name) && !n.metadata.labels?.['pod-security.kubernetes.io/enforce']);
    expect(unlabelled.map((n) => n.metadata.name)).toEqual([]);
  });

  test("every Pod's ServiceAccount, ConfigMaps, Secrets and claims exist, and every selector and autoscaler target finds its objects", async () => {
    await missingPods(scenario.cluster, scenario.workloads);
    const report = await checkReferences(scenario.cluster);
    expect(report.broken).toEqual([]);
    expect(report.selectNothing).toEqual([]);
  });

  test('a second apply of the same render changes nothing: kubectl diff is empty and no object moves', async () => {
    const before = await ourState(scenario);
    for (const f of scenario.files) {
      const diff = await scenario.cluster.run(['diff', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], f.content);
      expect({ file: f.name, code: diff.code, diff: diff.stdout, error: diff.stderr }).toEqual({ file: f.name, code: 0, diff: '', error: '' });
    }
    const warnings: string[] = [];
    for (const f of scenario.files) warnings.push(...(await applyText(scenario.cluster, f.name, f.content)));
    expect(unexplainedWarnings(warnings)).toEqual([]);
    const after = await ourState(scenario);
    expect([...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k)).toEqual([]);
  });
}

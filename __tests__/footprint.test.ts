import { footprint, formatBytes, formatCpu } from '../bench/footprint';
import * as fs from 'fs';
import * as path from 'path';
import { footprintTable } from '../bench/footprint-table';
import { PROJECT_ROOT } from './support/render';

const container = (cpuReq: string, memReq: string, cpuLim: string, memLim: string) => ({
  name: 'c',
  resources: { requests: { cpu: cpuReq, memory: memReq }, limits: { cpu: cpuLim, memory: memLim } },
});

describe('cluster footprint', () => {
  test('multiplies pod resources by replicas and counts claims of StatefulSets per replica', () => {
    const f = footprint([
      {
        kind: 'Deployment',
        spec: { replicas: 3, template: { spec: { containers: [container('500m', '1Gi', '1', '2Gi'), container('100m', '128Mi', '200m', '256Mi')] } } },
      },
      {
        kind: 'StatefulSet',
        spec: {
          replicas: 2,
          template: { spec: { containers: [container('250m', '512Mi', '1', '1Gi')] } },
          volumeClaimTemplates: [{ spec: { resources: { requests: { storage: '10Gi' } } } }],
        },
      },
      { kind: 'PersistentVolumeClaim', spec: { resources: { requests: { storage: '20Gi' } } } },
    ]);
    expect(f.pods).toBe(5);
    expect(f.cpuRequestMillis).toBe(3 * 600 + 2 * 250);
    expect(f.cpuLimitMillis).toBe(3 * 1200 + 2 * 1000);
    expect(f.memoryRequestBytes).toBe(3 * (2 ** 30 + 128 * 2 ** 20) + 2 * 512 * 2 ** 20);
    expect(f.storageBytes).toBe(40 * 2 ** 30);
  });

  test('a Deployment the autoscaler owns counts at the autoscaler minimum', () => {
    const f = footprint([
      {
        kind: 'Deployment',
        metadata: { name: 'mlflow', namespace: 'ml' },
        spec: { template: { spec: { containers: [container('500m', '1Gi', '1', '2Gi')] } } },
      },
      {
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'mlflow', namespace: 'ml' },
        spec: { minReplicas: 3, scaleTargetRef: { kind: 'Deployment', name: 'mlflow' } },
      },
      {
        kind: 'Deployment',
        metadata: { name: 'other', namespace: 'ml' },
        spec: { template: { spec: { containers: [container('100m', '1Gi', '1', '2Gi')] } } },
      },
    ]);
    expect(f.pods).toBe(4);
    expect(f.cpuRequestMillis).toBe(3 * 500 + 100);
  });

  test('an init container larger than the app containers sets the pod request', () => {
    const f = footprint([
      {
        kind: 'Deployment',
        spec: {
          replicas: 1,
          template: { spec: { initContainers: [container('2', '4Gi', '2', '4Gi')], containers: [container('100m', '128Mi', '100m', '128Mi')] } },
        },
      },
    ]);
    expect(f.cpuRequestMillis).toBe(2000);
    expect(f.memoryRequestBytes).toBe(4 * 2 ** 30);
  });

  // kubernetes/enhancements keps/sig-node/753-sidecar-containers, "Resources calculation for scheduling
  // and pod admission": Max(Max(InitContainerUse(i)), Sum(sidecars) + Sum(containers)), where
  // InitContainerUse(i) = Sum(sidecars before i) + InitContainer(i).
  test('a native sidecar counts with the app containers and with every init container after it', () => {
    const sidecar = { ...container('100m', '128Mi', '500m', '256Mi'), restartPolicy: 'Always' };
    const pod = (initContainers: unknown[], app = container('500m', '1Gi', '2', '2Gi')) =>
      footprint([{ kind: 'Deployment', spec: { replicas: 1, template: { spec: { initContainers, containers: [app] } } } }]);
    expect(pod([sidecar, container('500m', '1Gi', '2', '2Gi')]).cpuRequestMillis).toBe(600);
    expect(pod([sidecar, container('500m', '1Gi', '2', '2Gi')]).memoryLimitBytes).toBe(2 * 2 ** 30 + 256 * 2 ** 20);
    // A big init container after the sidecar: it and the sidecar run together.
    expect(pod([sidecar, container('3', '4Gi', '3', '4Gi')]).cpuRequestMillis).toBe(3100);
    // Before the sidecar it runs alone.
    expect(pod([container('3', '4Gi', '3', '4Gi'), sidecar]).cpuRequestMillis).toBe(3000);
  });

  test('Jobs and CronJobs count as transient, not as running workloads', () => {
    const f = footprint([
      { kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [container('300m', '256Mi', '1', '1Gi')] } } } } } },
      { kind: 'Job', spec: { template: { spec: { containers: [container('200m', '1Gi', '1', '1Gi')] } } } },
    ]);
    expect(f.pods).toBe(0);
    expect(f.cpuRequestMillis).toBe(0);
    expect(f.transientCpuRequestMillis).toBe(300);
    expect(f.transientMemoryRequestBytes).toBe(2 ** 30);
  });

  test('figures are printed in cores and binary units', () => {
    expect(formatCpu(2500)).toBe('2.50');
    expect(formatCpu(3000)).toBe('3');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.50 GiB');
    expect(formatBytes(256 * 2 ** 20)).toBe('256 MiB');
  });
});

describe("the README's footprint table", () => {
  test('is what the render of the default and example configs gives (npm run bench -- --write rewrites it)', () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const table = footprintTable();
    expect(readme).toContain(`${table.join('\n')}\n`);
  });
});

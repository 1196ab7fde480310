/**
 * imports/k8s-1.31.ts is generated (`npm run import`, scripts/import-k8s.js) and never edited: the
 * committed file must equal a fresh generation from the schema folder, and it must carry the 1.31
 * fields the 1.27 classes of cdk8s-plus-27 drop (docs/design.md, "Kubernetes types").
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as k8s from '../imports/k8s-1.31';
import { schemaDir } from './support/schemas';
import { strictTest } from './support/strict-tests';
import { testChart } from './support/app';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const COMMITTED = path.join(PROJECT_ROOT, 'imports', 'k8s-1.31.ts');

function firstDifference(committed: string, fresh: string): { line: number; committed?: string; fresh?: string } | undefined {
  const a = committed.split('\n');
  const b = fresh.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return { line: i + 1, committed: a[i], fresh: b[i] };
  return undefined;
}

describe('imports/k8s-1.31.ts', () => {
  strictTest('equals a fresh generation from the 1.31 schema', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-imports-'));
    try {
      const out = path.join(dir, 'k8s-1.31.ts');
      execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'import-k8s.js'), '--out', out], {
        env: { ...process.env, MLFLOW_GKE_SCHEMAS: schemaDir() },
        stdio: 'pipe',
      });
      // The first differing line makes a readable failure; a diff of the whole file would not.
      expect(firstDifference(fs.readFileSync(COMMITTED, 'utf8'), fs.readFileSync(out, 'utf8'))).toBeUndefined();
      expect(fs.readFileSync(COMMITTED).equals(fs.readFileSync(out))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keeps container restartPolicy (native sidecars) and other fields newer than 1.27 through toJson', () => {
    const chart = testChart();
    new k8s.KubePod(chart, 'pod', {
      metadata: { name: 'p' },
      spec: {
        securityContext: { appArmorProfile: { type: 'RuntimeDefault' } },
        initContainers: [{ name: 'sidecar', image: 'i:1', restartPolicy: 'Always', startupProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(1) } } }],
        containers: [{ name: 'main', image: 'i:1', resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }] }],
      },
    });
    const [pod] = Testing.synth(chart);
    expect(pod.spec.initContainers[0].restartPolicy).toBe('Always');
    expect(pod.spec.securityContext.appArmorProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.spec.containers[0].resizePolicy).toEqual([{ resourceName: 'cpu', restartPolicy: 'NotRequired' }]);
  });

  test('the generator refuses to run without the schema, naming the file it looked for', () => {
    let message = '';
    try {
      execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'import-k8s.js'), '--out', path.join(os.tmpdir(), 'never-written.ts')], {
        env: { ...process.env, MLFLOW_GKE_SCHEMAS: path.join(os.tmpdir(), 'no-such-schema-dir') },
        stdio: 'pipe',
      });
    } catch (e) {
      message = String((e as { stderr?: Buffer }).stderr);
    }
    expect(message).toContain(path.join('no-such-schema-dir', 'kubernetes', 'v1.31.0', '_definitions.json'));
  });
});

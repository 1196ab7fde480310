/** `npm run synth`: flags, environment, atomic replacement of dist/, clear failures. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { parseSynthArgs, runSynth } from '../charts/cli';
import { writeDist } from '../charts/render';
import { PROJECT_ROOT } from './support/render';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-synth-'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  jest.restoreAllMocks();
});

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else out[p] = fs.readFileSync(path.join(dir, p), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('synth command', () => {
  test('--config, --out and MLFLOW_GKE_CONFIG select the input and output', () => {
    expect(parseSynthArgs(['--config', 'config/dev.yaml'], {})).toEqual({ config: 'config/dev.yaml', out: 'dist' });
    expect(parseSynthArgs(['--config=config/prod.yaml', '--out', 'x'], {})).toEqual({ config: 'config/prod.yaml', out: 'x' });
    expect(parseSynthArgs([], { MLFLOW_GKE_CONFIG: 'config/dev.yaml' })).toEqual({ config: 'config/dev.yaml', out: 'dist' });
    expect(parseSynthArgs(['-c', 'a.yaml'], { MLFLOW_GKE_CONFIG: 'b.yaml' }).config).toBe('a.yaml');
  });

  test('an unknown argument or a flag without value is an error', () => {
    expect(() => parseSynthArgs(['--conifg', 'x'], {})).toThrow('synth: unknown argument "--conifg"; allowed: --config FILE, --out DIR');
    expect(() => parseSynthArgs(['--config'], {})).toThrow('synth: --config needs a value');
  });

  test('renders the config into the output directory', () => {
    const out = path.join(tmp, 'dist');
    expect(runSynth(['--config', path.join(PROJECT_ROOT, 'config/dev.yaml'), '--out', out], {})).toBe(0);
    expect(Object.keys(tree(out))).toEqual(expect.arrayContaining(['0000-namespaces.yaml', 'Kustomization']));
  });

  test('stale files from an earlier render are removed', () => {
    const out = path.join(tmp, 'dist');
    fs.mkdirSync(path.join(out, 'tests'), { recursive: true });
    fs.writeFileSync(path.join(out, '0009-renamed-chart.yaml'), 'stale');
    fs.writeFileSync(path.join(out, 'tests', 'old.yaml'), 'stale');
    expect(runSynth(['--out', out], {})).toBe(0);
    expect(Object.keys(tree(out))).not.toEqual(expect.arrayContaining(['0009-renamed-chart.yaml']));
    expect(Object.keys(tree(out))).not.toContain('tests/old.yaml');
  });

  test('a failed synth leaves the previous output exactly as it was', () => {
    const out = path.join(tmp, 'dist');
    expect(runSynth(['--out', out], {})).toBe(0);
    const before = tree(out);
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'project: { id: X }\n');
    expect(runSynth(['--config', bad, '--out', out], {})).toBe(1);
    expect(tree(out)).toEqual(before);
    expect(fs.readdirSync(tmp).sort()).toEqual(['bad.yaml', 'dist']);
  });

  test('prints one line per problem and no stack trace, exiting non-zero', () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'project: { id: X, number: 1, region: r, zones: [] }\nmlflw: {}\n');
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'main.ts', '--config', bad, '--out', path.join(tmp, 'out')], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${bad}: project\\.id: "X" is not allowed: must be a GCP project id`));
    expect(lines).toContain(`${bad}: mlflw: unknown field (did you mean "mlflow"?); allowed here: environment, namePrefix, project, namespaces, network, edge, database, mlflow, workspaces, cluster, kms, storage, monitoring`);
    expect(lines[lines.length - 1]).toBe(`synth failed: ${lines.length - 1} problem(s); ${path.join(tmp, 'out')}/ left unchanged`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(tmp, 'out'))).toBe(false);
  });

  test('writeDist replaces the directory in one swap and leaves no staging directories behind', () => {
    const out = path.join(tmp, 'dist');
    writeDist([{ path: 'a.yaml', content: 'a' }], out);
    writeDist([{ path: 'tests/b.yaml', content: 'b' }], out);
    expect(tree(out)).toEqual({ 'tests/b.yaml': 'b' });
    expect(fs.readdirSync(tmp)).toEqual(['dist']);
  });

  test('npm run synth renders with the embedded default and no file', () => {
    const out = path.join(tmp, 'dist');
    const stdout = execFileSync(process.execPath, [require.resolve('tsx/cli'), 'main.ts', '--out', out], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, MLFLOW_GKE_CONFIG: '' } });
    expect(stdout).toMatch(/^rendered \d+ files from <embedded default> into /);
  });
});

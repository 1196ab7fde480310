/**
 * `npm run synth`: flags, paths relative to where the command ran, and output safety: synth never
 * deletes anything it did not write, and a refused or failed write leaves the folder as it was.
 * Decoys are real folders in a temporary directory; the repository and its parent are the real ones,
 * read for real, with a guard that fails the test on any write (so a regression cannot damage them).
 * Permission and disk errors are injected at the one seam that touches the file system (CI runs as
 * root, where they cannot be provoked).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { parseSynthArgs, runSynth, USAGE } from '../synth/cli';
import { OutputFs, PROJECT_SOURCES, RENDER_MARKER, writeOutput } from '../synth/output';
import { ConfigError, loadConfig } from '../model/load';
import { PROJECT_ROOT } from './support/render';

let tmp: string;
let stdout: string[];
let stderr: string[];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-synth-'));
  stdout = [];
  stderr = [];
  jest.spyOn(console, 'log').mockImplementation((line) => void stdout.push(String(line)));
  jest.spyOn(console, 'error').mockImplementation((line) => void stderr.push(String(line)));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  jest.restoreAllMocks();
});

/** Every file under `dir` with its bytes, and every folder (as `name/`). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[`${p}/`] = '';
        walk(p);
      } else out[p] = fs.readFileSync(path.join(dir, p), 'latin1');
    }
  };
  walk('');
  return out;
}

function write(file: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

const DEV = path.join(PROJECT_ROOT, 'config/dev.yaml');
const synth = (args: string[], env: NodeJS.ProcessEnv = {}, fsOps?: OutputFs, home = path.join(tmp, 'home')) =>
  runSynth(args, { INIT_CWD: tmp, ...env }, { fs: fsOps, home });

/** Node's fs with the mutating calls replaced by failures, recorded in `calls`. */
function readOnlyFs(calls: string[]): OutputFs {
  const refuse =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push(`${name} ${String(args[0])}`);
      throw new Error(`test guard: ${name} called`);
    };
  return {
    ...fs,
    mkdirSync: refuse('mkdir'),
    renameSync: refuse('rename'),
    rmdirSync: refuse('rmdir'),
    unlinkSync: refuse('unlink'),
    writeFileSync: refuse('write'),
  } as OutputFs;
}

/** Node's fs where the `nth` use of the named call fails with `code`. */
function failingFs(call: keyof OutputFs, code: string, nth = 1): OutputFs {
  let count = 0;
  const real = fs[call] as (...args: unknown[]) => unknown;
  return {
    ...fs,
    [call]: (...args: unknown[]) => {
      if (++count === nth) throw Object.assign(new Error(`${code}: injected failure, ${call} '${String(args[0])}'`), { code });
      return real(...args);
    },
  } as OutputFs;
}

describe('synth arguments', () => {
  test('--config, --out and MLFLOW_GKE_CONFIG select the input and output', () => {
    expect(parseSynthArgs(['--config', 'config/dev.yaml'], {})).toEqual({ config: 'config/dev.yaml', out: 'dist' });
    expect(parseSynthArgs(['--config=config/prod.yaml', '--out', 'x'], {})).toEqual({ config: 'config/prod.yaml', out: 'x' });
    expect(parseSynthArgs([], { MLFLOW_GKE_CONFIG: 'config/dev.yaml' })).toEqual({ config: 'config/dev.yaml', out: 'dist' });
    expect(parseSynthArgs(['-c', 'a.yaml'], { MLFLOW_GKE_CONFIG: 'b.yaml' }).config).toBe('a.yaml');
  });

  test('an unknown argument or a flag without value is an error', () => {
    expect(() => parseSynthArgs(['--conifg', 'x'], {})).toThrow('synth: unknown argument "--conifg"; allowed: --config FILE, --out DIR, --quiet, --help');
    expect(() => parseSynthArgs(['--config'], {})).toThrow('synth: --config needs a value');
  });

  test('--help and -h print the usage and write nothing', () => {
    for (const flag of ['--help', '-h']) {
      expect(synth([flag, '--out', 'out'])).toBe(0);
      expect(stdout.pop()).toBe(USAGE);
    }
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test('relative --out and --config are taken from the folder the command ran in (INIT_CWD)', () => {
    const here = path.join(tmp, 'work', 'here');
    fs.mkdirSync(here, { recursive: true });
    fs.copyFileSync(DEV, path.join(tmp, 'work', 'env.yaml'));
    expect(synth(['--config', '../env.yaml', '--out', 'rendered'], { INIT_CWD: here })).toBe(0);
    expect(fs.existsSync(path.join(here, 'rendered', '0000-namespaces.yaml'))).toBe(true);
    expect(stdout[0]).toMatch(/^rendered \d+ files from \.\.\/env\.yaml into rendered\/$/);
  });

  test('after the summary, the next steps: the outline of dist/DEPLOY.md, cluster by cluster; --quiet leaves them out', () => {
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(0);
    expect(stdout.slice(1)).toEqual([
      'next steps: every command for this config, in order, is in dist/DEPLOY.md (docs/first-deployment.md explains them); in short:',
      expect.stringMatching(/^ {2}bash dist\/bootstrap\/gcp\.sh +once per project/),
      '  on the Config Connector cluster: kubectl apply -f dist/0001-gcp.yaml',
      '  on the workload cluster, once it is Ready: kubectl apply -f dist/0000-namespaces.yaml',
      // In name order: MLflow's auth Secrets (mlflow-auth-*) come before the database credentials.
      expect.stringMatching(/^ {2}create the Secrets there: .*mlflow\/mlflow-db-credentials \(mlflow-password, monitoring-password, postgres-password\)/),
      expect.stringMatching(
        /^ {2}install cert-manager v\d+\.\d+\.\d+ and trust-manager v\d+\.\d+\.\d+ \(DEPLOY\.md has the values\), then: kubectl apply -f dist\/0002-certificates\.yaml -f /,
      ),
      '  once MLflow is ready: kubectl apply -f dist/tests/mlflow-verify.yaml',
      // Until their backend service ids are in the config (DEPLOY.md step "Pin the IAP audience").
      expect.stringMatching(
        /^warning: the IAP audience is not pinned for .*ml-workspaces\/jupyter.*mlflow\/mlflow: each accepts a token made for any backend service of the project/,
      ),
    ]);
    // The Secrets of the Config Connector objects go to that cluster, right after its file (cloudsql).
    stdout.length = 0;
    expect(synth(['--out', 'dist'])).toBe(0);
    const steps = stdout.slice(1);
    const gcpApply = steps.findIndex((l) => /^ {2}on the Config Connector cluster: kubectl apply -f dist\/0001-gcp\.yaml$/.test(l));
    expect(gcpApply).toBeGreaterThan(0);
    expect(steps[gcpApply + 1]).toMatch(/^ {2}create the Secrets there: mlflow-gcp\/mlflow-sql-admin \(password\)$/);
    expect(steps.slice(gcpApply + 2).join('\n')).not.toContain('mlflow-gcp/');
    // The gcp file is never applied to the workload cluster.
    expect(steps.slice(gcpApply + 1).join('\n')).not.toContain('0001-gcp.yaml');
    stdout.length = 0;
    expect(synth(['--config', DEV, '--out', 'dist', '--quiet'])).toBe(0);
    expect(stdout).toEqual([expect.stringMatching(/^rendered \d+ files/)]);
  });

  test('the next steps and dist/DEPLOY.md agree: the same files on the same clusters, in the same order', () => {
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(0);
    const steps = stdout.slice(1).join('\n');
    const deploy = fs.readFileSync(path.join(tmp, 'dist', 'DEPLOY.md'), 'utf8');
    const order = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => m[1]);
    const inSteps = order(steps, /-f dist\/(\d{4}-[\w-]+\.yaml)/g);
    const inBook = order(deploy, /^kubectl --context "\$(?:MGMT|WORK)" apply -f dist\/(\d{4}-[\w-]+\.yaml)$/gm);
    expect(inSteps).toEqual(inBook);
    expect(steps).toContain(`cert-manager ${order(deploy, /--version (v[\d.]+) /g)[0]}`);
  });

  test('--out dist/ is reported as dist/, not dist//', () => {
    expect(synth(['--out', 'dist/'])).toBe(0);
    expect(stdout[0]).toMatch(/ into dist\/$/);
  });
});

describe('synth output', () => {
  test('renders into a new folder, with a marker listing exactly the files written', () => {
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(0);
    const files = Object.keys(tree(path.join(tmp, 'dist'))).filter((f) => !f.endsWith('/') && f !== RENDER_MARKER);
    expect(files).toEqual(expect.arrayContaining(['0000-namespaces.yaml', 'Kustomization', 'tests/mlflow-verify.yaml']));
    const listed = fs
      .readFileSync(path.join(tmp, 'dist', RENDER_MARKER), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(listed).toEqual([...files].sort());
  });

  test('an earlier render is replaced and its stale files vanish', () => {
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(0);
    expect(fs.existsSync(path.join(tmp, 'dist', '0004-postgres.yaml'))).toBe(true);
    expect(synth(['--out', 'dist'])).toBe(0); // the default is cloudsql: no postgres chart
    expect(fs.existsSync(path.join(tmp, 'dist', '0004-postgres.yaml'))).toBe(false);
    expect(fs.existsSync(path.join(tmp, 'dist', 'tests', 'postgres-restore.yaml'))).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual(['dist']);
  });

  test('a render from before the marker is accepted once when every entry has the render layout', () => {
    write(path.join(tmp, 'dist', '0009-renamed-chart.yaml'), 'stale');
    write(path.join(tmp, 'dist', 'Kustomization'), 'stale');
    write(path.join(tmp, 'dist', 'tests', 'old.yaml'), 'stale');
    expect(synth(['--out', 'dist'])).toBe(0);
    const after = Object.keys(tree(path.join(tmp, 'dist')));
    expect(after).not.toContain('0009-renamed-chart.yaml');
    expect(after).not.toContain('tests/old.yaml');
    expect(after).toContain(RENDER_MARKER);
  });

  test('an empty folder is used', () => {
    fs.mkdirSync(path.join(tmp, 'out'));
    expect(synth(['--out', 'out'])).toBe(0);
    expect(fs.existsSync(path.join(tmp, 'out', 'Kustomization'))).toBe(true);
  });

  test('created folders and files follow the umask', () => {
    const previous = process.umask(0o002);
    try {
      expect(synth(['--out', 'a/b/dist'])).toBe(0);
    } finally {
      process.umask(previous);
    }
    const mode = (p: string) => fs.statSync(path.join(tmp, p)).mode & 0o777;
    expect(mode('a/b/dist')).toBe(0o775);
    expect(mode('a/b/dist/tests')).toBe(0o775);
    expect(mode('a/b/dist/Kustomization')).toBe(0o664);
    expect(mode('a')).toBe(0o775);
  });

  test('a failed synth leaves the previous output exactly as it was', () => {
    expect(synth(['--out', 'dist'])).toBe(0);
    const before = tree(path.join(tmp, 'dist'));
    write(path.join(tmp, 'bad.yaml'), 'project: { id: X }\n');
    expect(synth(['--config', 'bad.yaml', '--out', 'dist'])).toBe(1);
    expect(tree(path.join(tmp, 'dist'))).toEqual(before);
    expect(fs.readdirSync(tmp).sort()).toEqual(['bad.yaml', 'dist']);
  });
});

describe('synth refuses a folder it did not write, and changes nothing in it', () => {
  const decoys: [string, (out: string) => void, RegExp][] = [
    ['a folder of notes', (out) => write(path.join(out, 'notes.md'), '# mine\n'), /not empty and not an earlier render: it holds "notes\.md"/],
    [
      'a render-like folder with one foreign file',
      (out) => {
        write(path.join(out, '0000-namespaces.yaml'));
        write(path.join(out, 'README.md'));
      },
      /holds "README\.md"/,
    ],
    ['a folder with a foreign folder', (out) => write(path.join(out, 'keep', 'data.bin'), '\0\x01'), /holds "keep"(?!,)/],
    [
      'a git repository',
      (out) => {
        write(path.join(out, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      },
      /it is a git repository/,
    ],
  ];
  test.each(decoys)('%s', (_name, make, message) => {
    const out = path.join(tmp, 'out');
    make(out);
    const before = tree(out);
    expect(synth(['--out', 'out'])).toBe(1);
    expect(stderr).toEqual([expect.stringMatching(new RegExp(`^synth failed: out/: refusing to write here: .*${message.source}.*; nothing was changed$`))]);
    expect(tree(out)).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual(['out']);
  });

  test('files added to a marked render are foreign: refused, not deleted', () => {
    expect(synth(['--out', 'dist'])).toBe(0);
    write(path.join(tmp, 'dist', '0005-mine.yaml'), 'kind: ConfigMap\n');
    write(path.join(tmp, 'dist', 'tests', 'custom.yaml'), 'kind: Job\n');
    const before = tree(path.join(tmp, 'dist'));
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(1);
    expect(stderr[0]).toBe(
      'synth failed: dist/: refusing to write here: it holds "0005-mine.yaml", "tests/custom.yaml" that the earlier render did not write; nothing was changed',
    );
    expect(tree(path.join(tmp, 'dist'))).toEqual(before);
  });

  test('a regular file given as --out', () => {
    write(path.join(tmp, 'out.yaml'), 'mine');
    expect(synth(['--out', 'out.yaml'])).toBe(1);
    expect(stderr[0]).toBe('synth failed: out.yaml/: refusing to write here: it is a file, not a folder; nothing was changed');
    expect(fs.readFileSync(path.join(tmp, 'out.yaml'), 'utf8')).toBe('mine');
  });

  test('a symbolic link, even to an earlier render', () => {
    expect(synth(['--out', 'real'])).toBe(0);
    fs.symlinkSync(path.join(tmp, 'real'), path.join(tmp, 'link'));
    const before = tree(path.join(tmp, 'real'));
    expect(synth(['--config', DEV, '--out', 'link'])).toBe(1);
    expect(stderr[0]).toMatch(/^synth failed: link\/: refusing to write here: it is a symbolic link/);
    expect(tree(path.join(tmp, 'real'))).toEqual(before);
    expect(fs.lstatSync(path.join(tmp, 'link')).isSymbolicLink()).toBe(true);
  });

  test('the home directory and the file-system root', () => {
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    const calls: string[] = [];
    expect(synth(['--out', home], {}, readOnlyFs(calls), home)).toBe(1);
    expect(stderr.pop()).toMatch(/refusing to write here: it is the home directory; nothing was changed$/);
    expect(synth(['--out', '/'], {}, readOnlyFs(calls))).toBe(1);
    expect(stderr.pop()).toBe('synth failed: /: refusing to write here: it is the file-system root; nothing was changed');
    expect(calls).toEqual([]);
  });

  // The real repository, read for real; the guard fs fails the test on any write.
  const repo: [string, string, string, RegExp][] = [
    ['the repository (--out .)', PROJECT_ROOT, '.', /it is the mlflow-gke repository/],
    ['the repository from examples/ (--out ..)', path.join(PROJECT_ROOT, 'examples'), '..', /it is the mlflow-gke repository/],
    ["the repository's parent (--out ..)", PROJECT_ROOT, '..', /it contains the mlflow-gke repository/],
    ['config/', PROJECT_ROOT, 'config', /inside the project's config\/ folder/],
    ['a new folder inside charts/', PROJECT_ROOT, 'charts/out', /inside the project's charts\/ folder/],
    ['__tests__/', PROJECT_ROOT, '__tests__', /inside the project's __tests__\/ folder/],
  ];
  test.each(repo)('%s', (_name, cwd, out, message) => {
    const listing = (dir: string) => fs.readdirSync(dir).sort();
    const before = [listing(PROJECT_ROOT), listing(path.dirname(PROJECT_ROOT))];
    const calls: string[] = [];
    expect(runSynth(['--out', out], { INIT_CWD: cwd }, { fs: readOnlyFs(calls) })).toBe(1);
    expect(stderr).toEqual([expect.stringMatching(message)]);
    expect(stderr[0]).toMatch(/; nothing was changed$/);
    expect(calls).toEqual([]);
    expect([listing(PROJECT_ROOT), listing(path.dirname(PROJECT_ROOT))]).toEqual(before);
  });

  test('the project sources list names every tracked top-level folder', () => {
    const tracked = execFileSync('git', ['ls-files'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.includes('/'))
      .map((f) => f.split('/')[0]);
    expect([...new Set(tracked)].filter((d) => !PROJECT_SOURCES.includes(d))).toEqual([]);
  });

  test('the marker has no extension kubectl reads, so `kubectl apply -f dist` skips it', () => {
    // k8s.io/cli-runtime pkg/resource/visitor.go: FileExtensions = []string{".json", ".yaml", ".yml"};
    // a directory walk ignores every other file.
    expect(RENDER_MARKER).not.toMatch(/\.(json|ya?ml)$/);
  });
});

describe('synth reports file-system failures in one line and keeps the previous output', () => {
  const failures: [string, keyof OutputFs, string, number, RegExp][] = [
    [
      'an unwritable parent (EACCES on mkdir)',
      'mkdirSync',
      'EACCES',
      1,
      /^synth failed: dist\/: cannot write: EACCES: injected failure, mkdirSync '.*'; nothing was changed$/,
    ],
    ['a full disk half-way (ENOSPC on the fifth file)', 'writeFileSync', 'ENOSPC', 5, /^synth failed: dist\/: cannot write: ENOSPC: injected failure/],
    ['a busy folder (EBUSY on the swap)', 'renameSync', 'EBUSY', 1, /^synth failed: dist\/: cannot replace: EBUSY: injected failure/],
    ['a folder that cannot be read (EACCES on readdir)', 'readdirSync', 'EACCES', 1, /^synth failed: dist\/: cannot read: EACCES/],
  ];
  test.each(failures)('%s', (_name, call, code, nth, message) => {
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(0);
    const before = tree(path.join(tmp, 'dist'));
    stderr.length = 0;
    expect(synth(['--out', 'dist'], {}, failingFs(call, code, nth))).toBe(1);
    expect(stderr).toEqual([expect.stringMatching(message)]);
    expect(tree(path.join(tmp, 'dist'))).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual(['dist']);
  });

  test('the swap is undone when the new render cannot be moved into place', () => {
    expect(synth(['--config', DEV, '--out', 'dist'])).toBe(0);
    const before = tree(path.join(tmp, 'dist'));
    expect(synth(['--out', 'dist'], {}, failingFs('renameSync', 'EXDEV', 2))).toBe(1);
    expect(tree(path.join(tmp, 'dist'))).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual(['dist']);
  });

  test('a config that cannot be read, or is a folder, is one line naming it', () => {
    const unreadable = () => {
      throw Object.assign(new Error("EACCES: permission denied, open 'env.yaml'"), { code: 'EACCES' });
    };
    expect(() => loadConfig('/x/env.yaml', 'env.yaml', unreadable)).toThrow(
      new ConfigError(["env.yaml: cannot read: EACCES: permission denied, open 'env.yaml'"]),
    );
    fs.mkdirSync(path.join(tmp, 'conf.yaml'));
    expect(synth(['--config', 'conf.yaml'])).toBe(1);
    expect(stderr).toEqual(['conf.yaml: is a directory; give the path of a YAML config file inside it', 'synth failed: 1 problem(s); dist/ left unchanged']);
  });

  test("writeOutput removes only the earlier render's own files; a file that appears meanwhile keeps the old folder", () => {
    const out = path.join(tmp, 'dist');
    writeOutput([{ path: 'a.yaml', content: 'a' }], out, { home: path.join(tmp, 'home') });
    // Simulates a file created between the check and the clean-up: the earlier render is renamed aside, then its own files removed.
    let injected = false;
    const sneaky: OutputFs = {
      ...fs,
      renameSync: (from: fs.PathLike, to: fs.PathLike) => {
        fs.renameSync(from, to);
        if (!injected && String(to).includes('.old-')) {
          injected = true;
          fs.writeFileSync(path.join(String(to), 'late.txt'), 'mine');
        }
      },
    } as OutputFs;
    const warning = writeOutput([{ path: 'tests/b.yaml', content: 'b' }], out, { fs: sneaky, home: path.join(tmp, 'home') });
    expect(tree(out)).toEqual({ 'tests/': '', 'tests/b.yaml': 'b', [RENDER_MARKER]: expect.any(String) });
    const kept = fs.readdirSync(tmp).filter((e) => e.startsWith('.dist.old-'));
    expect(kept).toHaveLength(1);
    expect(fs.readdirSync(path.join(tmp, kept[0]))).toEqual(['late.txt']);
    expect(warning).toMatch(/the earlier render was kept: it holds files synth did not write/);
  });
});

describe('synth as a process', () => {
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
    expect(lines).toContain(
      `${bad}: mlflw: unknown field (did you mean "mlflow"?); allowed here: environment, namePrefix, project, namespaces, network, edge, database, mlflow, tls, workspaces, cluster, kms, storage, monitoring`,
    );
    expect(lines[lines.length - 1]).toBe(`synth failed: ${lines.length - 1} problem(s); ${path.join(tmp, 'out')}/ left unchanged`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(tmp, 'out'))).toBe(false);
  });

  test('a refused folder is one line on stderr, no stack trace, exit 1', () => {
    write(path.join(tmp, 'notes', 'todo.txt'), 'mine');
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'main.ts', '--out', 'notes'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, INIT_CWD: tmp, MLFLOW_GKE_CONFIG: '' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'synth failed: notes/: refusing to write here: it is not empty and not an earlier render: it holds "todo.txt"; nothing was changed\n',
    );
    expect(fs.readFileSync(path.join(tmp, 'notes', 'todo.txt'), 'utf8')).toBe('mine');
  });

  test('the synth starter uses only public Node APIs (no Module._*, new Module, Module.wrap)', () => {
    const starter = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts', 'synth.js'), 'utf8');
    expect(starter).not.toMatch(/Module\._|new Module\(|Module\.wrap|process\.binding/);
    const output = execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'synth.js'), '--out', path.join(tmp, 'dist'), '--quiet'], {
      encoding: 'utf8',
      env: { ...process.env, MLFLOW_GKE_CONFIG: '' },
    });
    expect(output).toMatch(/^rendered \d+ files from <embedded default> into /);
  });

  test('the synth bundle is rebuilt when any file it was built from changes, wherever it lives (policy/ included)', () => {
    const cache = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'mlflow-gke');
    const run = () =>
      execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'synth.js'), '--out', path.join(tmp, 'dist'), '--quiet'], { encoding: 'utf8' });
    run();
    const inputs: string[] = JSON.parse(fs.readFileSync(path.join(cache, 'synth.js.inputs.json'), 'utf8'));
    expect(inputs).toEqual(expect.arrayContaining(['main.ts', 'synth/render.ts', 'model/names.ts', 'config/load.ts', 'policy/model.ts']));
    expect(inputs.filter((i) => i.startsWith('node_modules/'))).toEqual([]);
    // A newer input makes the next start rebuild; the file's own times are restored afterwards.
    const input = path.join(PROJECT_ROOT, 'policy', 'model.ts');
    const { atime, mtime } = fs.statSync(input);
    const before = fs.statSync(path.join(cache, 'synth.js')).mtimeMs;
    try {
      const future = new Date(Date.now() + 5000);
      fs.utimesSync(input, future, future);
      run();
      expect(fs.statSync(path.join(cache, 'synth.js')).mtimeMs).toBeGreaterThan(before);
    } finally {
      fs.utimesSync(input, atime, mtime);
    }
  });

  test('npm run synth renders with the embedded default and no file', () => {
    const out = path.join(tmp, 'dist');
    const output = execFileSync(process.execPath, [require.resolve('tsx/cli'), 'main.ts', '--out', out], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, MLFLOW_GKE_CONFIG: '' },
    });
    expect(output).toMatch(/^rendered \d+ files from <embedded default> into /);
  });
});

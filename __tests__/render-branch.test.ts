/**
 * The render workflow against a temporary git repository holding copies of config/*.yaml: one
 * branch per config, a commit only when the render changed, exactly the changed files in it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { loadConfig } from '../model/load';
import { renderPlatform } from '../synth/render';
import type { RenderedFile } from '../synth/rendered-file';
import { BranchResult, branchLayout, commitFiles, parseRenderBranchArgs, renderBranches, renderConfigFile } from '../scripts/render-branch';
import { kustomize } from './support/kubectl';
import { CONFIG_DIR, EXAMPLE_CONFIGS, Manifest, objectsOf } from './support/render';

const ENVS = EXAMPLE_CONFIGS.map((f) => f.replace(/\.ya?ml$/, '')).sort();

let tmp: string;
let repo: string;
let first: BranchResult[];
let firstLayouts: Map<string, RenderedFile[]>;

const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
const tip = (branch: string) => git('rev-parse', `refs/heads/${branch}`);
const treeFiles = (ref: string) => git('ls-tree', '-r', '--name-only', ref).split('\n').filter(Boolean).sort();
/** The real render, once per distinct config text: later cases re-render unchanged configs. */
const renders = new Map<string, RenderedFile[]>();
const cachedRender = (file: string) => {
  const text = fs.readFileSync(file, 'utf8');
  if (!renders.has(text)) renders.set(text, renderConfigFile(file));
  return renders.get(text)!;
};
const commitSource = () => {
  git('add', '-A');
  git('commit', '-q', '-m', 'change');
  return git('rev-parse', 'HEAD');
};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-render-branch-'));
  repo = path.join(tmp, 'repo');
  fs.mkdirSync(path.join(repo, 'config'), { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  git('config', 'user.name', 'render test');
  git('config', 'user.email', 'render-test@example.invalid');
  for (const env of ENVS) fs.copyFileSync(path.join(CONFIG_DIR, `${env}.yaml`), path.join(repo, 'config', `${env}.yaml`));
  commitSource();
  firstLayouts = new Map(ENVS.map((env) => [env, branchLayout(renderPlatform(loadConfig(path.join(repo, 'config', `${env}.yaml`))))]));
  // The first run uses the script's own render, uncached.
  first = renderBranches({ repo });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('there is at least one config to render', () => {
  expect(ENVS.length).toBeGreaterThan(0);
});

test('the first render commits each config to its own branch rendered/<env>, with the source commit in the message', () => {
  const source = git('rev-parse', 'main');
  expect(first.map((r) => r.branch)).toEqual(ENVS.map((e) => `rendered/${e}`));
  for (const env of ENVS) {
    const branch = `rendered/${env}`;
    const layout = firstLayouts.get(env)!;
    expect(tip(branch)).toBe(first.find((r) => r.env === env)!.commit);
    expect(treeFiles(branch)).toEqual(layout.map((f) => f.path).sort());
    for (const file of layout) expect(git('show', `${branch}:${file.path}`)).toBe(file.content.trim());
    expect(git('log', '-1', '--format=%B', branch)).toContain(`Source commit: ${source}`);
    expect(git('rev-list', '--count', branch)).toBe('1');
  }
  // The working tree, the index and the checked-out branch are untouched.
  expect(git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
  expect(git('status', '--porcelain')).toBe('');
});

test('an unchanged second render commits nothing', () => {
  const before = ENVS.map((e) => tip(`rendered/${e}`));
  const second = renderBranches({ repo }, cachedRender);
  expect(second.map((r) => ({ commit: r.commit, changed: r.changed }))).toEqual(ENVS.map(() => ({ commit: undefined, changed: [] })));
  expect(ENVS.map((e) => tip(`rendered/${e}`))).toEqual(before);
});

test("a config change commits exactly the changed files, to that config's branch only", () => {
  const [env, ...others] = ENVS;
  const file = path.join(repo, 'config', `${env}.yaml`);
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  doc.setIn(['mlflow', 'workers'], Number(doc.getIn(['mlflow', 'workers']) ?? 2) + 1);
  fs.writeFileSync(file, doc.toString());
  const source = commitSource();
  const before = { tip: tip(`rendered/${env}`), others: others.map((e) => tip(`rendered/${e}`)) };

  const expectedChanged = cachedRender(file)
    .filter((f) => firstLayouts.get(env)!.find((o) => o.path === f.path)?.content !== f.content)
    .map((f) => f.path)
    .sort();
  // The workers flag lives in the MLflow Deployment only: one workload file changes, the rest stays.
  expect(expectedChanged).toEqual([expect.stringMatching(/^apps\/(\d{4}-)?mlflow\.yaml$/)]);

  const result = renderBranches({ repo }, cachedRender);
  const changed = result.find((r) => r.env === env)!;
  expect([...changed.changed].sort()).toEqual(expectedChanged);
  expect(git('diff', '--name-only', before.tip, `rendered/${env}`).split('\n').sort()).toEqual(expectedChanged);
  expect(git('rev-parse', `rendered/${env}^`)).toBe(before.tip);
  expect(git('log', '-1', '--format=%B', `rendered/${env}`)).toContain(`Source commit: ${source}`);
  expect(others.map((e) => tip(`rendered/${e}`))).toEqual(before.others);
});

test('a file that vanishes from the render is deleted from the branch', () => {
  const files = [
    { path: 'apps/a.yaml', content: 'a: 1\n' },
    { path: 'apps/b.yaml', content: 'b: 1\n' },
  ];
  expect(commitFiles(repo, 'scratch/vanish', files, 'one\n').changed).toEqual(['apps/a.yaml', 'apps/b.yaml']);
  const second = commitFiles(repo, 'scratch/vanish', files.slice(0, 1), 'two\n');
  expect(second.changed).toEqual(['apps/b.yaml']);
  expect(treeFiles('scratch/vanish')).toEqual(['apps/a.yaml']);
});

test('pushes only when asked, and then brings the remote branch up to date', () => {
  const remote = path.join(tmp, 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  git('remote', 'add', 'origin', remote);
  renderBranches({ repo }, cachedRender);
  expect(execFileSync('git', ['-C', remote, 'for-each-ref', '--format=%(refname)'], { encoding: 'utf8' }).trim()).toBe('');

  const pushed = renderBranches({ repo, push: 'origin' }, cachedRender);
  expect(pushed.map((r) => ({ pushed: r.pushed, commit: r.commit }))).toEqual(ENVS.map(() => ({ pushed: true, commit: undefined })));
  for (const env of ENVS)
    expect(execFileSync('git', ['-C', remote, 'rev-parse', `refs/heads/rendered/${env}`], { encoding: 'utf8' }).trim()).toBe(tip(`rendered/${env}`));

  // In sync: nothing to commit and nothing to push.
  expect(renderBranches({ repo, push: 'origin' }, cachedRender).map((r) => r.pushed)).toEqual(ENVS.map(() => false));
});

test('the arguments are parsed strictly', () => {
  expect(parseRenderBranchArgs(['--repo', 'x', '--push=origin'], '/work')).toEqual({ repo: '/work/x', push: 'origin' });
  expect(() => parseRenderBranchArgs(['--push'], '/work')).toThrow('render-branch: --push needs a value');
  expect(() => parseRenderBranchArgs(['--force'], '/work')).toThrow('unknown argument "--force"');
});

describe.each(ENVS)('the branch layout of config %s', (env) => {
  test('gcp/ holds the Config Connector objects, apps/ the rest, tests/ stays out of both, and each builds with kubectl kustomize', async () => {
    const files = renderPlatform(loadConfig(path.join(CONFIG_DIR, `${env}.yaml`)));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-layout-'));
    try {
      for (const f of branchLayout(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
        fs.writeFileSync(path.join(dir, f.path), f.content);
      }
      const build = async (sub: string) =>
        YAML.parseAllDocuments(await kustomize(path.join(dir, sub)))
          .map((d) => d.toJS() as Manifest)
          .filter((o) => o);
      const [gcp, apps, all] = await Promise.all([build('gcp'), build('apps'), build('.')]);
      const id = (o: Manifest) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const isKcc = (o: Manifest) => o.apiVersion.split('/')[0].endsWith('.cnrm.cloud.google.com');
      expect(gcp.filter(isKcc).length).toBeGreaterThan(0);
      expect(apps.filter(isKcc).map(id)).toEqual([]);
      expect([...gcp, ...apps].map(id).sort()).toEqual(objectsOf(files, { mainOnly: true }).map(id).sort());
      expect(all.map(id).sort()).toEqual([...gcp, ...apps].map(id).sort());
      expect(
        branchLayout(files)
          .filter((f) => f.path.startsWith('tests/'))
          .map((f) => f.path),
      ).toEqual(files.filter((f) => f.path.startsWith('tests/')).map((f) => f.path));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

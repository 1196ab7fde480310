/**
 * Packages that last: what users install (pip, conda and mamba environments, VS Code extensions,
 * language toolchains) and the download caches live on the home volume, so they survive a restart
 * and an image upgrade; `workspaces.packages.cache: tmp` moves only the caches to /tmp.
 */
import { VSCODE_TOOLCHAIN_PATH, VSCODE_VENV } from '../charts/workspaces/apps/vscode';
import type { Config } from '../config/schema';
import { chartObjects, configWith, Manifest, render } from './support/render';

const deployment = (config: Config, app: 'jupyter' | 'vscode'): Manifest => chartObjects(render(config).files, app).find((o) => o.kind === 'Deployment')!;
const server = (d: Manifest) => d.spec.template.spec.containers[0];
const envOf = (c: Manifest) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
const homeOf = (c: Manifest) => c.volumeMounts.find((m: Manifest) => m.name === 'home').mountPath as string;
const onVolume = (c: Manifest, p: string) => p.startsWith(`${homeOf(c)}/`);

describe('Jupyter', () => {
  test('conda and mamba create environments and keep packages on the home volume; pip caches there too', () => {
    const c = server(deployment(configWith({}), 'jupyter'));
    const env = envOf(c);
    expect(env.CONDA_ENVS_DIRS).toBe('/home/jovyan/.conda/envs');
    expect(env.CONDA_PKGS_DIRS).toBe('/home/jovyan/.conda/pkgs');
    expect(env.PIP_CACHE_DIR).toBe('/home/jovyan/.cache/pip');
    for (const name of ['CONDA_ENVS_DIRS', 'CONDA_PKGS_DIRS', 'PIP_CACHE_DIR']) expect(onVolume(c, env[name])).toBe(true);
    // mamba 2 aborts when both are set (mamba-org/mamba libmamba/src/api/configuration.cpp at 2.3.3).
    expect(env.CONDA_ENVS_PATH).toBeUndefined();
    // pip --user scripts (and so `pip install --user` tools) come first.
    expect(env.PATH.split(':')[0]).toBe('/home/jovyan/.local/bin');
  });

  test('with the caches in /tmp, environments still live on the volume', () => {
    const env = envOf(server(deployment(configWith({ workspaces: { packages: { cache: 'tmp' } } }), 'jupyter')));
    expect(env.CONDA_ENVS_DIRS).toBe('/home/jovyan/.conda/envs');
    expect(env.CONDA_PKGS_DIRS).toBe('/tmp/conda-pkgs');
    expect(env.PIP_CACHE_DIR).toBe('/tmp/pip-cache');
  });
});

describe('VS Code', () => {
  test('pip and uv cache on the volume, the setup steps and the terminal sharing one uv cache', () => {
    const d = deployment(configWith({}), 'vscode');
    const c = server(d);
    const env = envOf(c);
    expect(env.PIP_CACHE_DIR).toBe('/home/coder/.cache/pip');
    expect(env.UV_CACHE_DIR).toBe('/home/coder/.cache/uv');
    expect(onVolume(c, env.UV_CACHE_DIR)).toBe(true);
    // uv links packages from its cache into an environment (a copy-on-write clone or a hard link,
    // astral-sh/uv crates/uv-fs/src/link.rs), which works only within one file system and otherwise
    // falls back to copying: the environment on the volume and its cache belong on the same volume.
    for (const step of d.spec.template.spec.initContainers.filter((s: Manifest) => s.name === 'python' || s.name === 'install-mlflow'))
      expect(envOf(step).UV_CACHE_DIR).toBe(env.UV_CACHE_DIR);
    expect(onVolume(c, VSCODE_VENV)).toBe(true);
  });

  test('with the caches in /tmp, the Python environment still lives on the volume', () => {
    const d = deployment(configWith({ workspaces: { packages: { cache: 'tmp' } } }), 'vscode');
    expect(envOf(server(d)).UV_CACHE_DIR).toBe('/tmp/uv-cache');
    expect(envOf(server(d)).PIP_CACHE_DIR).toBe('/tmp/pip-cache');
    expect(envOf(server(d)).VIRTUAL_ENV).toBe(VSCODE_VENV);
  });

  test('extensions are installed with HOME on the volume, where code-server keeps them (~/.local/share/code-server/extensions)', () => {
    const d = deployment(configWith({}), 'vscode');
    const step = d.spec.template.spec.initContainers.find((s: Manifest) => s.name === 'install-extensions');
    expect(envOf(step).HOME).toBe('/home/coder');
    expect(step.volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/coder' });
    expect(server(d).volumeMounts).toContainEqual({ name: 'home', mountPath: '/home/coder' });
  });

  test('toolchains installed into the volume (Go, Rust, Node.js, pip and uv tools) are on the PATH extensions see', () => {
    const c = server(deployment(configWith({}), 'vscode'));
    const path = envOf(c).PATH.split(':');
    expect(path.slice(0, 6)).toEqual([`${VSCODE_VENV}/bin`, ...VSCODE_TOOLCHAIN_PATH]);
    expect(VSCODE_TOOLCHAIN_PATH).toEqual([
      '/home/coder/.local/bin',
      '/home/coder/.cargo/bin',
      '/home/coder/go/bin',
      '/home/coder/.local/go/bin',
      '/home/coder/.local/node/bin',
    ]);
    for (const dir of VSCODE_TOOLCHAIN_PATH) expect(onVolume(c, dir)).toBe(true);
    // The image's own PATH follows, unchanged.
    expect(path.slice(6)).toEqual(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  });
});

test('an unknown cache place is refused with what is allowed', () => {
  expect(() => configWith({ workspaces: { packages: { cache: 'nfs' as never } } })).toThrow(/workspaces\.packages\.cache: "nfs" is not allowed: .*volume.*tmp/);
});

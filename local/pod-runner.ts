/**
 * Runs a rendered pod's containers as local processes: each container's exact command, arguments and
 * environment, as the kubelet would start it, with its volumes laid out as files.
 *
 * - Volumes: a Secret volume gets the keys of the test Secret of that name, a ConfigMap volume the
 *   rendered ConfigMap's, each file with its `items` path and mode (`mode`, else `defaultMode`, else
 *   0644); an emptyDir is an empty folder; a claim is the folder `sources.claims` names, else an empty
 *   one. Every mount path becomes that folder.
 * - Environment: `value`, `secretKeyRef` (from the test Secrets; `optional` ones may be missing),
 *   `configMapKeyRef`, `fieldRef` (metadata.name, metadata.namespace, status.podIP) and `envFrom`;
 *   `$(VAR)` expands in env values, command and args as the kubelet does
 *   (k8s.io/kubernetes third_party/forked/golang/expansion: `$$` is a literal `$`, an unknown
 *   `$(VAR)` stays as it is).
 * - Order: native sidecars (init containers with `restartPolicy: Always`) start first and keep
 *   running; the other init containers run one after another and must exit 0; then the containers.
 *
 * THE SEAM (`LocalSeam`), the one place where a local run differs from a pod, and nowhere else:
 * - a mount path in a command, argument or env value becomes the folder that stands in for it;
 * - `substitutions` replace text in the command, arguments, env values and mounted ConfigMap files:
 *   the network and storage seam (the Cloud SQL Auth Proxy's 127.0.0.1:5432 becomes the local
 *   PostgreSQL's port, the bucket a local folder, the load balancer's ranges a loopback address);
 * - containers whose image `skipImages` names do not run (the Auth Proxy: its job is done by the
 *   direct loopback connection above);
 * - the image's `python`, `mlflow` and `bash` are the local ones: `pythonBin` (a virtual environment
 *   with MLflow at the image's version) comes first on PATH;
 * - Python processes resolve the cluster's DNS names through local/site/sitecustomize.py (`hosts`), so
 *   TLS still checks the certificate against the name the pod uses.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, read at any depth
type Json = Record<string, any>;

export interface LocalSeam {
  /** Folder whose `python` and `mlflow` stand in for the image's (first on PATH). */
  readonly pythonBin: string;
  /** Text replaced, in this order, in command, args, env values and mounted ConfigMap files. */
  readonly substitutions?: ReadonlyArray<readonly [string, string]>;
  /** For Python processes: "host:port" of the cluster to "127.0.0.1:port" here. */
  readonly hosts?: Readonly<Record<string, string>>;
  /** Option values set in command lines ("--port" → "41234": `--port 5000` and `--port=5000` alike). */
  readonly options?: Readonly<Record<string, string>>;
  /** Folders put on PATH after `pythonBin` (the PostgreSQL client tools). */
  readonly path?: readonly string[];
  /** Images (without tag) whose containers do not run. */
  readonly skipImages?: readonly string[];
  /** Set last in every container's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Folders put on a Python process's PYTHONPATH after the rendered one and before local/site: a
   * `sitecustomize` there runs instead of local/site's (and should run that one itself).
   */
  readonly pythonPath?: readonly string[];
}

export interface PodSources {
  /** Test Secrets by name: key → value. */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The rendered ConfigMaps by name: key → text. */
  readonly configMaps: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Folders that stand in for claims, by claim name. */
  readonly claims?: Readonly<Record<string, string>>;
}

export interface PodRunOptions {
  readonly seam: LocalSeam;
  readonly sources: PodSources;
  /** The pod's name and namespace, for fieldRefs. */
  readonly name: string;
  readonly namespace: string;
  /** Where the pod's volumes are laid out (made if missing). */
  readonly dir: string;
  /** Receives every output line, prefixed with the container's name. */
  readonly onLine?: (line: string) => void;
  /** A StatefulSet's volumeClaimTemplates: volumes of the pod too (a claim folder, else an empty one). @default none */
  readonly claimTemplates?: readonly string[];
}

/** The folder of this file's sitecustomize.py. */
const SITE_DIR = path.join(__dirname, 'site');

/** A running container: its process and what it printed. */
export class RunningContainer {
  output = '';
  readonly exited: Promise<number>;

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
    onLine?: (line: string) => void,
  ) {
    let partial = '';
    const take = (data: Buffer) => {
      this.output += data;
      partial += data;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine?.(`[${name}] ${line}`);
    };
    process.stdout?.on('data', take);
    process.stderr?.on('data', take);
    this.exited = new Promise((resolve) => {
      process.on('error', (error) => {
        this.output += `${name}: did not start: ${error.message}\n`;
        resolve(127);
      });
      // As a container ends when its main process does: whatever it left running in its process group
      // (the certificate watcher it forked) is killed with it, and only then are its pipes closed.
      process.on('exit', (code, signal) => {
        if (process.pid !== undefined) {
          try {
            globalThis.process.kill(-process.pid, 'SIGKILL');
          } catch {
            // nothing left in the group
          }
        }
        const status = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
        process.on('close', () => resolve(status));
      });
    });
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** SIGTERM, as the kubelet sends; SIGKILL after `graceSeconds`. Resolves with the exit code. */
  async stop(graceSeconds = 30): Promise<number> {
    if (this.running) this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceSeconds * 1000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** A pod laid out on disk: its volumes, and how to start each of its containers. */
export class LocalPod {
  private readonly volumeDirs = new Map<string, string>();
  readonly running: RunningContainer[] = [];

  constructor(
    readonly spec: Json,
    readonly options: PodRunOptions,
  ) {
    fs.mkdirSync(options.dir, { recursive: true });
    const volumes: Json[] = [
      ...(spec.volumes ?? []),
      ...(options.claimTemplates ?? []).map((claim) => ({ name: claim, persistentVolumeClaim: { claimName: claim } })),
    ];
    for (const volume of volumes) this.volumeDirs.set(volume.name, this.folderOf(volume));
    // Files last: a ConfigMap's text may name another volume's mount path.
    const podMounts = this.containers().flatMap((c) => this.mounts(c));
    for (const volume of volumes) this.layOut(volume, podMounts);
  }

  /** Every container of the pod, init containers first. */
  containers(): Json[] {
    return [...(this.spec.initContainers ?? []), ...(this.spec.containers ?? [])];
  }

  container(name: string): Json {
    const found = this.containers().find((c) => c.name === name);
    if (!found)
      throw new Error(
        `pod ${this.options.name}: no container "${name}" (has ${this.containers()
          .map((c) => c.name)
          .join(', ')})`,
      );
    return found;
  }

  /** Whether the seam replaces this container by something local. */
  skipped(container: Json): boolean {
    const image = String(container.image ?? '').replace(/:[^/:]+$/, '');
    return (this.options.seam.skipImages ?? []).includes(image);
  }

  /** The folder that stands in for a volume. */
  volumeDir(name: string): string {
    const dir = this.volumeDirs.get(name);
    if (!dir) throw new Error(`pod ${this.options.name}: no volume "${name}"`);
    return dir;
  }

  /** Mount path → local folder (or file, for a subPath), longest first. */
  mounts(container: Json): [string, string][] {
    return (container.volumeMounts ?? [])
      .map((m: Json) => [m.mountPath, m.subPath ? path.join(this.volumeDir(m.name), m.subPath) : this.volumeDir(m.name)] as [string, string])
      .sort((a: [string, string], b: [string, string]) => b[0].length - a[0].length);
  }

  /** The command line and environment the container would start with, through the seam. */
  prepare(name: string): { argv: string[]; env: Record<string, string>; cwd: string } {
    const container = this.container(name);
    const mounts = this.mounts(container);
    // Mount paths first: what the seam puts in (a local folder under /tmp) is never taken for a mount.
    const local = (text: string) => substitute(mapMounts(text, mounts), this.options.seam.substitutions);
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) Object.assign(env, this.envFrom(source));
    for (const variable of container.env ?? []) {
      const value = this.envValue(container.name, variable, env);
      if (value !== undefined) env[variable.name] = local(value);
    }
    const argv = setOptions(
      [...(container.command ?? []), ...(container.args ?? [])].map((part: string) => local(expand(part, env))),
      this.options.seam.options ?? {},
    );
    if (argv.length === 0) throw new Error(`pod ${this.options.name}, container ${name}: no command (the image's entrypoint cannot run here)`);
    const seam = this.options.seam;
    const pythonPath = [env.PYTHONPATH, ...(seam.pythonPath ?? []), SITE_DIR].filter(Boolean).join(':');
    return {
      argv,
      env: {
        LANG: 'C.UTF-8',
        HOME: os.tmpdir(),
        ...env,
        PATH: [seam.pythonBin, ...(seam.path ?? []), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
        PYTHONPATH: pythonPath,
        MLFLOW_GKE_LOCAL_HOSTS: JSON.stringify(seam.hosts ?? {}),
        ...seam.env,
      },
      cwd: container.workingDir ? mapMounts(container.workingDir, mounts) : this.options.dir,
    };
  }

  /** Starts one container. */
  start(name: string): RunningContainer {
    const { argv, env, cwd } = this.prepare(name);
    fs.mkdirSync(cwd, { recursive: true });
    // A process group of its own, like a container's processes: it ends as a whole (RunningContainer).
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const running = new RunningContainer(name, child, this.options.onLine);
    this.running.push(running);
    return running;
  }

  /** Starts one container and waits for its end; throws with its output unless it exits 0. */
  async runToEnd(name: string): Promise<RunningContainer> {
    const container = this.start(name);
    const code = await container.exited;
    if (code !== 0) throw new Error(`pod ${this.options.name}, container ${name} exited ${code}:\n${container.output}`);
    return container;
  }

  /**
   * The pod's start: native sidecars, then each init container to its end, then the containers
   * (returned, still running). The seam's skipped images do not run.
   */
  async startAll(): Promise<RunningContainer[]> {
    for (const init of this.spec.initContainers ?? []) {
      if (this.skipped(init)) continue;
      if (init.restartPolicy === 'Always') this.start(init.name);
      else await this.runToEnd(init.name);
    }
    return (this.spec.containers ?? []).filter((c: Json) => !this.skipped(c)).map((c: Json) => this.start(c.name));
  }

  /** A Job's pod: everything to its end; throws unless the main containers exit 0. Sidecars are stopped. */
  async runJob(): Promise<RunningContainer[]> {
    const main = await this.startAll();
    const codes = await Promise.all(main.map((c) => c.exited));
    await this.stopAll();
    const failed = main.filter((_, i) => codes[i] !== 0);
    if (failed.length > 0) throw new Error(`pod ${this.options.name}: ${failed.map((c) => `${c.name} exited ${c.process.exitCode}:\n${c.output}`).join('\n')}`);
    return main;
  }

  /** Stops every container still running, the last started first (as the kubelet ends sidecars last). */
  async stopAll(graceSeconds = 30): Promise<void> {
    for (const container of [...this.running].reverse()) await container.stop(graceSeconds);
  }

  private envFrom(source: Json): Record<string, string> {
    const prefix = source.prefix ?? '';
    const data = source.secretRef ? this.options.sources.secrets[source.secretRef.name] : this.options.sources.configMaps[source.configMapRef?.name];
    const optional = (source.secretRef ?? source.configMapRef)?.optional;
    if (!data) {
      if (optional) return {};
      throw new Error(`pod ${this.options.name}: envFrom names ${JSON.stringify(source)}, which the test sources do not have`);
    }
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [prefix + k, v]));
  }

  private envValue(container: string, variable: Json, earlier: Record<string, string>): string | undefined {
    if (typeof variable.value === 'string') return expand(variable.value, earlier);
    const from = variable.valueFrom ?? {};
    const where = `pod ${this.options.name}, container ${container}, env ${variable.name}`;
    if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = from.secretKeyRef ?? from.configMapKeyRef;
      const store = from.secretKeyRef ? this.options.sources.secrets : this.options.sources.configMaps;
      const value = store[ref.name]?.[ref.key];
      if (value === undefined && !ref.optional)
        throw new Error(`${where}: needs key "${ref.key}" of ${from.secretKeyRef ? 'Secret' : 'ConfigMap'} "${ref.name}"`);
      return value;
    }
    if (from.fieldRef) {
      const field = from.fieldRef.fieldPath;
      const fields: Record<string, string> = { 'metadata.name': this.options.name, 'metadata.namespace': this.options.namespace, 'status.podIP': '127.0.0.1' };
      if (!(field in fields)) throw new Error(`${where}: fieldRef ${field} is not known here`);
      return fields[field];
    }
    if (variable.value === undefined && !variable.valueFrom) return '';
    throw new Error(`${where}: source ${JSON.stringify(from)} is not known here`);
  }

  private folderOf(volume: Json): string {
    const claim = volume.persistentVolumeClaim && this.options.sources.claims?.[volume.persistentVolumeClaim.claimName];
    return claim || path.join(this.options.dir, 'volumes', volume.name);
  }

  private layOut(volume: Json, podMounts: [string, string][]): void {
    const dir = this.volumeDir(volume.name);
    fs.mkdirSync(dir, { recursive: true });
    const files = (data: Readonly<Record<string, string>> | undefined, what: string, source: Json, transform: (text: string) => string) => {
      if (!data) {
        if (source.optional) return;
        throw new Error(`pod ${this.options.name}, volume ${volume.name}: ${what}, which the test sources do not have`);
      }
      const items: Json[] = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        if (!(item.key in data)) throw new Error(`pod ${this.options.name}, volume ${volume.name}: ${what} has no key "${item.key}"`);
        const file = path.join(dir, item.path);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, transform(data[item.key]), { mode: item.mode ?? source.defaultMode ?? 0o644 });
        fs.chmodSync(file, item.mode ?? source.defaultMode ?? 0o644);
      }
    };
    if (volume.secret) files(this.options.sources.secrets[volume.secret.secretName], `Secret "${volume.secret.secretName}"`, volume.secret, (t) => t);
    if (volume.configMap)
      files(this.options.sources.configMaps[volume.configMap.name], `ConfigMap "${volume.configMap.name}"`, volume.configMap, (t) =>
        substitute(mapMounts(t, podMounts), this.options.seam.substitutions),
      );
  }
}

/** `$(VAR)` expansion as the kubelet does it. */
export function expand(text: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$' || i + 1 >= text.length) {
      out += text[i];
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, end);
      out += name in env ? env[name] : `$(${name})`;
      i = end;
    } else {
      out += '$' + next;
      i++;
    }
  }
  return out;
}

/** `--flag value` and `--flag=value` take the seam's value. */
export function setOptions(argv: readonly string[], options: Readonly<Record<string, string>>): string[] {
  return argv.map((part, i) => {
    if (i > 0 && argv[i - 1] in options) return options[argv[i - 1]];
    const eq = part.indexOf('=');
    return eq > 0 && part.startsWith('--') && part.slice(0, eq) in options ? `${part.slice(0, eq + 1)}${options[part.slice(0, eq)]}` : part;
  });
}

function substitute(text: string, substitutions: LocalSeam['substitutions']): string {
  let out = text;
  for (const [from, to] of substitutions ?? []) out = out.split(from).join(to);
  return out;
}

/**
 * Mount paths in `text` (at a word start, followed by "/", the end or a separator) become local
 * folders, in one pass, so a folder that was put in is never mapped again. A URI query value names a
 * path percent-encoded (`sslrootcert=%2Fetc%2F...`): that form is mapped too. So are mounted ConfigMap
 * files, with the mounts of every container of the pod.
 */
export function mapMounts(text: string, mounts: readonly [string, string][]): string {
  if (mounts.length === 0) return text;
  const local = new Map<string, string>();
  for (const [mountPath, dir] of mounts) {
    local.set(mountPath, dir);
    local.set(encodeURIComponent(mountPath), encodeURIComponent(dir));
    // ...and as an INI file writes it, where configparser reads "%%" as "%" (basic_auth.ini).
    local.set(encodeURIComponent(mountPath).replace(/%/g, '%%'), encodeURIComponent(dir).replace(/%/g, '%%'));
  }
  const alternatives = [...local.keys()].sort((a, b) => b.length - a.length).map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(^|[\\s=:,"'])(${alternatives.join('|')})(?=$|[/\\s:,"'&]|%%?2F)`, 'g');
  return text.replace(pattern, (_, lead: string, mountPath: string) => lead + local.get(mountPath));
}

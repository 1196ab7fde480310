/**
 * The rendered PostgreSQL objects, and running a rendered container's command against a test server:
 * its own command, arguments and environment, with secrets filled in, mount paths mapped to temp
 * directories and the libpq target pointed at the server's socket.
 */
import { Testing } from 'cdk8s';
import * as fs from 'fs';
import * as path from 'path';
import { DATA_MOUNT, PostgresChart, postgresChartProps } from '../../../charts/postgres';
import { DB_SECRET_KEYS as SECRET_KEYS } from '../../../common/contract';
import { PostgresRestoreChart, postgresRestoreChartProps } from '../../../charts/postgres-restore';
import type { Config } from '../../../config/schema';
import { configWith, find, Manifest } from '../../support/render';
import { CLIENT_BIN, Connection, Major, run, RunResult, Server, tempDir } from './postgres';
import { testApp } from '../../support/app';

export type Container = Manifest;

export interface RenderedPostgres {
  /** The `postgres` container of the StatefulSet. */
  readonly server: Container;
  /** Files of the init ConfigMap, mounted at /docker-entrypoint-initdb.d. */
  readonly initFiles: Record<string, string>;
  /** Files of the configuration ConfigMap (pg_hba.conf), by name, and where they are mounted. */
  readonly configFiles: Record<string, string>;
  readonly configDir: string;
  /** The tls-reload sidecar of the StatefulSet. */
  readonly tlsReload: Container;
  /** Containers of the backup pod and of the restore pod, by name. */
  readonly backup: Record<string, Container>;
  readonly restore: Record<string, Container>;
}

export function renderPostgres(config: Config = configWith({ database: { mode: 'statefulset' } })): RenderedPostgres {
  const objects = Testing.synth(new PostgresChart(testApp(), 'postgres', postgresChartProps(config)));
  const [job] = Testing.synth(new PostgresRestoreChart(testApp(), 'restore', postgresRestoreChartProps(config)));
  const sts = objects.find((o) => o.kind === 'StatefulSet')!;
  const initVolume = sts.spec.template.spec.volumes.find((v: any) => v.configMap);
  const byName = (spec: any) => Object.fromEntries([...spec.initContainers, ...spec.containers].map((c: any) => [c.name, c]));
  const server = sts.spec.template.spec.containers.find((c: any) => c.name === 'postgres');
  const configVolume = sts.spec.template.spec.volumes.find((v: any) => v.name === 'config');
  return {
    server,
    initFiles: find(objects, 'ConfigMap', initVolume.configMap.name).data,
    configFiles: find(objects, 'ConfigMap', configVolume.configMap.name).data,
    configDir: server.volumeMounts.find((m: any) => m.name === 'config').mountPath,
    tlsReload: sts.spec.template.spec.initContainers.find((c: any) => c.name === 'tls-reload'),
    backup: byName(objects.find((o) => o.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec),
    restore: byName(job.spec.template.spec),
  };
}

/** Values of the credentials Secret, by key. */
export type Secrets = Record<(typeof SECRET_KEYS)[keyof typeof SECRET_KEYS], string>;

/**
 * A container's environment as the kubelet would give it: values, and secretKeyRefs from `secrets`.
 * Values under a mount path are moved to the directory `mounts` maps it to.
 */
export function containerEnv(container: Container, secrets: Secrets, mounts: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    let value: string;
    if (e.valueFrom?.secretKeyRef) {
      const key = e.valueFrom.secretKeyRef.key as keyof Secrets;
      if (!(key in secrets)) throw new Error(`${container.name}: env ${e.name} needs secret key ${key}`);
      value = secrets[key];
    } else if (typeof e.value === 'string') value = e.value;
    else throw new Error(`${container.name}: env ${e.name} has a source the tests do not handle`);
    const mountPath = Object.keys(mounts)
      .filter((m) => value === m || value.startsWith(`${m}/`))
      .sort((a, b) => b.length - a.length)[0];
    env[e.name] = mountPath === undefined ? value : mounts[mountPath] + value.slice(mountPath.length);
  }
  return env;
}

export interface ContainerRun {
  readonly secrets: Secrets;
  /** Mount paths of the container and the directories that stand in for them. */
  readonly mounts?: Record<string, string>;
  /** Set last: the libpq target, the storage seam. */
  readonly env?: Record<string, string>;
  /** Put before the client tools on PATH (fault injection). */
  readonly pathPrefix?: string;
}

/** Runs the container's own command and arguments with its rendered environment. */
export function runContainer(container: Container, options: ContainerRun): Promise<RunResult> {
  const [command, ...args] = [...container.command, ...(container.args ?? [])];
  const env = {
    ...containerEnv(container, options.secrets, options.mounts),
    ...options.env,
    PATH: [options.pathPrefix, CLIENT_BIN, '/usr/bin', '/bin'].filter(Boolean).join(':'),
  };
  return run(command, args, { env });
}

/**
 * The first start of the rendered StatefulSet's container on an empty data directory, as the image's
 * docker-entrypoint.sh does it (docker-library/postgres 16/bookworm/docker-entrypoint.sh at commit
 * 6edb0a8c4def40c371514b34aef9037ec82d9110: docker_init_database_dir, docker_temp_server_start,
 * docker_process_init_files, docker_process_sql): initdb as POSTGRES_USER with POSTGRES_PASSWORD and
 * POSTGRES_INITDB_ARGS, a socket-only server, PGPASSWORD set to the superuser's password, then every
 * init file: executed when executable, otherwise sourced under `set -Eeo pipefail`. The server stays
 * up. Not reproduced: the pg_hba.conf line for TCP hosts (the tests use the socket only).
 */
export async function firstStart(major: Major, rendered: RenderedPostgres, secrets: Secrets): Promise<{ server: Server; init: RunResult }> {
  const env = containerEnv(rendered.server, secrets, { [DATA_MOUNT]: '/unused' });
  const superuser: Connection = { user: env.POSTGRES_USER, password: env.POSTGRES_PASSWORD, database: env.POSTGRES_USER };
  const server = await Server.create(major, superuser, (env.POSTGRES_INITDB_ARGS ?? '').split(/\s+/).filter(Boolean));
  const init = await runInitFiles(server, rendered, env);
  return { server, init };
}

/** Runs the init ConfigMap's files against a running server, as the entrypoint does; `env` is the container's. */
export async function runInitFiles(server: Server, rendered: RenderedPostgres, env: Record<string, string>): Promise<RunResult> {
  const dir = tempDir('initdb.d');
  // defaultMode 0444 of the ConfigMap volume: readable, not executable, so sourced.
  for (const [name, text] of Object.entries(rendered.initFiles)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o444 });
  // docker_process_sql with the entrypoint's psql flags. The entrypoint empties PGHOST to reach the
  // default socket directory; here PGHOST names the test server's socket directory instead.
  const driver = [
    'set -Eeo pipefail',
    'docker_process_sql() {',
    '  local query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)',
    '  if [ -n "$POSTGRES_DB" ]; then query_runner+=(--dbname "$POSTGRES_DB"); fi',
    '  PGHOSTADDR= "${query_runner[@]}" "$@"',
    '}',
    'for f in "$1"/*; do',
    '  case "$f" in',
    '    *.sh) if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;',
    '    *) echo "the tests only handle .sh init files: $f" >&2; exit 3 ;;',
    '  esac',
    'done',
  ].join('\n');
  return run('bash', ['-c', driver, 'docker-entrypoint.sh', dir], {
    env: {
      ...env,
      // The entrypoint's defaults and exports at this point.
      POSTGRES_DB: env.POSTGRES_DB ?? env.POSTGRES_USER,
      PGPASSWORD: env.POSTGRES_PASSWORD,
      PGHOST: server.socketDir,
      PGPORT: server.env(server.superuser).PGPORT,
    },
  });
}

/**
 * The rendered PostgreSQL objects, and running a rendered container's command against a test server:
 * its own command, arguments and environment, with secrets filled in, mount paths mapped to temp
 * directories and the libpq target pointed at the server's socket.
 */
import { Testing } from 'cdk8s';
import { buildModel } from '../../../model';
import { DATA_MOUNT, PostgresChart, postgresChartProps } from '../../../charts/postgres';
import { DB_SECRET_KEYS as SECRET_KEYS } from '../../../common/contract';
import { PostgresRestoreChart, postgresRestoreChartProps } from '../../../charts/postgres-restore';
import type { Config } from '../../../config/schema';
import { configWith, find, Manifest } from '../../support/render';
import { CLIENT_BIN, Major, run, RunResult, Server } from './postgres';
import { firstStart as firstStartWith, runInitFiles as runInitFilesWith } from '../../../local/postgres-entrypoint';
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
  /** The metrics exporter of the StatefulSet. */
  readonly exporter: Container;
  /** Containers of the backup pod and of the restore pod, by name. */
  readonly backup: Record<string, Container>;
  readonly restore: Record<string, Container>;
}

export function renderPostgres(config: Config = configWith({ database: { mode: 'statefulset' } })): RenderedPostgres {
  const objects = Testing.synth(new PostgresChart(testApp(), 'postgres', postgresChartProps(buildModel(config))));
  const [job] = Testing.synth(new PostgresRestoreChart(testApp(), 'restore', postgresRestoreChartProps(buildModel(config))));
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
    exporter: sts.spec.template.spec.containers.find((c: any) => c.name === 'exporter'),
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

/** The first start of the rendered StatefulSet's container on an empty data directory (local/postgres-entrypoint.ts). */
export function firstStart(major: Major, rendered: RenderedPostgres, secrets: Secrets): Promise<{ server: Server; init: RunResult }> {
  return firstStartWith(major, rendered.initFiles, containerEnv(rendered.server, secrets, { [DATA_MOUNT]: '/unused' }));
}

/** Runs the init ConfigMap's files against a running server, as the entrypoint does; `env` is the container's. */
export function runInitFiles(server: Server, rendered: RenderedPostgres, env: Record<string, string>): Promise<RunResult> {
  return runInitFilesWith(server, rendered.initFiles, env);
}

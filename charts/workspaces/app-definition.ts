/**
 * What makes a workspace app that app: its image's runtime contract, the path its health checks ask
 * and how its server is started (command, TLS handling, setup steps, files). One registry entry per
 * app in apps/; the `workspaces` chart renders every entry through the same path (../workspaces.ts).
 */
import type { Config } from '../../config/schema';
import type { EnvVar } from '../../imports/k8s-1.31';
import type { PlatformModel, WorkspaceApp } from '../../model';
import { RestrictedContainer, restrictedContainer } from '../lib/pod';
import { FILES_PATH, FILES_VOLUME, HOME_VOLUME, SHARED_FILES_PATH, SHARED_FILES_VOLUME, TMP_VOLUME, WorkspaceFiles, WorkspaceGpu } from '../lib/workspace';
import { lockText, WORKSPACE_LOCKS, WorkspaceLock } from '../../config/workspace-locks';

/** The image's runtime contract: where its server listens and as whom it runs. */
export interface WorkspaceRuntime {
  readonly port: number;
  /** Home of the image user; the persistent volume is mounted there. */
  readonly home: string;
  readonly uid: number;
  readonly gid: number;
}

/** The app's own part of a workspace: what differs from one app to the next. */
export interface WorkspaceAppParts {
  /** @default - the image's entrypoint */
  readonly command?: string[];
  readonly args: string[];
  /** After the MLflow client's environment, which every app gets first. */
  readonly env: EnvVar[];
  readonly initContainers: RestrictedContainer[];
  /** @default - no /dev/shm volume */
  readonly sharedMemory?: string;
  /** @default - no GPU */
  readonly gpu?: WorkspaceGpu;
  /** The app's files beside the instance's own (git); mounted at FILES_PATH. */
  readonly files: WorkspaceFiles['files'];
  /**
   * Files the same for every instance (the package locks), by file name: rendered once for the app
   * and mounted at SHARED_FILES_PATH (charts/lib/workspace-shared-files.ts).
   * @default - none
   */
  readonly sharedFiles?: Readonly<Record<string, string>>;
}

export interface WorkspaceAppDefinition {
  /** Its config section under `workspaces`, its chart id and its instances' name prefix. */
  readonly id: WorkspaceApp;
  readonly runtime: WorkspaceRuntime;
  /** Path answering unauthenticated HTTP 200 while the server is up: probes and the load balancer's health check. */
  readonly healthPath: string;
  /** The image this config runs. */
  image(config: Config): string;
  /** Command, TLS handling, setup steps and files of this app for this model. */
  build(model: PlatformModel, image: string): WorkspaceAppParts;
}

/** The login token's environment variable, used only while the edge does not require IAP. */
export function tokenEnv(name: string, secret: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key: 'token' } } };
}

/** The mlflow-skinny version the workspaces install; the config's rules have made sure there is one. */
export function mlflowClientVersion(model: PlatformModel): string {
  if (!model.mlflowClientVersion) throw new Error(`mlflowClientVersion: the MLflow image tag of "${model.config.mlflow.image}" names no release`);
  return model.mlflowClientVersion;
}

/**
 * A setup step before the server: same user, the home volume and /tmp, read-only image; with `reads`,
 * the instance's files (FILES_PATH) or the app's shared ones (SHARED_FILES_PATH, the locks) too.
 */
export function setupStep(
  config: Config,
  name: string,
  image: string,
  user: Pick<WorkspaceRuntime, 'home' | 'uid' | 'gid'>,
  run: { command: string[]; env: EnvVar[] },
  reads?: 'files' | 'shared',
): RestrictedContainer {
  return restrictedContainer({
    name,
    image,
    command: run.command,
    env: run.env,
    workingDir: user.home,
    resources: config.workspaces.setupResources,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    volumeMounts: [
      { name: HOME_VOLUME, mountPath: user.home },
      { name: TMP_VOLUME, mountPath: '/tmp' },
      ...(reads === 'files' ? [{ name: FILES_VOLUME, mountPath: FILES_PATH, readOnly: true }] : []),
      ...(reads === 'shared' ? [{ name: SHARED_FILES_VOLUME, mountPath: SHARED_FILES_PATH, readOnly: true }] : []),
    ],
  });
}

/** Where a setup step reads a lock: the app's shared files (a step that reads one mounts them: `reads: 'shared'`). */
export function lockFilePath(lock: WorkspaceLock): string {
  return `${SHARED_FILES_PATH}/${WORKSPACE_LOCKS[lock]}.lock`;
}

/** The shared files that carry these locks, by file name. */
export function lockFiles(locks: readonly WorkspaceLock[]): Record<string, string> {
  return Object.fromEntries(locks.map((lock) => [`${WORKSPACE_LOCKS[lock]}.lock`, lockText(lock)]));
}

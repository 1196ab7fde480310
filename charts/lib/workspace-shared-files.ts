/**
 * What every instance of a workspace app shares, rendered once for the app rather than once per
 * instance: a ConfigMap in the workspaces namespace with the app's package locks and the verifying
 * proxy's program, which each instance's pod mounts read-only (charts/lib/workspace.ts,
 * SHARED_FILES_PATH). Its content hash goes on every instance's pod template, so a changed file
 * rolls them all.
 */
import { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import { contentHash } from './content-hash';

export interface WorkspaceSharedFilesProps {
  /** Name of the ConfigMap (model/names.ts, workspaceSharedFiles). */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The files, by file name. */
  readonly files: Readonly<Record<string, string>>;
}

/** Hash of the shared files: a pod template annotation of every instance. */
export function sharedFilesHash(files: Readonly<Record<string, string>>): string {
  return contentHash(files);
}

export class WorkspaceSharedFiles extends Construct {
  constructor(scope: Construct, id: string, props: WorkspaceSharedFilesProps) {
    super(scope, id);
    new kube.KubeConfigMap(this, 'config-map', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      data: { ...props.files },
    });
  }
}

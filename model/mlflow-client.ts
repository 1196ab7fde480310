/**
 * The MLflow client version the workspaces install: configured, or the release the MLflow server's
 * image tag names (`v3.17.0-full` gives 3.17.0), so that client and server speak the same API.
 */
import type { Config } from '../config/schema';
import { imageTag } from '../config/schema/primitives';

/** The client version, or undefined when none is configured and the server image's tag names no release. */
export function derivedMlflowClientVersion(config: Config): string | undefined {
  const configured = config.workspaces.mlflowClient.version;
  if (configured) return configured;
  return /^v?([0-9]+\.[0-9]+\.[0-9]+(?:(?:rc|a|b)[0-9]+)?)(?:-|$)/.exec(imageTag(config.mlflow.image))?.[1];
}

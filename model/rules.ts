/**
 * The config rules that need values derived from the config (names, edge sites, the client version).
 * They run inside the config's validation (config/load.ts), after the schema's own rules, so their
 * problems read like every other config error: file, path, value, what is allowed.
 */
import type { CrossFieldRule } from '../config/schema/rules';
import { hostAllowed } from '../config/schema/mlflow';
import { edgeProblems } from './edge-sites';
import { derivedMlflowClientVersion } from './mlflow-client';
import { enabledWorkspaceApps, platformNames } from './names';

export const MODEL_RULES: readonly CrossFieldRule[] = [
  function mlflowAllowedHostsCoverItsNames(c, ctx) {
    if (!c.mlflow.allowedHosts) return;
    // The rules see the whole parsed config; names derive from it in one place.
    const names = platformNames(c);
    const required = [...(c.edge.enabled ? [names.mlflowHost] : []), new URL(names.mlflowUrl).host];
    const missing = required.filter((host) => !hostAllowed(c.mlflow.allowedHosts ?? [], host));
    if (missing.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['mlflow', 'allowedHosts'],
        input: c.mlflow.allowedHosts,
        message: `must cover ${missing.map((h) => `"${h}"`).join(' and ')} (MLflow answers 403 to any other Host header; leave allowedHosts out to derive the list)`,
      });
  },
  function edgeServable(c, ctx) {
    for (const p of edgeProblems(c, platformNames(c))) ctx.addIssue({ code: 'custom', path: [...p.path], input: p.input, message: p.message });
  },
  function workspacesKnowTheirMlflowClient(c, ctx) {
    const installs = c.workspaces.mlflowClient.install && enabledWorkspaceApps(c).length > 0;
    if (installs && !derivedMlflowClientVersion(c))
      ctx.addIssue({
        code: 'custom',
        path: ['workspaces', 'mlflowClient', 'version'],
        input: undefined,
        message: `is required while mlflow.image ("${c.mlflow.image}") names no MLflow release in its tag: set it to the server's release, such as "3.17.0"`,
      });
  },
];

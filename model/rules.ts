/**
 * The config rules that need values derived from the config (names, edge sites, the client version).
 * They run inside the config's validation (config/load.ts), after the schema's own rules, so their
 * problems read like every other config error: file, path, value, what is allowed.
 */
import type { CrossFieldRule } from '../config/schema/rules';
import { hostAllowed } from '../config/schema/mlflow';
import { connectionBudgetProblem } from './connection-budget';
import { edgeProblems } from './edge-sites';
import { derivedMlflowClientVersion } from './mlflow-client';
import { enabledWorkspaceApps, platformNames } from './names';
import { lockPath, missingFromLock } from '../config/workspace-locks';
import { jupyterCollaborationRequirements } from '../config/schema/workspaces';

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
  // The most connections MLflow, its Jobs and the database's neighbours can hold at once must fit the
  // database's max_connections (model/connection-budget.ts), or a scale-up or a rollout fails with
  // "too many clients" / "remaining connection slots are reserved" in the middle of serving.
  function databaseConnectionsFit(c, ctx) {
    const problem = connectionBudgetProblem(c);
    if (!problem) return;
    const input = problem.path[0] === 'mlflow' ? c.mlflow.databasePool : undefined;
    ctx.addIssue({ code: 'custom', path: problem.path, input, message: problem.message });
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
  // The workspaces install from locks with hashes (config/workspace-locks.ts): a version the lock does
  // not hold could only be installed unverified, so it is refused here.
  function workspacesMlflowClientIsLocked(c, ctx) {
    const version = derivedMlflowClientVersion(c);
    if (!c.workspaces.mlflowClient.install || enabledWorkspaceApps(c).length === 0 || !version) return;
    const missing = missingFromLock('mlflowClient', [`mlflow-skinny==${version}`]);
    if (missing.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['workspaces', 'mlflowClient', 'version'],
        input: c.workspaces.mlflowClient.version,
        message: `must be a version the workspace lock ${lockPath('mlflowClient')} holds: the workspaces would install ${missing.join('; ')}${c.workspaces.mlflowClient.version ? '' : ` (the version of mlflow.image "${c.mlflow.image}")`}. Set it to the lock's version, or change config/workspace-locks/mlflow-client.in and run npm run workspace:lock`,
      });
  },
  function workspacesCollaborationIsLocked(c, ctx) {
    const collaboration = c.workspaces.jupyter.collaboration;
    if (!c.workspaces.jupyter.enabled || !collaboration.enabled) return;
    const missing = missingFromLock('jupyterCollaboration', jupyterCollaborationRequirements(collaboration.version));
    if (missing.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['workspaces', 'jupyter', 'collaboration', 'version'],
        input: collaboration.version,
        message: `must be a release the workspace lock ${lockPath('jupyterCollaboration')} holds: missing ${missing.join('; ')}. Use the lock's release, or change config/workspace-locks/jupyter-collaboration.in and run npm run workspace:lock`,
      });
  },
];

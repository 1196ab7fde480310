/**
 * Every workspace logs in to MLflow as one identity: a per-user workspace as its user (the MLflow
 * username is their Google email, the one IAP gives the same person at the edge), a shared workspace
 * as the shared account; the password comes from that account's Secret, never from the render.
 */
import { MLFLOW_AUTH_SECRET_KEYS } from '../common/contract';
import { EXTERNAL_SECRETS_ANNOTATION } from '../common/contract';
import { platformNames } from '../model/names';
import type { Config } from '../config/schema';
import { outOfBandSecrets } from '../policy/rules/references';
import { chartObjects, configWith, Manifest, render } from './support/render';

const users = {
  workspaces: {
    users: [
      { name: 'ana', email: 'Ana@Example.com' },
      { name: 'bo', email: 'bo@example.com' },
    ],
  },
};

function workspaceServers(config: Config): { deployment: Manifest; env: Manifest[] }[] {
  const files = render(config).files;
  return ['jupyter', 'vscode']
    .flatMap((app) => chartObjects(files, app))
    .filter((o) => o.kind === 'Deployment')
    .map((deployment) => ({ deployment, env: deployment.spec.template.spec.containers[0].env as Manifest[] }));
}

const envOf = (env: Manifest[], name: string) => env.find((e) => e.name === name);

describe('workspaces log in to MLflow', () => {
  test("per-user workspaces as their user: the email in lower case, the password from the user's Secret", () => {
    const config = configWith(users);
    const servers = workspaceServers(config);
    expect(servers).toHaveLength(4);
    for (const { deployment, env } of servers) {
      const user = deployment.metadata.name.split('-').pop();
      const account = platformNames(config).mlflowAuth.workspaceAccount(config.workspaces.users.find((u) => u.name === user));
      expect(envOf(env, 'MLFLOW_TRACKING_USERNAME')).toEqual({
        name: 'MLFLOW_TRACKING_USERNAME',
        value: user === 'ana' ? 'ana@example.com' : 'bo@example.com',
      });
      expect(envOf(env, 'MLFLOW_TRACKING_PASSWORD')).toEqual({
        name: 'MLFLOW_TRACKING_PASSWORD',
        valueFrom: { secretKeyRef: { name: `mlflow-user-${user}`, key: MLFLOW_AUTH_SECRET_KEYS.password } },
      });
      expect(account.secret).toBe(`mlflow-user-${user}`);
      expect(deployment.metadata.annotations[EXTERNAL_SECRETS_ANNOTATION]).toContain(`mlflow-user-${user}`);
    }
  });

  test('shared workspaces as the shared account, whose Secret is listed among those the operator creates', () => {
    const config = configWith({});
    for (const { env } of workspaceServers(config)) {
      expect(envOf(env, 'MLFLOW_TRACKING_USERNAME')?.value).toBe('shared-workspace');
      expect(envOf(env, 'MLFLOW_TRACKING_PASSWORD')?.valueFrom.secretKeyRef.name).toBe('mlflow-user-shared-workspace');
    }
    const objects = render(config)
      .files.filter((f) => !f.path.includes('/'))
      .flatMap((f) => (f.objects ?? []).map((manifest, doc) => ({ file: f.path, doc, manifest })));
    const secrets = outOfBandSecrets(objects).map((s) => `${s.namespace}/${s.name}`);
    expect(secrets).toEqual(expect.arrayContaining(['ml-workspaces/mlflow-user-shared-workspace', 'mlflow/mlflow-user-shared-workspace']));
  });

  test('the same person has the same MLflow username at the edge and in their workspace', () => {
    const config = configWith(users);
    const names = platformNames(config);
    expect(names.mlflowAuth.workspaceAccounts.map((a) => a.username)).toEqual(['ana@example.com', 'bo@example.com']);
  });
});

/**
 * Users and inputs: one rule for email case (lower-cased as read, so every object that names an email
 * writes the same string), one error per mistake for a repeated user, and the GPU limit's error names
 * the add-a-user path.
 */
import * as YAML from 'yaml';
import { configError, configWith, render } from './support/render';

describe('email case', () => {
  const users = [
    { name: 'ana', email: 'Ana.Lima@Example.COM' },
    { name: 'bo', email: 'bo@example.com', git: { email: 'Bo.Git@Example.com' } },
  ];
  const config = configWith({ workspaces: { users }, edge: { enabled: true, members: { mlflow: ['user:Cy@Example.com'] } } as never });

  test('every email of the config is read in lower case: users, Git identities, IAM members, alert address', () => {
    expect(config.workspaces.users.map((u) => u.email)).toEqual(['ana.lima@example.com', 'bo@example.com']);
    expect(config.workspaces.users[1].git?.email).toBe('bo.git@example.com');
    expect(config.edge.members.mlflow).toEqual(['user:cy@example.com']);
    expect(configWith({ monitoring: { notificationEmail: 'Alerts@Example.com' } } as never).monitoring.notificationEmail).toBe('alerts@example.com');
    // The prefix keeps its case: IAM spells it serviceAccount.
    expect(configWith({ edge: { enabled: true, members: { mlflow: ['serviceAccount:CI@p.iam.gserviceaccount.com'] } } } as never).edge.members.mlflow).toEqual([
      'serviceAccount:ci@p.iam.gserviceaccount.com',
    ]);
  });

  test('the render names each email in lower case only, in every object', () => {
    const text = render(config)
      .files.map((f) => (f.objects ? f.objects.map((o) => YAML.stringify(o)).join('\n') : f.content))
      .join('\n');
    for (const address of ['ana.lima@example.com', 'cy@example.com']) expect(text.toLowerCase()).toContain(address);
    expect(text).not.toMatch(/Ana\.Lima@|@Example\.|Cy@|Bo\.Git@/);
    expect(text).toContain('ana.lima@example.com');
  });
});

describe('a repeated user', () => {
  test('gives one error, at its name, whatever else it repeats', () => {
    const message = configError({
      workspaces: {
        users: [
          { name: 'ana', email: 'ana@example.com' },
          { name: 'ana', email: 'ana@example.com' },
        ],
      },
    });
    expect(message.trim().split('\n')).toEqual([
      'test config: workspaces.users[1].name: "ana" is not allowed: must be unique; users[0] has the same name and email',
    ]);
  });

  test('the same email under two names: one error, at the email', () => {
    const message = configError({
      workspaces: {
        users: [
          { name: 'ana', email: 'ana@example.com' },
          { name: 'ana2', email: 'ANA@example.com' },
        ],
      },
    });
    expect(message.trim().split('\n')).toHaveLength(1);
    expect(message).toMatch(/workspaces\.users\[1\]\.email: .* must be unique; users\[0\] has the same email \(emails ignore case\)/);
  });
});

test('the GPU limit, tripped by adding a user, says to raise maxNodes with the users', () => {
  const users = ['ana', 'bo', 'cy'].map((name) => ({ name, email: `${name}@example.com` }));
  const message = configError({ workspaces: { users, gpu: { enabled: true, maxNodes: 2 } } as never });
  expect(message).toContain(
    'workspaces.gpu.maxNodes: 2 is not allowed: must be at least the number of Jupyter instances (3): each one holds a GPU node; adding a user to workspaces.users adds a Jupyter, so raise workspaces.gpu.maxNodes to 3 with it',
  );
});

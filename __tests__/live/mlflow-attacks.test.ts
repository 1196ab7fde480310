/**
 * Attacks on the rendered MLflow of the default config, run for real (local/platform.ts): each one
 * refused with the status MLflow documents (401 where the caller is not authenticated, 403 where an
 * authenticated caller may not, 400/403 from the security middleware for a foreign Host or Origin).
 * The legitimate paths next to them succeed, so no refusal comes from a broken server.
 *
 * Callers: the load balancer is 127.0.0.2 (the only peer whose IAP header counts), any other loopback
 * address is a pod in the cluster. Users: alice and bob (Basic, made by the admin), the workspace
 * account, the metrics account, and IAP identities with tokens signed by the stand-in key set.
 */
import { createHmac } from 'crypto';
import { loadConfig } from '../../model/load';
import { MlflowClient, Call } from '../../local/client';
import { iapAudience, IapSigner } from '../../local/iap';
import { LOAD_BALANCER_ADDRESS, LocalPlatform } from '../../local/platform';
import { START_SECONDS, startPlatform, stopPlatform } from './support/platform';

let platform: LocalPlatform;
let client: MlflowClient;
const alice = { username: 'alice', password: 'alice-password-0123456789' };
const bob = { username: 'bob', password: 'bob-password-0123456789' };
let bobExperiment = '';
let bobRun = '';

const audience = () => iapAudience(platform.options.config.project.number, '4242');
const token = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, signer = platform.signer) =>
  signer.mint({ email: 'mallory@example.com', aud: audience(), ...claims }, header);
const viaEdge = (c: Call) => client.call({ from: LOAD_BALANCER_ADDRESS, host: platform.publicHost, ...c });
const EXPERIMENTS = '/api/2.0/mlflow/experiments/search?max_results=1';

beforeAll(async () => {
  platform = await startPlatform(loadConfig());
  client = platform.client();
  const admin = platform.admin();
  for (const user of [alice, bob]) {
    const made = await client.call({ path: '/api/2.0/mlflow/users/create', basic: admin, body: user });
    if (made.status !== 200) throw new Error(`creating ${user.username}: ${made.status} ${made.text()}`);
  }
  const experiment = await client.call({ path: '/api/2.0/mlflow/experiments/create', basic: bob, body: { name: 'bob-private' } });
  bobExperiment = experiment.json().experiment_id;
  const run = await client.call({ path: '/api/2.0/mlflow/runs/create', basic: bob, body: { experiment_id: bobExperiment } });
  bobRun = run.json().run.info.run_id;
}, START_SECONDS * 1000);

afterAll(() => stopPlatform(platform), 120000);

describe('legitimate paths succeed', () => {
  test('bob reads his experiment with Basic credentials', async () => {
    expect((await client.call({ path: `/api/2.0/mlflow/experiments/get?experiment_id=${bobExperiment}`, basic: bob })).status).toBe(200);
  });
  test('an IAP identity through the load balancer reads experiments', async () => {
    expect((await viaEdge({ path: EXPERIMENTS, iap: token() })).status).toBe(200);
  });
  test('the metrics account reads /metrics', async () => {
    expect((await client.call({ path: '/metrics', basic: platform.metricsAccount() })).status).toBe(200);
  });
});

describe('who are you: refused with 401', () => {
  test.each([
    ['no credentials', {}],
    ['a wrong password', { basic: { username: 'alice', password: 'not-alices-password-123' } }],
    ['an unknown user', { basic: { username: 'nobody', password: 'nobody-password-123456' } }],
    ['the admin name with a guessed password', { basic: { username: 'mlflow-gke-admin', password: 'password1234' } }],
  ])('%s', async (_, call) => {
    expect((await client.call({ path: EXPERIMENTS, ...call })).status).toBe(401);
  });

  test('an IAP user has no Basic password anyone knows', async () => {
    await viaEdge({ path: EXPERIMENTS, iap: token({ email: 'carol@example.com' }) });
    expect((await client.call({ path: EXPERIMENTS, basic: { username: 'carol@example.com', password: 'carol@example.com' } })).status).toBe(401);
  });
});

describe('forged IAP tokens through the load balancer: refused with 401', () => {
  const header = (claims: object, head: object) =>
    `${Buffer.from(JSON.stringify(head)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const now = () => Math.floor(Date.now() / 1000);

  test.each<[string, () => string]>([
    ['signed by another key with the same key id', () => token({}, {}, IapSigner.generate(platform.signer.kid))],
    ['signed by a key the set does not hold', () => token({}, {}, IapSigner.generate('other-key'))],
    [
      'alg none, no signature',
      () =>
        `${header({ iss: 'https://cloud.google.com/iap', aud: audience(), email: 'mallory@example.com', iat: now(), exp: now() + 600 }, { alg: 'none', kid: platform.signer.kid })}.`,
    ],
    [
      'HS256 signed with the public key as the secret',
      () => {
        const signing = header(
          { iss: 'https://cloud.google.com/iap', aud: audience(), email: 'mallory@example.com', iat: now(), exp: now() + 600 },
          { alg: 'HS256', kid: platform.signer.kid },
        );
        const secret = Object.values(platform.signer.publicKeys())[0];
        return `${signing}.${createHmac('sha256', secret).update(signing).digest('base64url')}`;
      },
    ],
    ['for another project', () => token({ aud: iapAudience('999999999999', '4242') })],
    ['for something that is not a backend service', () => token({ aud: `/projects/${platform.options.config.project.number}/apps/some-app` })],
    ['from another issuer', () => token({ iss: 'https://accounts.google.com' })],
    ['expired', () => token({ iat: now() - 1200, exp: now() - 600 })],
    ['issued in the future', () => token({ iat: now() + 600, exp: now() + 1200 })],
    ['living longer than IAP tokens do', () => token({ iat: now(), exp: now() + 7200 })],
    ['without an email', () => token({ email: 'not-an-email' })],
    ['a signature of another token', () => token().split('.').slice(0, 2).join('.') + '.' + token({ email: 'x@example.com' }).split('.')[2]],
  ])('%s', async (_, forge) => {
    expect((await viaEdge({ path: EXPERIMENTS, iap: forge() })).status).toBe(401);
  });
});

describe('a valid token from anywhere but the load balancer: refused with 401', () => {
  test('from a pod in the cluster', async () => {
    expect((await client.call({ path: EXPERIMENTS, iap: token(), from: '127.0.0.3' })).status).toBe(401);
  });
  test('from a pod that claims the load balancer in X-Forwarded-For', async () => {
    expect((await client.call({ path: EXPERIMENTS, iap: token(), from: '127.0.0.3', headers: { 'x-forwarded-for': LOAD_BALANCER_ADDRESS } })).status).toBe(401);
  });
  test('on a FastAPI-native route (artifact download), where the verifier sees no peer and the audience is not pinned', async () => {
    expect((await viaEdge({ path: `/api/2.0/mlflow-artifacts/artifacts/${bobExperiment}/x`, iap: token() })).status).toBe(401);
  });
});

describe("one user and another's work: refused with 403", () => {
  test("alice may not rename bob's experiment", async () => {
    const answer = await client.call({ path: '/api/2.0/mlflow/experiments/update', basic: alice, body: { experiment_id: bobExperiment, new_name: 'mine' } });
    expect(answer.status).toBe(403);
  });
  test("alice may not delete bob's experiment", async () => {
    expect((await client.call({ path: '/api/2.0/mlflow/experiments/delete', basic: alice, body: { experiment_id: bobExperiment } })).status).toBe(403);
  });
  test("alice may not log to bob's run", async () => {
    const answer = await client.call({ path: '/api/2.0/mlflow/runs/log-metric', basic: alice, body: { run_id: bobRun, key: 'x', value: 1, timestamp: 0 } });
    expect(answer.status).toBe(403);
  });
  test("alice may not upload into bob's experiment through the artifact proxy", async () => {
    const answer = await client.call({
      method: 'PUT',
      path: `/api/2.0/mlflow-artifacts/artifacts/${bobExperiment}/${bobRun}/artifacts/planted.pkl`,
      basic: alice,
      body: Buffer.from('x'),
    });
    expect(answer.status).toBe(403);
  });
  test("alice may not grant herself bob's experiment", async () => {
    const answer = await client.call({
      path: '/api/2.0/mlflow/experiments/permissions/create',
      basic: alice,
      body: { experiment_id: bobExperiment, username: 'alice', permission: 'MANAGE' },
    });
    expect(answer.status).toBe(403);
  });
});

describe('a workspace account on admin endpoints: refused with 403', () => {
  const workspace = () => platform.workspaceAccounts()[0];
  test.each([
    ['create a user', { path: '/api/2.0/mlflow/users/create', body: { username: 'eve', password: 'eve-password-0123456' } }],
    ['make itself an admin', { method: 'PATCH', path: '/api/2.0/mlflow/users/update-admin', body: { username: 'WORKSPACE', is_admin: true } }],
    [
      "set another user's password",
      { method: 'PATCH', path: '/api/2.0/mlflow/users/update-password', body: { username: 'bob', password: 'taken-over-0123456' } },
    ],
    ['delete a user', { method: 'DELETE', path: '/api/2.0/mlflow/users/delete', body: { username: 'bob' } }],
  ])('%s', async (_, call) => {
    const c = call as Call & { body: { username?: string } };
    const body = c.body.username === 'WORKSPACE' ? { ...c.body, username: workspace().username } : c.body;
    expect((await client.call({ ...c, body, basic: workspace() })).status).toBe(403);
  });
});

describe('the metrics account anywhere but GET /metrics: refused with 403', () => {
  const metrics = () => platform.metricsAccount();
  test.each([
    ['reading experiments', { path: EXPERIMENTS }],
    ['creating an experiment', { path: '/api/2.0/mlflow/experiments/create', body: { name: 'from-metrics' } }],
    ['creating a user (it is an admin)', { path: '/api/2.0/mlflow/users/create', body: { username: 'eve', password: 'eve-password-0123456' } }],
    ['GraphQL', { path: '/graphql', body: { query: '{ mlflowSearchRuns(input: {experimentIds: ["0"]}) { runs { info { runId } } } }' } }],
  ])('%s', async (_, call) => {
    expect((await client.call({ ...(call as Call), basic: metrics() })).status).toBe(403);
  });
});

describe('every door asks for credentials', () => {
  test.each([
    ['GraphQL', { path: '/graphql', body: { query: '{ mlflowGetExperiment(input: {experimentId: "0"}) { experiment { name } } }' } }],
    ['the ajax API', { path: '/ajax-api/2.0/mlflow/experiments/search?max_results=1' }],
    ['the FastAPI-native artifact download', { path: '/api/2.0/mlflow-artifacts/artifacts/0/x' }],
    ['the FastAPI-native artifact upload', { method: 'PUT', path: '/api/2.0/mlflow-artifacts/artifacts/0/planted.bin', body: Buffer.from('x') }],
    ['the OpenTelemetry trace intake', { path: '/v1/traces', body: Buffer.from('x'), headers: { 'content-type': 'application/x-protobuf' } }],
    ['the jobs API', { path: '/ajax-api/3.0/jobs/search', body: {} }],
    ['the AI Gateway', { path: '/gateway/some-endpoint/mlflow/invocations', body: {} }],
  ])('%s: 401 without credentials', async (_, call) => {
    expect((await client.call(call as Call)).status).toBe(401);
  });
});

describe('the security middleware: the Host and the Origin', () => {
  test('a Host header not allowed is refused with 403, whoever asks', async () => {
    expect((await client.call({ path: EXPERIMENTS, basic: bob, host: 'attacker.example.com' })).status).toBe(403);
  });
  test('a cross-origin POST from a foreign origin is refused with 403', async () => {
    const answer = await viaEdge({
      path: '/ajax-api/2.0/mlflow/experiments/create',
      iap: token(),
      body: { name: 'csrf' },
      headers: { origin: 'https://attacker.example.com' },
    });
    expect(answer.status).toBe(403);
  });
  test('the same POST from the edge origin succeeds', async () => {
    const answer = await viaEdge({
      path: '/ajax-api/2.0/mlflow/experiments/create',
      iap: token(),
      body: { name: 'same-origin' },
      headers: { origin: `https://${platform.publicHost}` },
    });
    expect(answer.status).toBe(200);
  });
});

describe('the credential cache (mlflow.auth.credentialCacheSeconds) keeps a revoked credential no longer than it says', () => {
  test('a changed password and a deleted user stop working within the cache time, in every worker', async () => {
    const seconds = platform.options.config.mlflow.auth.credentialCacheSeconds;
    expect(seconds).toBeGreaterThan(0);
    const admin = platform.admin();
    const carol = { username: 'carol', password: 'carol-password-0123456789' };
    const dave = { username: 'dave', password: 'dave-password-0123456789' };
    for (const user of [carol, dave]) expect((await client.call({ path: '/api/2.0/mlflow/users/create', basic: admin, body: user })).status).toBe(200);
    // Every call opens its own connection, so the calls reach both workers and each caches the credentials.
    const statuses = async (user: { username: string; password: string }) =>
      Promise.all(Array.from({ length: 12 }, () => client.call({ path: EXPERIMENTS, basic: user }).then((a) => a.status)));
    expect(new Set([...(await statuses(carol)), ...(await statuses(dave))])).toEqual(new Set([200]));

    const changed = { ...carol, password: 'carol-new-password-0123456789' };
    const update = await client.call({ method: 'PATCH', path: '/api/2.0/mlflow/users/update-password', basic: admin, body: changed });
    expect(update.status).toBe(200);
    expect((await client.call({ method: 'DELETE', path: '/api/2.0/mlflow/users/delete', basic: admin, body: { username: dave.username } })).status).toBe(200);
    // The new password works at once (it was never cached as wrong).
    expect(new Set(await statuses(changed))).toEqual(new Set([200]));

    await new Promise((r) => setTimeout(r, (seconds + 2) * 1000));
    expect(new Set(await statuses(carol))).toEqual(new Set([401]));
    expect(new Set(await statuses(dave))).toEqual(new Set([401]));
    expect(new Set(await statuses(changed))).toEqual(new Set([200]));
  }, 120_000);
});

describe("a run's experiment, remembered for the permission checks, still guards the run", () => {
  test("after bob's own calls filled the cache, alice still cannot read, log to or fetch the artifacts of bob's run", async () => {
    const logBatch = { run_id: bobRun, metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }] };
    // Bob first, on fresh connections to both workers: the run's experiment is remembered there.
    for (let i = 0; i < 6; i++) {
      expect((await client.call({ path: `/api/2.0/mlflow/runs/get?run_id=${bobRun}`, basic: bob })).status).toBe(200);
      expect((await client.call({ path: '/api/2.0/mlflow/runs/log-batch', basic: bob, body: logBatch })).status).toBe(200);
    }
    for (let i = 0; i < 6; i++) {
      expect((await client.call({ path: `/api/2.0/mlflow/runs/get?run_id=${bobRun}`, basic: alice })).status).toBe(403);
      expect((await client.call({ path: '/api/2.0/mlflow/runs/log-batch', basic: alice, body: logBatch })).status).toBe(403);
      expect((await client.call({ path: `/api/2.0/mlflow/artifacts/list?run_id=${bobRun}`, basic: alice })).status).toBe(403);
    }
    // A run id that does not exist is refused alike, whether asked before or after it was looked up.
    for (let i = 0; i < 2; i++)
      expect((await client.call({ path: '/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef', basic: alice })).status).toBe(403);
    // The verifier warns where it could not put the cache in front of MLflow's check (iap_auth.py _state).
    expect(platform.serverContainer!.output).not.toContain('has no _run_requirement');
  }, 60_000);
});

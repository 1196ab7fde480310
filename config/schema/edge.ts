/** The public HTTPS entry: host names, who may pass Identity-Aware Proxy, and how each hop is encrypted. */
import { z } from 'zod';
import { dnsLabel, dnsName, iamMember } from './primitives';

const members = (app: string) =>
  z
    .array(iamMember)
    .default([])
    .describe(`IAM members admitted to the shared ${app} only, in addition to iapMembers (per-user instances admit their user alone).`);

/** A backend service's numeric id, as `gcloud compute backend-services list --format='value(id)'` prints it. */
const backendServiceId = z
  .union([z.string(), z.number()], { error: 'must be the numeric id of the backend service, such as "1234567890123456789"' })
  .transform((v) => String(v))
  .pipe(z.string().regex(/^[0-9]{1,20}$/, 'must be the numeric id of the backend service, such as "1234567890123456789"'));

const seconds = (what: string, max: number, fallback: number) =>
  z
    .number({ message: `must be a whole number of seconds from 1 to ${max}` })
    .int(`must be a whole number of seconds from 1 to ${max}`)
    .min(1, `must be a whole number of seconds from 1 to ${max}`)
    .max(max, `must be a whole number of seconds from 1 to ${max}`)
    .default(fallback)
    .describe(what);

export const edgeSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Render the public HTTPS entry (Ingress, certificate, IAP). false leaves access through port-forward or an internal load balancer.'),
    domain: dnsName.default('ml.example.com').describe('DNS domain under which each app gets its host name (<app>.<domain>).'),
    hosts: z
      .strictObject({
        mlflow: dnsName.optional().describe('Host name of MLflow. Default: mlflow.<domain>.'),
        jupyter: dnsName.optional().describe('Host name of the shared Jupyter. Default: jupyter.<domain>.'),
        vscode: dnsName.optional().describe('Host name of the shared VS Code. Default: vscode.<domain>.'),
      })
      .prefault({})
      .describe('Host name overrides.'),
    iapMembers: z
      .array(iamMember)
      .default([])
      .describe('IAM members allowed through IAP to MLflow and the shared workspaces. Per-user workspaces admit only their user.'),
    members: z
      .strictObject({
        mlflow: z
          .array(iamMember)
          .default([])
          .describe('IAM members admitted to MLflow only, in addition to iapMembers and the users of workspaces.users (each admitted as user:<email>).'),
        jupyter: members('Jupyter'),
        vscode: members('VS Code'),
      })
      .prefault({})
      .describe('Per-app IAP members.'),
    backendServiceIds: z
      .record(z.string(), backendServiceId)
      .default({})
      .describe(
        "Numeric ids of the workspaces' load balancer backend services, by workspace Service name (such as jupyter-ana), known once the Ingress exists (docs/workspaces.md, \"Pin each workspace's IAP audience\"). Set, the workspace's proxy accepts only tokens for that backend; unset, a token for any backend service of the project (a render warning names each one). MLflow's is mlflow.auth.iapBackendServiceId.",
      ),
    oauthClientSecret: dnsLabel(253)
      .optional()
      .describe(
        'Name of a Secret (keys client_id, client_secret) with a custom OAuth client for IAP, created in the MLflow and the workspaces namespace. Default: the Google-managed OAuth client.',
      ),
    securityPolicy: dnsLabel().optional().describe('Name of an existing Cloud Armor security policy attached to every backend.'),
    mlflowTimeoutSeconds: seconds('Load balancer backend timeout for MLflow (large artifact uploads and downloads pass through it).', 86400, 600),
    workspaceTimeoutSeconds: seconds(
      'Load balancer backend timeout for Jupyter and VS Code; it also caps how long a websocket (kernels, terminals, the editor) lives.',
      86400,
      86400,
    ),
    drainingSeconds: seconds('Connection draining of a backend leaving the load balancer.', 3600, 30),
    logSampleRate: z
      .number({ message: 'must be a number from 0 to 1' })
      .min(0, 'must be a number from 0 to 1')
      .max(1, 'must be a number from 0 to 1')
      .default(1)
      .describe('Fraction of load balancer requests written to Cloud Logging.'),
    hsts: z
      .strictObject({
        maxAgeSeconds: z
          .number({ message: 'must be a whole number of seconds from 0 to 63072000 (two years)' })
          .int('must be a whole number of seconds from 0 to 63072000 (two years)')
          .min(0, 'must be a whole number of seconds from 0 to 63072000 (two years)')
          .max(63072000, 'must be a whole number of seconds from 0 to 63072000 (two years)')
          .default(31536000)
          .describe(
            "How long browsers remember to reach the platform's hosts over HTTPS only (Strict-Transport-Security max-age). 0 tells them to forget it. Default: one year.",
          ),
        includeSubDomains: z
          .boolean()
          .default(false)
          .describe(
            'Add includeSubDomains: browsers then also refuse plain HTTP to every subdomain of each platform host. Off by default: a host override may name a domain whose subdomains the platform does not own.',
          ),
      })
      .prefault({})
      .describe("Strict-Transport-Security header the load balancer adds to every response of the platform's hosts."),
    interNodeEncryption: z
      .boolean()
      .default(true)
      .describe(
        'Encrypt pod traffic between nodes with GKE inter-node transparent encryption (WireGuard, Dataplane V2): covers workspaces -> MLflow and MLflow -> in-cluster PostgreSQL.',
      ),
  })
  .prefault({})
  .describe('HTTPS entry through the Google load balancer with IAP.');

/** Jupyter and VS Code workspaces, shared or one per user. */
import { z } from 'zod';
import { dnsLabel, email, image, imageTag, positiveInt, resources, size } from './primitives';

/** The official uv images (astral-sh/uv .github/workflows/build-docker.yml). */
export const UV_IMAGE = 'ghcr.io/astral-sh/uv';

/**
 * Why a uv image cannot set up Python for code-server, or undefined. The plain `<version>` tag is
 * `FROM scratch` with uv at `/uv` (astral-sh/uv Dockerfile at 0.10.8): no shell and no libc, so uv
 * cannot find or run a managed Python there. The `<version>-<base>` tags copy uv to
 * `/usr/local/bin/` on a base image; the Python uv installs must run later in the glibc code-server
 * image, so the base must be a glibc one (Debian), not Alpine (musl). For 0.10.x the Debian bases are
 * trixie (`-trixie-slim`, `-trixie`, `-python3.12-trixie-slim`, ...); `-bookworm-slim` is not built.
 */
export function uvImageProblem(ref: string): string | undefined {
  if (!ref.startsWith(`${UV_IMAGE}:`)) return undefined;
  const tag = imageTag(ref);
  const allowed = `a ${UV_IMAGE} tag with a Debian base such as "0.10.8-trixie-slim"`;
  if (/^\d+\.\d+(\.\d+)?$/.test(tag))
    return `must be ${allowed}: the plain "${tag}" image is FROM scratch (no shell, no libc), so uv cannot run the Python it installs`;
  if (/alpine/.test(tag))
    return `must be ${allowed}: an Alpine base makes uv install a musl Python, which the glibc code-server image cannot run`;
  return undefined;
}

export const gpuSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Give Jupyter a GPU and create the matching GPU node pool.'),
    acceleratorType: z
      .string()
      .regex(/^nvidia-[a-z0-9-]+$/, 'must be a GKE accelerator type such as "nvidia-tesla-t4" or "nvidia-l4"')
      .default('nvidia-tesla-t4')
      .describe('GKE accelerator type (node label cloud.google.com/gke-accelerator).'),
    count: positiveInt().default(1).describe('GPUs per Jupyter pod and per node.'),
    machineType: z.string().regex(/^[a-z0-9]+-[a-z0-9-]+$/, 'must be a machine type such as "n1-standard-8"').default('n1-standard-8').describe('Machine type of the GPU node pool.'),
    maxNodes: positiveInt().default(2).describe('Largest size of the GPU node pool (it scales from zero).'),
    // A build date is the only docker-stacks tag that never moves (tagging/taggers/date.py); the
    // cuda12 variant of 2025-10-06 matches workspaces.jupyter.image's scipy-notebook:2025-10-06.
    image: image
      .default('quay.io/jupyter/pytorch-notebook:cuda12-2025-10-06')
      .describe('CUDA-enabled notebook image used when the GPU is on, pinned by a cuda12- date tag (the cuda12 builds match the GKE default driver).'),
  })
  .prefault({})
  .describe('GPU for Jupyter.');

export const workspacesSchema = z
  .strictObject({
    users: z
      .array(
        z.strictObject({
          name: dnsLabel(20).describe('Short user name; it becomes part of object and host names.'),
          email: email.describe('Google identity of the user; IAP admits only this user to their workspaces.'),
        }),
      )
      .default([])
      .describe('One Jupyter and one VS Code per user. Empty: one shared instance of each.'),
    jupyter: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render Jupyter.'),
        image: image.default('quay.io/jupyter/scipy-notebook:2025-10-06').describe('Jupyter docker-stacks image (quay.io/jupyter/*), pinned by a date tag.'),
        storageSize: size.default('20Gi').describe('Home volume size.'),
        resources: resources({ requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } }).describe('Jupyter container resources.'),
      })
      .prefault({})
      .describe('Jupyter server.'),
    vscode: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render VS Code (code-server).'),
        image: image.default('codercom/code-server:4.104.0').describe('code-server image.'),
        storageSize: size.default('20Gi').describe('Workspace volume size.'),
        resources: resources({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } }).describe('code-server container resources.'),
        extensions: z
          .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9-]*(@[0-9][A-Za-z0-9.+-]*)?$/, 'must be an Open VSX extension id such as "ms-python.python" or "ms-python.python@2025.6.1"'))
          .default(['ms-python.python'])
          .describe('Extensions from Open VSX installed into the workspace volume at start when missing (needs internetEgress).'),
        python: z
          .string()
          .regex(/^3\.[0-9]{1,2}$/, 'must be a Python minor version such as "3.12"')
          .default('3.12')
          .describe('Python version of the environment (with the MLflow client) that scripts in the code-server terminal use.'),
        uvImage: image
          .default(`${UV_IMAGE}:0.10.8-trixie-slim`)
          .describe(
            'uv image that installs Python and the MLflow client into the workspace volume (code-server ships no Python): a Debian-based tag with uv in /usr/local/bin, not the FROM-scratch plain version tag.',
          ),
      })
      .prefault({})
      .describe('VS Code server.'),
    gpu: gpuSchema,
    mlflowClient: z
      .strictObject({
        install: z
          .boolean()
          .default(true)
          .describe('Install the MLflow client into each workspace volume at start when missing (downloads from PyPI; needs internetEgress). false: the images must ship it.'),
        version: z
          .string()
          .regex(/^[0-9]+\.[0-9]+\.[0-9]+([a-z0-9.]*)?$/, 'must be an MLflow release such as "3.9.0"')
          .optional()
          .describe('mlflow-skinny version to install. Default: the version of the MLflow server image tag.'),
      })
      .prefault({})
      .describe('The MLflow client inside the workspaces.'),
    setupResources: resources({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } }).describe(
      'Resources of each setup step that runs before a workspace starts (MLflow client, Python, extensions).',
    ),
    internetEgress: z.boolean().default(true).describe('Allow workspaces to reach the internet (package installs).'),
    tokenSecret: dnsLabel(253)
      .default('workspace-token')
      .describe('Secret (key token) with the login token, used only when the edge does not require IAP.'),
  })
  .prefault({})
  .superRefine((w, ctx) => {
    const uvProblem = w.mlflowClient.install && w.vscode.enabled ? uvImageProblem(w.vscode.uvImage) : undefined;
    if (uvProblem) ctx.addIssue({ code: 'custom', path: ['vscode', 'uvImage'], input: w.vscode.uvImage, message: uvProblem });
    const seen = new Map<string, number>();
    // Google identities ignore case: two entries with one email would be one person with two workspaces.
    const emails = new Map<string, number>();
    w.users.forEach((u, i) => {
      if (seen.has(u.name))
        ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], input: u.name, message: `must be unique; users[${seen.get(u.name)}] has the same name` });
      seen.set(u.name, i);
      const email = u.email.toLowerCase();
      if (emails.has(email))
        ctx.addIssue({ code: 'custom', path: ['users', i, 'email'], input: u.email, message: `must be unique; users[${emails.get(email)}] has the same email (emails ignore case)` });
      emails.set(email, i);
    });
    if (!w.internetEgress && w.mlflowClient.install)
      ctx.addIssue({
        code: 'custom',
        path: ['mlflowClient', 'install'],
        input: true,
        message: 'can be true only while workspaces.internetEgress is true (the install step downloads from PyPI); set it to false and use images that ship mlflow',
      });
    if (!w.internetEgress && w.vscode.enabled && w.vscode.extensions.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['vscode', 'extensions'],
        input: w.vscode.extensions,
        message: 'must be empty while workspaces.internetEgress is false (extensions are downloaded from Open VSX)',
      });
    const jupyters = Math.max(w.users.length, 1);
    if (w.gpu.enabled && w.jupyter.enabled && jupyters > w.gpu.maxNodes)
      ctx.addIssue({
        code: 'custom',
        path: ['gpu', 'maxNodes'],
        input: w.gpu.maxNodes,
        message: `must be at least the number of Jupyter instances (${jupyters}): each one holds a GPU node`,
      });
  })
  .describe('Development workspaces.');

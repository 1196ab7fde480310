/** Jupyter and VS Code workspaces, shared or one per user. */
import { z } from 'zod';
import { cidr, dnsLabel, dnsName, email, image, imageTag, positiveInt, resources, size } from './primitives';
import { checkGit, gitSchema, userGitSchema } from './workspace-git';

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
  if (/alpine/.test(tag)) return `must be ${allowed}: an Alpine base makes uv install a musl Python, which the glibc code-server image cannot run`;
  return undefined;
}

/**
 * jupyter-collaboration 4.1.x is the last line built for JupyterLab 4.4: its package requires
 * `jupyterlab>=4.4.0,<5.0.0` and its front end `@jupyterlab/*` `^4.4.0`, while 4.2.0 moved the front
 * end to `^4.5.0` (jupyterlab/jupyter-collaboration, projects/jupyter-collaboration/pyproject.toml
 * and packages/docprovider/package.json at v4.1.2 and v4.2.0). The default Jupyter image,
 * scipy-notebook:2025-10-06, installs JupyterLab 4.4 unpinned from conda-forge
 * (jupyter/docker-stacks images/base-notebook/Dockerfile at e8ac699).
 */
export const JUPYTER_COLLABORATION_VERSION = '4.1.2';

/**
 * JupyterLab 4.5.0 was released on 2025-11-18 (https://github.com/jupyterlab/jupyterlab/releases/tag/v4.5.0,
 * announced in jupyter/notebook#7768). A docker-stacks image (quay.io/jupyter/*) installs JupyterLab
 * unpinned from conda-forge, which takes no pre-release, at its build date, which is its date tag
 * (tagging/taggers/date.py): an image dated before that day has JupyterLab 4.4 or older. The default
 * images (scipy-notebook:2025-10-06, pytorch-notebook:cuda12-2025-10-06) have 4.4.
 */
const JUPYTERLAB_4_5_RELEASED = '2025-11-18';

/** The build date of a docker-stacks image, or undefined for other images and tags without one. */
function dockerStacksDate(ref: string): string | undefined {
  if (!ref.startsWith('quay.io/jupyter/')) return undefined;
  return /(?:^|-)(\d{4}-\d{2}-\d{2})$/.exec(imageTag(ref))?.[1];
}

/**
 * Why this jupyter-collaboration release cannot serve the Jupyter image, or undefined when it fits or
 * the image's JupyterLab is not known from its tag. Releases 4.2.0 to 4.4.x declare
 * `jupyterlab>=4.4.0,<5.0.0` for pip while their front end needs `@jupyterlab/application ^4.5.0`
 * (jupyterlab/jupyter-collaboration, projects/jupyter-collaboration/pyproject.toml and
 * packages/collaboration-extension/package.json at v4.2.0, v4.3.0, v4.4.0 and v4.4.2): on JupyterLab
 * 4.4 they install and then fail in the browser. 5.0.0 declares `jupyterlab>=4.6.0` (same files at
 * v5.0.0): pip refuses it against the image's JupyterLab.
 */
export function collaborationVersionProblem(version: string, jupyterImage: string): string | undefined {
  const date = dockerStacksDate(jupyterImage);
  if (date === undefined || date >= JUPYTERLAB_4_5_RELEASED) return undefined;
  const m = /^(\d+)\.(\d+)\.\d+$/.exec(version);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const image = `the Jupyter image ${jupyterImage} has JupyterLab 4.4 (built ${date}, before JupyterLab 4.5.0)`;
  if (major === 4 && minor >= 2)
    return `must be a 4.1.x release such as "${JUPYTER_COLLABORATION_VERSION}": ${image}, and jupyter-collaboration 4.2.0 to 4.4.x declare jupyterlab>=4.4 for pip while their front end needs JupyterLab 4.5, so they would install and then fail in the browser`;
  if (major >= 5)
    return `must be a 4.1.x release such as "${JUPYTER_COLLABORATION_VERSION}": ${image}, and jupyter-collaboration ${major}.x needs JupyterLab 4.6`;
  return undefined;
}

/**
 * The packages a jupyter-collaboration 4.x release is made of, pinned with it. The release is a
 * metapackage whose parts it requires only as `>=2.M.P,<3` (projects/jupyter-collaboration/
 * pyproject.toml at v4.1.2: jupyter-server-ydoc, jupyter-docprovider, jupyter-collaboration-ui), and
 * each release 4.M.P of the line requires its parts from 2.M.P on (the wheels' METADATA of 4.0.2,
 * 4.1.0, 4.1.2 and 4.2.0: `jupyter-server-ydoc<3,>=2.M.P` and likewise), the parts released with it. Unpinned, pip takes the newest parts, 2.4.x, whose front ends need JupyterLab 4.5
 * (`@jupyterlab/application ^4.5.0` from v4.2.0): JupyterLab 4.4 marks them "not compatible" and
 * the collaboration UI does not load. The live Jupyter test found it.
 */
export function jupyterCollaborationRequirements(version: string): string[] {
  const m = /^4\.(\d+)\.(\d+)$/.exec(version);
  const parts = m ? ['jupyter-server-ydoc', 'jupyter-docprovider', 'jupyter-collaboration-ui'].map((p) => `${p}==2.${m[1]}.${m[2]}`) : [];
  return [`jupyter-collaboration==${version}`, ...parts];
}

/**
 * Open Collaboration Tools for VS Code (eclipse-oct/open-collaboration-tools,
 * packages/open-collaboration-vscode/package.json at e4289d0: publisher "typefox", name
 * "open-collaboration-tools", version 0.3.8, MIT). Its CHANGELOG gives 0.3.4 as the release that
 * works in code-server.
 */
export const OCT_EXTENSION = 'typefox.open-collaboration-tools@0.3.8';
/**
 * An Open VSX extension id pinned to a version: code-server installs exactly that release with
 * `--install-extension publisher.name@version` ("To install a specific version provide
 * `@${version}`": coder/code-server src/node/cli.ts at v4.104.0, the default image's tag).
 */
const VSCODE_EXTENSION_PINNED = /^[A-Za-z0-9][A-Za-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9-]*@[0-9][A-Za-z0-9.+-]*$|^\/[A-Za-z0-9._/-]+\.vsix$/;
/**
 * The Python extension (microsoft/vscode-python package.json at v2025.14.0: publisher "ms-python",
 * name "python", version 2025.14.0, engines.vscode ^1.95.0), which fits the VS Code 1.104 of
 * code-server 4.104.0.
 */
export const VSCODE_PYTHON_EXTENSION = 'ms-python.python@2025.14.0';
/** The extension's pinned Open VSX id, or the absolute path of its .vsix file in the image. */
const OCT_EXTENSION_FORMAT = /^typefox\.open-collaboration-tools@[0-9]+\.[0-9]+\.[0-9]+$|^\/[A-Za-z0-9._/-]+\.vsix$/;

/**
 * The public collaboration server the extension uses unless told otherwise (the `oct.serverUrl`
 * default in the package.json above): a third-party service, which the platform never uses by default.
 */
export const OCT_PUBLIC_SERVER = 'https://api.open-collab.tools/';

/** Why a collaboration server URL cannot serve the workspaces, or undefined. */
export function collaborationServerProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an https URL such as "https://oct.example.com/"';
  }
  if (url.protocol !== 'https:') return 'must be an https URL: the traffic to the server leaves the cluster, so it must be encrypted';
  if (url.username || url.password) return 'must not carry a user or password (the rendered settings are not secret)';
  if (url.search || url.hash) return 'must not have a query or fragment';
  if (/(^|\.)(cluster\.local|svc)$/.test(url.hostname) || /^(\d+\.){3}\d+$/.test(url.hostname))
    return 'must name a public host: the VS Code pods reach the server only at collaboration.serverCidrs, which never admit cluster addresses';
  return undefined;
}

export const gpuSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Give Jupyter a GPU and create the matching GPU node pool.'),
    sandbox: z
      .boolean()
      .default(false)
      .describe(
        "Run the GPU Jupyter in GKE Sandbox (gVisor) on a sandboxed GPU pool. Off by default: GKE supports GPUs in sandboxed pods only for some GPU models and drivers (CUDA only), so turn it on after checking Google's list for workspaces.gpu.acceleratorType. Fixed when the pool is created: changing it makes a new pool.",
      ),
    acceleratorType: z
      .string()
      .regex(/^nvidia-[a-z0-9-]+$/, 'must be a GKE accelerator type such as "nvidia-tesla-t4" or "nvidia-l4"')
      .default('nvidia-tesla-t4')
      .describe('GKE accelerator type (node label cloud.google.com/gke-accelerator).'),
    count: positiveInt().default(1).describe('GPUs per Jupyter pod and per node.'),
    machineType: z
      .string()
      .regex(/^[a-z0-9]+-[a-z0-9-]+$/, 'must be a machine type such as "n1-standard-8"')
      .default('n1-standard-8')
      .describe('Machine type of the GPU node pool.'),
    maxNodes: positiveInt().default(2).describe('Largest size of the GPU node pool (it scales from zero).'),
    // A build date is the only docker-stacks tag that never moves (tagging/taggers/date.py); the
    // cuda12 variant of 2025-10-06 matches workspaces.jupyter.image's scipy-notebook:2025-10-06.
    image: image
      .default('quay.io/jupyter/pytorch-notebook:cuda12-2025-10-06')
      .describe('CUDA-enabled notebook image used when the GPU is on, pinned by a cuda12- date tag (the cuda12 builds match the GKE default driver).'),
  })
  .prefault({})
  .describe('GPU for Jupyter.');

/**
 * The workspace apps, in the order their charts are applied. Each has a section of its own below
 * (`workspaces.<app>`: at least enabled, image, storageSize and resources) and a registry entry in
 * charts/workspaces/apps/ that says what makes it that app.
 */
export const WORKSPACE_APPS = ['jupyter', 'vscode'] as const;

export const workspacesSchema = z
  .strictObject({
    users: z
      .array(
        z.strictObject({
          name: dnsLabel(20).describe('Short user name; it becomes part of object and host names.'),
          email: email.describe('Google identity of the user; IAP admits only this user to their workspaces, and admits them to MLflow too.'),
          git: userGitSchema,
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
        collaboration: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe(
                'Real-time collaboration in the shared Jupyter: jupyter-collaboration is installed into the home volume at start (needs internetEgress; shared instance only).',
              ),
            version: z
              .string()
              .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, 'must be a jupyter-collaboration release such as "4.1.2"')
              .default(JUPYTER_COLLABORATION_VERSION)
              .describe(
                "jupyter-collaboration release; it must fit the image's JupyterLab: 4.1.x for JupyterLab 4.4 (the default images). 4.2.0-4.4.x declare jupyterlab>=4.4 for pip but their front end needs JupyterLab 4.5, so on 4.4 they install and then fail in the browser (refused with a docker-stacks image dated before 2025-11-18); 5.x needs 4.6.",
              ),
          })
          .prefault({})
          .describe('JupyterLab real-time collaboration. Off: the server runs with it disabled, even if a user installs the extension.'),
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
          .array(
            z
              .string()
              .regex(
                VSCODE_EXTENSION_PINNED,
                `must be an Open VSX extension id pinned to a version, "publisher.name@version", such as "${VSCODE_PYTHON_EXTENSION}" (an unpinned id installs whatever is newest at each start), or the absolute path of a .vsix file in workspaces.vscode.image`,
              ),
          )
          .default([VSCODE_PYTHON_EXTENSION])
          .describe(
            'Extensions installed into the workspace volume at start when missing: from Open VSX, each pinned as publisher.name@version (needs internetEgress, or hostEgress with the Open VSX hosts in packages.hosts), or the absolute path of a .vsix file baked into workspaces.vscode.image.',
          ),
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
        collaboration: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe(
                'Real-time co-editing with Open Collaboration Tools (needs serverUrl, serverCidrs, the extension as a .vsix file in the image, and internetEgress false).',
              ),
            serverUrl: z
              .string()
              .optional()
              .describe(
                'https URL of the Open Collaboration server the extension uses (your own; there is no default, so the public third-party server is never used unless named here).',
              ),
            serverCidrs: z
              .array(cidr)
              .default([])
              .describe(
                'Address ranges of the server at serverUrl: the only addresses the VS Code pods may reach for collaboration (HTTPS). The extension joins whatever server an invitation code names, and a NetworkPolicy cannot name a host, so these ranges are the enforcement.',
              ),
            extension: z
              .string()
              .regex(
                OCT_EXTENSION_FORMAT,
                'must be "typefox.open-collaboration-tools@<version>", pinned, such as "typefox.open-collaboration-tools@0.3.8", or the absolute path of its .vsix file in the image, such as "/opt/extensions/open-collaboration-tools-0.3.8.vsix"',
              )
              .default(OCT_EXTENSION)
              .describe(
                'The extension: its absolute .vsix path inside workspaces.vscode.image (needed while collaboration is on, since the pod has no internet rule then), or its pinned Open VSX id; use the release the server was built from.',
              ),
          })
          .prefault({})
          .describe('VS Code real-time collaboration (Open Collaboration Tools). Off: the extension is neither installed nor configured.'),
      })
      .prefault({})
      .describe('VS Code server.'),
    gpu: gpuSchema,
    mlflowClient: z
      .strictObject({
        install: z
          .boolean()
          .default(true)
          .describe(
            'Install the MLflow client into each workspace volume at start when missing (downloads from PyPI; needs internetEgress, or hostEgress with the PyPI hosts in packages.hosts). false: the images must ship it.',
          ),
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
    git: gitSchema,
    packages: z
      .strictObject({
        hosts: z
          .array(dnsName)
          .default([])
          .describe(
            'Host names of the package indexes (and the hosts their downloads redirect to) the workspaces may reach on HTTPS while workspaces.hostEgress is true; with the Git hosts of workspaces.git.hosts, they are the only names allowed.',
          ),
        cache: z
          .enum(['volume', 'tmp'])
          .default('volume')
          .describe(
            'Where pip, conda and uv keep their download caches: volume (the home volume: reinstalls after a restart or an image upgrade download nothing) or tmp (the 2 GiB /tmp, emptied at every restart). Installed packages live on the volume either way.',
          ),
      })
      .prefault({})
      .describe('Packages users install in the workspaces.'),
    homeStorage: z
      .enum(['cmek', 'cluster-default'])
      .default('cmek')
      .describe(
        "StorageClass of the home volumes: cmek (the platform's CMEK StorageClass, the Cloud KMS disk key) or cluster-default (the cluster's default class, Google-managed keys). The CMEK class is rendered either way. A bound claim's class cannot change: an install whose home volumes already exist keeps cluster-default until they are migrated (docs/workspaces.md).",
      ),
    internetEgress: z.boolean().default(true).describe('Allow workspaces to reach the internet (package installs).'),
    hostEgress: z
      .boolean()
      .default(false)
      .describe(
        "Allow workspaces to reach, by host name, only workspaces.packages.hosts (HTTPS) and workspaces.git.hosts (ssh and HTTPS), with a GKE FQDNNetworkPolicy (needs GKE Dataplane V2 and turns on the cluster's FQDN network policy; docs/workspaces.md). Needs internetEgress false.",
      ),
    tokenSecret: dnsLabel(253).default('workspace-token').describe('Secret (key token) with the login token, used only when the edge does not require IAP.'),
  })
  .prefault({})
  .superRefine((w, ctx) => {
    const uvProblem = w.mlflowClient.install && w.vscode.enabled ? uvImageProblem(w.vscode.uvImage) : undefined;
    if (uvProblem) ctx.addIssue({ code: 'custom', path: ['vscode', 'uvImage'], input: w.vscode.uvImage, message: uvProblem });
    const seen = new Map<string, number>();
    // Google identities ignore case: two entries with one email would be one person with two workspaces.
    const emails = new Map<string, number>();
    w.users.forEach((u, i) => {
      // One mistake, one error: a repeated user is reported once, at its name (and email, when that
      // repeats another entry), and the host names it would share are not reported again.
      const sameName = seen.get(u.name);
      const email = u.email.toLowerCase();
      const sameEmail = emails.get(email);
      if (sameName !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['users', i, 'name'],
          input: u.name,
          message: `must be unique; users[${sameName}] has the same name${sameEmail === sameName ? ' and email' : ''}`,
        });
      if (sameEmail !== undefined && sameEmail !== sameName)
        ctx.addIssue({
          code: 'custom',
          path: ['users', i, 'email'],
          input: u.email,
          message: `must be unique; users[${sameEmail}] has the same email (emails ignore case)`,
        });
      if (sameName === undefined) seen.set(u.name, i);
      if (sameEmail === undefined) emails.set(email, i);
    });
    // The host rule reaches the package indexes the config names: what the setup steps download must be among them.
    const online = w.internetEgress || (w.hostEgress && w.packages.hosts.length > 0);
    if (w.internetEgress && w.hostEgress)
      ctx.addIssue({
        code: 'custom',
        path: ['hostEgress'],
        input: true,
        message:
          'can be true only while workspaces.internetEgress is false: the internet rule already reaches every host, so a list of allowed hosts would restrict nothing',
      });
    if (w.hostEgress && !w.internetEgress && w.packages.hosts.length === 0 && (w.mlflowClient.install || (w.vscode.enabled && w.vscode.extensions.length > 0)))
      ctx.addIssue({
        code: 'custom',
        path: ['packages', 'hosts'],
        input: w.packages.hosts,
        message:
          'must list the package index hosts while workspaces.hostEgress is true and a setup step downloads (mlflowClient.install, vscode.extensions): without them the setup steps cannot reach anything',
      });
    if (!online && !w.hostEgress && w.mlflowClient.install)
      ctx.addIssue({
        code: 'custom',
        path: ['mlflowClient', 'install'],
        input: true,
        message:
          'can be true only while workspaces.internetEgress or workspaces.hostEgress is true (the install step downloads from PyPI); set it to false and use images that ship mlflow',
      });
    if (!online && !w.hostEgress && w.vscode.enabled && w.vscode.extensions.some((e) => !e.startsWith('/')))
      ctx.addIssue({
        code: 'custom',
        path: ['vscode', 'extensions'],
        input: w.vscode.extensions,
        message:
          'must list only .vsix files in the image while workspaces.internetEgress and workspaces.hostEgress are false (the others are downloaded from Open VSX)',
      });
    if (w.jupyter.enabled && w.jupyter.collaboration.enabled) {
      const at = { code: 'custom' as const, path: ['jupyter', 'collaboration', 'enabled'], input: true };
      if (w.users.length > 0)
        ctx.addIssue({ ...at, message: 'can be true only while workspaces.users is empty: a per-user Jupyter admits its user alone, so nobody could join' });
      if (!online)
        ctx.addIssue({
          ...at,
          message:
            'can be true only while workspaces.internetEgress is true, or hostEgress with packages.hosts (jupyter-collaboration is installed from PyPI at start)',
        });
      const version = w.jupyter.collaboration.version;
      const problem = collaborationVersionProblem(version, w.gpu.enabled ? w.gpu.image : w.jupyter.image);
      if (problem) ctx.addIssue({ code: 'custom', path: ['jupyter', 'collaboration', 'version'], input: version, message: problem });
    }
    const oct = w.vscode.collaboration;
    if (oct.serverUrl !== undefined) {
      const problem = collaborationServerProblem(oct.serverUrl);
      if (problem) ctx.addIssue({ code: 'custom', path: ['vscode', 'collaboration', 'serverUrl'], input: oct.serverUrl, message: problem });
    }
    if (w.vscode.enabled && oct.enabled) {
      const at = { code: 'custom' as const, path: ['vscode', 'collaboration', 'enabled'], input: true };
      if (oct.serverUrl === undefined)
        ctx.addIssue({
          ...at,
          message: `can be true only with workspaces.vscode.collaboration.serverUrl set to your own server (without it the extension would use the public third-party server ${OCT_PUBLIC_SERVER})`,
        });
      // eclipse-oct/open-collaboration-tools at e4289d0 (0.3.8), packages/open-collaboration-vscode/src/
      // collaboration-room-service.ts joinRoom: an invitation code that is a URL carries its server,
      // and the extension connects there whatever oct.serverUrl says. Only the network can hold it to
      // yours, and a NetworkPolicy names addresses, not hosts: no internet rule, only serverCidrs.
      if (w.internetEgress)
        ctx.addIssue({
          ...at,
          message:
            'can be true only while workspaces.internetEgress is false: the extension joins whatever server an invitation code names, whatever oct.serverUrl says, so only a pod without the internet rule, reaching only collaboration.serverCidrs, stays on your server',
        });
      if (oct.serverCidrs.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['vscode', 'collaboration', 'serverCidrs'],
          input: oct.serverCidrs,
          message:
            'must list the address ranges of the server at serverUrl while collaboration is enabled: they are the only addresses the VS Code pods may reach for it',
        });
      if (!w.internetEgress && !oct.extension.startsWith('/'))
        ctx.addIssue({
          code: 'custom',
          path: ['vscode', 'collaboration', 'extension'],
          input: oct.extension,
          message:
            'must be the absolute path of the extension\'s .vsix file inside workspaces.vscode.image while workspaces.internetEgress is false (the pod cannot reach Open VSX), such as "/opt/extensions/open-collaboration-tools-0.3.8.vsix"',
        });
    }
    checkGit(w, ctx);
    if (w.gpu.sandbox && !w.gpu.enabled)
      ctx.addIssue({
        code: 'custom',
        path: ['gpu', 'sandbox'],
        input: true,
        message: 'is used only while workspaces.gpu.enabled is true (it sandboxes the GPU pool); the CPU workspaces follow cluster.workspacePool.sandbox',
      });
    const jupyters = Math.max(w.users.length, 1);
    if (w.gpu.enabled && w.jupyter.enabled && jupyters > w.gpu.maxNodes)
      ctx.addIssue({
        code: 'custom',
        path: ['gpu', 'maxNodes'],
        input: w.gpu.maxNodes,
        message: `must be at least the number of Jupyter instances (${jupyters}): each one holds a GPU node; adding a user to workspaces.users adds a Jupyter, so raise workspaces.gpu.maxNodes to ${jupyters} with it`,
      });
  })
  .describe('Development workspaces.');

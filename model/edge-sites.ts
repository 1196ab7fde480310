/**
 * What the edge serves, derived from the config in one place (no cdk8s: the config rules check it too): one site per app instance (host name,
 * Service, namespace) and the IAM members IAP admits to it. The edge chart builds its Ingresses from
 * these sites and the gcp chart its IAP grants, so a host and its grant never drift apart.
 */
import type { Config } from '../config/schema';
import { configuredHost, PlatformNames, WorkspaceApp } from './names';

export type EdgeApp = 'mlflow' | WorkspaceApp;

/** ManagedCertificate accepts domain names of at most 63 characters. */
const MAX_HOST_LENGTH = 63;
/** A managed certificate holds at most 100 names, an Ingress at most 15 certificates. */
export const MAX_CERT_DOMAINS = 100;
export const MAX_CERTS_PER_INGRESS = 15;
/** Object names (DNS subdomains) have at most 253 characters. */
const MAX_NAME_LENGTH = 253;

/** A problem of the config's edge, at the config path to change; the schema's rules report it. */
export interface EdgeProblem {
  readonly path: readonly (string | number)[];
  readonly input: unknown;
  readonly message: string;
}

export interface EdgeSite {
  readonly app: EdgeApp;
  /** Service (and BackendConfig) the host routes to. */
  readonly service: string;
  readonly namespace: string;
  readonly host: string;
  /** Config field that sets the host, for error messages. */
  readonly hostField: string;
  /** IAM members IAP admits to this host, sorted. */
  readonly members: readonly string[];
  /** Email of the user a per-user workspace belongs to. */
  readonly user?: string;
  /**
   * The id of the site's load balancer backend service once the config pins it (MLflow:
   * mlflow.auth.iapBackendServiceId; a workspace: edge.backendServiceIds.<service>): IAP's audience is
   * /projects/<number>/global/backendServices/<id>.
   */
  readonly backendServiceId?: string;
}

/** The sites of the edge; none while `edge.enabled` is false. */
export function edgeSites(config: Config, names: PlatformNames): EdgeSite[] {
  if (!config.edge.enabled) return [];
  const edge = config.edge;
  const shared = (extra: readonly string[]) => [...new Set([...edge.iapMembers, ...extra])].sort();
  const sites: EdgeSite[] = [
    {
      app: 'mlflow',
      service: names.mlflow,
      namespace: names.namespaces.platform,
      host: names.mlflowHost,
      hostField: edge.hosts.mlflow ? 'edge.hosts.mlflow' : 'edge.domain',
      backendServiceId: config.mlflow.auth.iapBackendServiceId,
      // Every workspace user may open the MLflow UI their workspace logs to (emails are read in lower case).
      members: shared([...edge.members.mlflow, ...config.workspaces.users.map((u) => `user:${u.email}`)]),
    },
    ...names.workspaces.map((w): EdgeSite => ({
      app: w.app,
      service: w.name,
      namespace: names.namespaces.workspaces,
      host: w.host,
      hostField: !w.user && configuredHost(config, w.app) ? `edge.hosts.${w.app}` : 'edge.domain',
      // A per-user workspace runs its user's code with its user's files: nobody else may enter.
      members: w.user ? [`user:${w.user.email}`] : shared((edge.members as Readonly<Record<string, readonly string[] | undefined>>)[w.app] ?? []),
      user: w.user?.email,
      backendServiceId: edge.backendServiceIds[w.name],
    })),
  ];
  return sites;
}

/**
 * Why the edge of this config cannot be served: host names too long for a managed certificate or
 * shared by two apps, more hosts in a namespace than one Ingress holds, IAP grant names that collide
 * or run too long. Empty when the edge is off or fine.
 */
export function edgeProblems(config: Config, names: PlatformNames): EdgeProblem[] {
  const sites = edgeSites(config, names);
  const problems: EdgeProblem[] = [];
  const at = (field: string) => field.split('.');
  const seen = new Map<string, EdgeSite>();
  for (const site of sites) {
    const field = site.hostField === 'edge.domain' ? config.edge.domain : site.host;
    if (site.host.length > MAX_HOST_LENGTH)
      problems.push({
        path: at(site.hostField),
        input: field,
        message: `gives the host name "${site.host}" for ${site.service}, longer than ${MAX_HOST_LENGTH} characters (a managed certificate's limit)`,
      });
    const other = seen.get(site.host);
    // The same service twice is a repeated user, which workspaces.users reports.
    if (other && other.service !== site.service)
      problems.push({
        path: at(site.hostField),
        input: field,
        message: `gives ${site.service} the host name "${site.host}" of ${other.service}: each app needs its own host name`,
      });
    seen.set(site.host, site);
  }
  const perNamespace = new Map<string, number>();
  for (const site of sites) perNamespace.set(site.namespace, (perNamespace.get(site.namespace) ?? 0) + 1);
  for (const [namespace, hosts] of perNamespace)
    if (hosts > MAX_CERTS_PER_INGRESS * MAX_CERT_DOMAINS)
      problems.push({
        path: ['workspaces', 'users'],
        input: `${config.workspaces.users.length} users`,
        message: `give ${hosts} host names in namespace ${namespace}: an Ingress holds at most ${MAX_CERTS_PER_INGRESS * MAX_CERT_DOMAINS} (${MAX_CERTS_PER_INGRESS} certificates of ${MAX_CERT_DOMAINS})`,
      });
  const workspaces = sites.filter((s) => s.app !== 'mlflow').map((s) => s.service);
  // Without the edge no backend exists, and the ids wait in the config for it.
  for (const service of config.edge.enabled ? Object.keys(config.edge.backendServiceIds) : [])
    if (!workspaces.includes(service))
      problems.push({
        path: ['edge', 'backendServiceIds', service],
        input: config.edge.backendServiceIds[service],
        message: `is set for "${service}", which is no workspace Service of the edge; the workspaces are: ${workspaces.join(', ') || 'none'} (MLflow's id is mlflow.auth.iapBackendServiceId)`,
      });
  const grants = new Map<string, IapGrant>();
  const reported = new Set<string>();
  for (const g of iapGrants(config, sites)) {
    const index = config.edge.iapMembers.indexOf(g.member);
    const user = config.workspaces.users.findIndex((u) => `user:${u.email}` === g.member);
    const path = index >= 0 ? ['edge', 'iapMembers', index] : user >= 0 ? ['workspaces', 'users', user, 'email'] : ['edge', 'iapMembers'];
    if (g.name.length > MAX_NAME_LENGTH)
      problems.push({ path, input: g.member, message: `gives the IAP grant for ${g.host} a name longer than ${MAX_NAME_LENGTH} characters` });
    const other = grants.get(g.name);
    // One line per pair of members, whatever the number of hosts they collide on.
    if (other && other.member !== g.member && !reported.has(`${other.member}\n${g.member}`) && reported.add(`${other.member}\n${g.member}`))
      problems.push({
        path,
        input: g.member,
        message: `gives the same object name (${g.name}) as "${other.member}": members must differ in more than punctuation and case`,
      });
    grants.set(g.name, g);
  }
  return problems;
}

/** The sites whose IAP audience is not pinned yet: each accepts a token for any backend service of the project. */
export function unpinnedSites(sites: readonly EdgeSite[]): EdgeSite[] {
  return sites.filter((s) => !s.backendServiceId);
}

/** One IAP grant: `member` may pass IAP for requests to `host`. */
export interface IapGrant {
  /** Object name: readable, and new whenever member or host change (the binding is immutable). */
  readonly name: string;
  readonly member: string;
  readonly host: string;
}

/** The IAP grants of every site; none while the edge is off. */
export function iapGrants(config: Config, sites: readonly EdgeSite[]): IapGrant[] {
  return sites.flatMap((site) => site.members.map((member): IapGrant => ({ name: grantName(config.namePrefix, site.host, member), member, host: site.host })));
}

/** `<prefix>iap-<host>-<member>` as a DNS subdomain name (lower case; other characters become "-"). */
export function grantName(prefix: string, host: string, member: string): string {
  const name = `${prefix}iap-${host}-${member}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .split('.')
    .map((label) => label.replace(/^-+|-+$/g, ''))
    .filter((label) => label.length > 0)
    .join('.');
  return name;
}

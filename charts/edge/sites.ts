/**
 * What the edge serves, derived from the config in one place: one site per app instance (host name,
 * Service, namespace) and the IAM members IAP admits to it. The edge chart builds its Ingresses from
 * these sites and the gcp chart its IAP grants, so a host and its grant never drift apart.
 */
import type { Config } from '../../config/schema';
import { platformNames, WorkspaceApp } from '../../common/names';

export type EdgeApp = 'mlflow' | WorkspaceApp;

/** ManagedCertificate accepts domain names of at most 63 characters. */
export const MAX_HOST_LENGTH = 63;

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
}

/** The sites of the edge; none while `edge.enabled` is false. */
export function edgeSites(config: Config): EdgeSite[] {
  if (!config.edge.enabled) return [];
  const names = platformNames(config);
  const edge = config.edge;
  const shared = (extra: readonly string[]) => [...new Set([...edge.iapMembers, ...extra])].sort();
  const sites: EdgeSite[] = [
    {
      app: 'mlflow',
      service: names.mlflow,
      namespace: names.namespaces.platform,
      host: names.mlflowHost,
      hostField: edge.hosts.mlflow ? 'edge.hosts.mlflow' : 'edge.domain',
      members: shared(edge.members.mlflow),
    },
    ...names.workspaces.map(
      (w): EdgeSite => ({
        app: w.app,
        service: w.name,
        namespace: names.namespaces.workspaces,
        host: w.host,
        hostField: !w.user && edge.hosts[w.app] ? `edge.hosts.${w.app}` : 'edge.domain',
        // A per-user workspace runs its user's code with its user's files: nobody else may enter.
        members: w.user ? [`user:${w.user.email}`] : shared(edge.members[w.app]),
        user: w.user?.email,
      }),
    ),
  ];
  checkHosts(sites);
  return sites;
}

function checkHosts(sites: readonly EdgeSite[]): void {
  const seen = new Map<string, EdgeSite>();
  for (const site of sites) {
    if (site.host.length > MAX_HOST_LENGTH)
      throw new Error(
        `${site.hostField}: host name "${site.host}" of ${site.service} is not allowed: must be at most ${MAX_HOST_LENGTH} characters (a managed certificate's limit)`,
      );
    const other = seen.get(site.host);
    if (other)
      throw new Error(
        `${site.hostField}: host name "${site.host}" is not allowed for ${site.service}: must differ from the host of ${other.service} (one host name per app)`,
      );
    seen.set(site.host, site);
  }
}

/** One IAP grant: `member` may pass IAP for requests to `host`. */
export interface IapGrant {
  /** Object name: readable, and new whenever member or host change (the binding is immutable). */
  readonly name: string;
  readonly member: string;
  readonly host: string;
}

/** The IAP grants of every site; none while the edge is off. */
export function iapGrants(config: Config): IapGrant[] {
  const grants = edgeSites(config).flatMap((site) =>
    site.members.map((member): IapGrant => ({ name: grantName(config.namePrefix, site.host, member), member, host: site.host })),
  );
  const seen = new Map<string, IapGrant>();
  for (const g of grants) {
    const other = seen.get(g.name);
    if (other && other.member !== g.member)
      throw new Error(
        `edge.iapMembers: "${g.member}" is not allowed next to "${other.member}": both give the object name ${g.name}; members must differ in more than punctuation and case`,
      );
    seen.set(g.name, g);
  }
  return grants;
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
  if (name.length > 253) throw new Error(`edge.iapMembers: "${member}" is not allowed: the grant name for ${host} would exceed 253 characters`);
  return name;
}

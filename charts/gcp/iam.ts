/**
 * Google service accounts and their grants. Every grant is an additive IAMPolicyMember (never an
 * authoritative IAMPolicy, which would wipe bindings made elsewhere); Workload Identity bindings name
 * exactly the Kubernetes ServiceAccounts the other charts render, taken from the shared names.
 */
import { Construct } from 'constructs';
import { IamPolicyMember, IamServiceAccount } from '../../imports/iam.cnrm.cloud.google.com';
import { GcpScope, kccMetadata, roleSlug } from './common';

const WORKLOAD_IDENTITY_USER = 'roles/iam.workloadIdentityUser';
/**
 * Lets a principal mint this one account's access tokens (iam.serviceAccounts.getAccessToken), i.e.
 * act as it: granted on the service account, never on the project
 * (https://cloud.google.com/iam/docs/service-account-permissions, "Service Account Token Creator role").
 */
const TOKEN_CREATOR = 'roles/iam.serviceAccountTokenCreator';

/** An IAM condition of a binding (IAMPolicyMember spec.condition: title and expression required). */
export interface IamCondition {
  /** Also the last part of the grant's object name: IAMPolicyMember's condition is immutable, so a grant that gains one is a new object. */
  readonly title: string;
  readonly description: string;
  readonly expression: string;
}

/** A project-level role, optionally narrowed by an IAM condition. */
export interface ProjectGrant {
  readonly role: string;
  /** @default - unconditional */
  readonly condition?: IamCondition;
}

export interface ServiceAccountProps {
  /** Account id, also the object name. */
  readonly accountId: string;
  readonly displayName: string;
  readonly description: string;
  /**
   * Project-level roles (for services without resource-level IAM, such as Cloud SQL).
   * @default - none
   */
  readonly projectRoles?: readonly (string | ProjectGrant)[];
  /**
   * Workload Identity member allowed to act as this account, `serviceAccount:<pool>[<ns>/<ksa>]`.
   * @default - no Kubernetes ServiceAccount may use it
   */
  readonly workloadIdentityMember?: string;
  /**
   * More Kubernetes ServiceAccounts allowed to act as this account, each with the suffix of its
   * binding's name (`<accountId>-workload-identity-<suffix>`).
   * @default - none
   */
  readonly moreWorkloadIdentityMembers?: readonly { readonly suffix: string; readonly member: string }[];
  /**
   * Account ids of other service accounts of this list that may act as this one (roles/iam.serviceAccountTokenCreator on it alone).
   * @default - none
   */
  readonly tokenCreators?: readonly string[];
}

export interface IamProps {
  readonly scope: GcpScope;
  readonly serviceAccounts: readonly ServiceAccountProps[];
}

export class Iam extends Construct {
  constructor(scope: Construct, id: string, props: IamProps) {
    super(scope, id);
    const s = props.scope;
    for (const sa of props.serviceAccounts) {
      // Recreating an account under the same id gives it a new identity: every binding to it breaks.
      const account = new IamServiceAccount(this, sa.accountId, {
        metadata: kccMetadata(s, sa.accountId, { stateful: true }),
        spec: { displayName: sa.displayName, description: sa.description },
      });
      for (const grant of sa.projectRoles ?? []) {
        const { role, condition } = typeof grant === 'string' ? { role: grant, condition: undefined } : grant;
        const name = [sa.accountId, roleSlug(role), ...(condition ? [condition.title] : [])].join('-');
        new IamPolicyMember(this, name, {
          metadata: kccMetadata(s, name),
          spec: {
            resourceRef: { kind: 'Project', external: `projects/${s.project}` },
            role,
            memberFrom: { serviceAccountRef: { name: account.name } },
            ...(condition ? { condition: { ...condition } } : {}),
          },
        });
      }
      if (sa.workloadIdentityMember) {
        new IamPolicyMember(this, `${sa.accountId}-workload-identity`, {
          metadata: kccMetadata(s, `${sa.accountId}-workload-identity`),
          spec: {
            resourceRef: { kind: 'IAMServiceAccount', name: account.name },
            role: WORKLOAD_IDENTITY_USER,
            member: sa.workloadIdentityMember,
          },
        });
      }
      for (const more of sa.moreWorkloadIdentityMembers ?? []) {
        const name = `${sa.accountId}-workload-identity-${more.suffix}`;
        new IamPolicyMember(this, name, {
          metadata: kccMetadata(s, name),
          spec: { resourceRef: { kind: 'IAMServiceAccount', name: account.name }, role: WORKLOAD_IDENTITY_USER, member: more.member },
        });
      }
      for (const creator of sa.tokenCreators ?? []) {
        if (!props.serviceAccounts.some((other) => other.accountId === creator))
          throw new Error(`service account ${sa.accountId}: token creator ${creator} is not a service account of this chart`);
        const name = `${sa.accountId}-token-creator-${creator}`;
        new IamPolicyMember(this, name, {
          metadata: kccMetadata(s, name),
          spec: {
            resourceRef: { kind: 'IAMServiceAccount', name: account.name },
            role: TOKEN_CREATOR,
            memberFrom: { serviceAccountRef: { name: creator } },
          },
        });
      }
    }
  }
}

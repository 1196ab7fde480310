/**
 * The project's IAM custom roles, for identities no predefined role fits without granting far more.
 * The bootstrap script (synth/bootstrap/gcp.sh) creates and updates them, not Config Connector: to
 * manage a custom role Config Connector would need Role Administrator (roles/iam.roleAdmin) on the
 * project ("To manage roles for a project", https://cloud.google.com/iam/docs/creating-custom-roles),
 * which reaches every custom role there; with its Project IAM Admin grant, which admits every role the
 * render grants on the project, it could then widen such a role and grant it to itself. The render
 * only binds the roles (charts/gcp.ts), by their full names.
 */

export interface CustomRoleSpec {
  /**
   * The role id: 3 to 64 letters, digits, "_" or "." (IAM projects.roles.create, roleId:
   * https://cloud.google.com/iam/docs/reference/rest/v1/projects.roles/create).
   */
  readonly roleId: string;
  readonly title: string;
  readonly description: string;
  readonly permissions: readonly string[];
}

/** The IAM role name a binding gives: `projects/<project>/roles/<id>`. */
export function customRoleName(project: string, roleId: string): string {
  return `projects/${project}/roles/${roleId}`;
}

/** The role as the bootstrap script gets it, or an error naming what IAM or the script would refuse. */
export function checkedCustomRole(role: CustomRoleSpec): CustomRoleSpec {
  if (!/^[A-Za-z0-9_.]{3,64}$/.test(role.roleId)) throw new Error(`custom role id "${role.roleId}": must be 3 to 64 letters, digits, "_" or "."`);
  if (role.permissions.length === 0) throw new Error(`custom role ${role.roleId}: no permissions`);
  // The script reads each role as one "id|title|description|permission,..." line.
  for (const text of [role.title, role.description, ...role.permissions])
    if (/[|,\n]/.test(text)) throw new Error(`custom role ${role.roleId}: "${text}" holds "|", "," or a line break`);
  return { ...role, permissions: [...role.permissions].sort() };
}

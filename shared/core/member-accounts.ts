/**
 * Hub and spoke (docs/multi-account.md#hub-and-spoke): which role the control plane assumes in a member
 * account. Each member may name its own (MEMBER_ROLE_NAMES, `account=role,...`); the others use
 * CROSS_ACCOUNT_ROLE_NAME. Role names here exclude `,` and `=`, the mapping's separators.
 */

export const MEMBER_ROLE_NAMES_PATTERN = /^(\d{12}=[\w+.@-]{1,64}(,\d{12}=[\w+.@-]{1,64})*)?$/;

/** `111122223333=reader-a,444455556666=reader-b` → account → role name (already validated by the pattern). */
export function parseMemberRoleNames(text: string): ReadonlyMap<string, string> {
  return new Map(
    text
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
}

export interface ReaderRoleNames {
  /** Roles named per member account. */
  memberRoleNames: ReadonlyMap<string, string>;
  /** The role every other account deploys, if any. */
  defaultRoleName: string | undefined;
}

/** The role to assume in `accountId`, or undefined when none is configured (its tasks cannot be read). */
export function readerRoleNameFor(accountId: string, names: ReaderRoleNames): string | undefined {
  return names.memberRoleNames.get(accountId) ?? (names.defaultRoleName || undefined);
}

/** Whether any account other than ours can be read. */
export const readsOtherAccounts = (names: ReaderRoleNames): boolean => names.memberRoleNames.size > 0 || Boolean(names.defaultRoleName);

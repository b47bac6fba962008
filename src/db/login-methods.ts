import type { Knex } from 'knex';
import type { UserId } from '../domain/model';

/** The ways into an account: its password, identities at providers, and passkeys. */
export interface LoginMethods {
  password: boolean;
  identityIds: string[];
  passkeyIds: string[];
}

export const countOf = ({ password, identityIds, passkeyIds }: LoginMethods): number =>
  (password ? 1 : 0) + identityIds.length + passkeyIds.length;

/**
 * Locks the user's row (FOR UPDATE) for the rest of the transaction, so that removals of one
 * user's ways in run one after another: two at once cannot each leave the other as the last and
 * so together leave none. Answers the ways in, or undefined when there is no such user.
 */
export async function lockLoginMethods(trx: Knex.Transaction, userId: UserId): Promise<LoginMethods | undefined> {
  const user = await trx<{ id: number; password_hash: string | null }>('users')
    .select('password_hash')
    .where({ id: userId })
    .forUpdate()
    .first();
  if (!user) return undefined;
  const identities = await trx<{ id: string | number; user_id: number }>('user_identities')
    .select('id')
    .where({ user_id: userId });
  const passkeys = await trx<{ id: string; user_id: number }>('passkeys').select('id').where({ user_id: userId });
  return {
    password: user.password_hash !== null,
    identityIds: identities.map((each) => String(each.id)),
    passkeyIds: passkeys.map((each) => each.id),
  };
}

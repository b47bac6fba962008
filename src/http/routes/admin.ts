import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { Services } from '../../services';
import { adminActor, recordAuthEvent } from '../auth-events';
import type { User } from '../../domain/model';
import { presentAdminUser, presentRole } from '../presenters';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';

const user = named('User', schemas.adminUserResponse);

/** The admin API of api.md. Every route needs an admin session or the admin secret. */
export const adminRoutes = {
  listUsers: defineRoute({
    method: 'get',
    path: '/admin/users',
    summary: 'List users',
    tag: 'administration',
    access: 'admin',
    query: schemas.userListQuery,
    answers: [
      {
        status: 200,
        description: 'A page of users, and how many there are.',
        body: named('UserList', schemas.userListResponse),
      },
    ],
    usesDatabase: true,
  }),
  createUser: defineRoute({
    method: 'post',
    path: '/admin/users',
    summary: 'Create a user, or invite one',
    description:
      'With `password`, the user can log in at once, and an unverified `email` gets a verification mail. Without it, `email` is required: an invitation mail carries a link to choose a password (INVITATION_TOKEN_LIFETIME_SECONDS, 7 days by default), which verifies the address too.',
    tag: 'administration',
    access: 'admin',
    body: named('CreateUserRequest', schemas.createUserBody),
    answers: [{ status: 201, description: 'The new user.', body: user }],
    errors: ['WEAK_PASSWORD', 'NOT_FOUND', 'USERNAME_TAKEN', 'EMAIL_TAKEN', 'OVERLOADED'],
    usesDatabase: true,
  }),
  getUser: defineRoute({
    method: 'get',
    path: '/admin/users/{id}',
    summary: 'One user',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [{ status: 200, description: 'The user.', body: user }],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  updateUser: defineRoute({
    method: 'patch',
    path: '/admin/users/{id}',
    summary: "Change a user's default role, disabled flag, session variables, email address or display name",
    description:
      'Setting `emailVerified: true` makes the address the user’s: any other account’s unverified claim on it is cleared. 409 EMAIL_TAKEN when another account has verified it.',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    body: named('UpdateUserRequest', schemas.updateUserBody),
    answers: [{ status: 200, description: 'The user as changed.', body: user }],
    errors: ['NOT_FOUND', 'EMAIL_TAKEN'],
    usesDatabase: true,
  }),
  deleteUser: defineRoute({
    method: 'delete',
    path: '/admin/users/{id}',
    summary: 'Delete a user, and end their sessions',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [noContent('The user is gone.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  grantRole: defineRoute({
    method: 'put',
    path: '/admin/users/{id}/roles/{role}',
    summary: 'Grant a role',
    tag: 'administration',
    access: 'admin',
    params: schemas.userRoleParams,
    answers: [noContent('The user holds the role.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  revokeRole: defineRoute({
    method: 'delete',
    path: '/admin/users/{id}/roles/{role}',
    summary: 'Revoke a role',
    tag: 'administration',
    access: 'admin',
    params: schemas.userRoleParams,
    answers: [noContent('The user no longer holds the role.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  endUserSessions: defineRoute({
    method: 'delete',
    path: '/admin/users/{id}/sessions',
    summary: 'End every session of a user',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [noContent('Every session of that user is dead.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  resetUserSecondFactors: defineRoute({
    method: 'delete',
    path: '/admin/users/{id}/mfa',
    summary: "Remove every second factor of a user (a lost phone), and end the user's sessions",
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdParams,
    answers: [noContent('The user logs in with the password alone, and every session of theirs is dead.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  listRoles: defineRoute({
    method: 'get',
    path: '/admin/roles',
    summary: 'List roles',
    tag: 'administration',
    access: 'admin',
    answers: [{ status: 200, description: 'Every role.', body: named('RoleList', schemas.roleListResponse) }],
    usesDatabase: true,
  }),
  createRole: defineRoute({
    method: 'post',
    path: '/admin/roles',
    summary: 'Create a role',
    tag: 'administration',
    access: 'admin',
    body: named('CreateRoleRequest', schemas.createRoleBody),
    answers: [{ status: 201, description: 'The new role.', body: named('Role', schemas.roleResponse) }],
    errors: ['ROLE_EXISTS'],
    usesDatabase: true,
  }),
  unlinkUserIdentity: defineRoute({
    method: 'delete',
    path: '/admin/users/{id}/identities/{identityId}',
    summary: "Remove an identity from a user's account",
    description:
      'It logs in to the account no more. An admin may remove the last way to log in; the user can then get in only by a password reset or invitation, or a new identity linked by an admin.',
    tag: 'administration',
    access: 'admin',
    params: schemas.userIdentityParams,
    answers: [noContent('The identity is unlinked.')],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  deleteRole: defineRoute({
    method: 'delete',
    path: '/admin/roles/{name}',
    summary: 'Delete a role',
    description: 'Built-in roles cannot be deleted. Users holding the role lose it, and their sessions end.',
    tag: 'administration',
    access: 'admin',
    params: schemas.roleNameParams,
    answers: [noContent('The role is gone.')],
    errors: ['NOT_FOUND', 'ROLE_BUILT_IN'],
    usesDatabase: true,
  }),
};

/** An admin creates a user, for the API and the admin page alike: the user is mailed, and it is an auth event. */
export async function createUser(
  services: Services,
  req: Request,
  res: Response,
  body: z.output<typeof schemas.createUserBody>,
): Promise<User> {
  const created = await services.administration.createUser(body);
  // A user without a password is invited to choose one, which verifies the address too.
  if (body.password === undefined) await services.passwordReset.invite(created);
  else await services.emailVerification.mailTokenForNewUser(created);
  recordAuthEvent(req, 'user.created', { userId: created.id, roles: created.roles.join(','), ...adminActor(res) });
  return created;
}

export function adminRouter(services: Services, support: RouteSupport): Router {
  const { administration, identityLogins, secondFactors } = services;
  const present = async (...users: User[]) => {
    const ids = users.map((each) => each.id);
    const [identities, mfa] = [await identityLogins.identitiesOf(ids), await secondFactors.summaries(ids)];
    return users.map((each) => presentAdminUser(each, identities.get(each.id) ?? [], mfa.get(each.id)!));
  };
  return routerFor(
    adminRoutes,
    {
      listUsers: async (_req, res, { query }) => {
        const { users, total } = await administration.listUsers(query.limit, query.offset, query.search || undefined);
        res.json({ users: await present(...users), total });
      },

      createUser: async (req, res, { body }) => {
        const created = await createUser(services, req, res, body);
        res.status(201).json((await present(created))[0]);
      },

      getUser: async (_req, res, { params }) => {
        res.json((await present(await administration.getUser(params.id)))[0]);
      },

      updateUser: async (req, res, { params: { id }, body: changes }) => {
        const updated = await administration.updateUser(id, changes);
        recordAuthEvent(req, 'user.updated', {
          userId: id,
          defaultRole: changes.defaultRole,
          disabled: changes.disabled,
          sessionVariablesChanged: changes.sessionVariables !== undefined,
          emailChanged: changes.email !== undefined,
          emailVerified: changes.emailVerified,
          displayNameChanged: changes.displayName !== undefined,
          ...adminActor(res),
        });
        res.json((await present(updated))[0]);
      },

      deleteUser: async (req, res, { params: { id } }) => {
        await administration.deleteUser(id);
        recordAuthEvent(req, 'user.deleted', { userId: id, ...adminActor(res) });
        res.status(204).end();
      },

      grantRole: async (req, res, { params: { id, role } }) => {
        await administration.grantRole(id, role);
        recordAuthEvent(req, 'role.granted', { userId: id, role, ...adminActor(res) });
        res.status(204).end();
      },

      revokeRole: async (req, res, { params: { id, role } }) => {
        await administration.revokeRole(id, role);
        recordAuthEvent(req, 'role.revoked', { userId: id, role, ...adminActor(res) });
        res.status(204).end();
      },

      endUserSessions: async (req, res, { params: { id } }) => {
        await administration.endUserSessions(id);
        recordAuthEvent(req, 'user.sessions.ended', { userId: id, ...adminActor(res) });
        res.status(204).end();
      },

      resetUserSecondFactors: async (req, res, { params: { id } }) => {
        await administration.resetSecondFactors(id);
        recordAuthEvent(req, 'mfa.reset', { userId: id, ...adminActor(res) });
        res.status(204).end();
      },

      unlinkUserIdentity: async (req, res, { params: { id, identityId } }) => {
        await identityLogins.unlink(id, identityId, 'admin');
        recordAuthEvent(req, 'identity.unlinked', { userId: id, identityId, ...adminActor(res) });
        res.status(204).end();
      },

      listRoles: async (_req, res) => {
        res.json({ roles: (await administration.listRoles()).map(presentRole) });
      },

      createRole: async (req, res, { body: { name } }) => {
        const role = await administration.createRole(name);
        recordAuthEvent(req, 'role.created', { role: name, ...adminActor(res) });
        res.status(201).json(presentRole(role));
      },

      deleteRole: async (req, res, { params: { name } }) => {
        await administration.deleteRole(name);
        recordAuthEvent(req, 'role.deleted', { role: name, ...adminActor(res) });
        res.status(204).end();
      },
    },
    support,
  );
}

import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { User } from '../../domain/model';
import { html } from '../../html';
import { adminActor, recordAuthEvent } from '../auth-events';
import { AppError } from '../../errors';
import { pageErrorHandler } from '../pages/errors';
import { formBody, formField, optionalFormField, pageAnswer } from '../pages/forms';
import { seeOther, table } from '../pages/layout';
import { defineRoute, named, routerFor } from '../route-definition';
import * as schemas from '../schemas';
import { signedInPages, toLogin, type AccountPagesDeps } from './account-pages';
import { createUser } from './admin';
import { clientAdministration, createClientBody } from './openid-clients';
import type { OpenIdClient } from '../../domain/openid-clients';
import { parseRequest } from '../validation';

/**
 * /admin: the admin API as a page, for the admin role (a session whose `admin` MFA_REQUIRED_ROLES
 * keeps for second-factor sessions is refused, as by the API). Users (search, create or invite,
 * disable, end sessions, reset the second factor, grant and revoke roles, delete), roles, and the
 * apps that log users in here (the OpenID Provider's clients: register, new secret, delete).
 * Each form does what its API route does, as the same auth event, and redirects back (303); a
 * client's secret is shown once, on a page of its own.
 */

const USERS_PER_PAGE = 50;

const NOTICES = {
  'user-created': 'The user is created.',
  'user-invited': 'The user is created, and an invitation mail is on its way.',
  disabled: 'The user is disabled, and their sessions have ended.',
  enabled: 'The user is enabled.',
  'sessions-ended': 'Every session of the user has ended.',
  'mfa-reset': 'The user’s second factors are removed, and their sessions have ended.',
  'role-granted': 'The role is granted.',
  'role-revoked': 'The role is revoked.',
  deleted: 'The user is deleted.',
  'role-created': 'The role is created.',
  'role-deleted': 'The role is deleted.',
  'client-deleted': 'The app is deleted, with every token it was given.',
} as const;
type Notice = keyof typeof NOTICES;

const USER_ACTIONS = ['disable', 'enable', 'end-sessions', 'reset-mfa', 'grant-role', 'revoke-role', 'delete'] as const;

const backToAdmin = { status: 303, description: 'Back to /admin, which says what was done.' };

const CLIENT_ACTIONS = ['create', 'rotate-secret', 'delete'] as const;

const clientForm = defineRoute({
  method: 'post',
  path: '/admin/forms/clients',
  summary: 'Register an app with the OpenID Provider, give it a new secret, or delete it',
  description:
    '`action` is one of ' +
    CLIENT_ACTIONS.join(', ') +
    '; as the API route of the same effect. `create` and `rotate-secret` answer a page that shows the secret once; `delete` needs `confirm`.',
  tag: 'pages',
  access: 'admin',
  page: true,
  body: named(
    'ClientForm',
    z.object({
      action: z.enum(CLIENT_ACTIONS),
      id: optionalFormField,
      name: optionalFormField,
      type: z.enum(['confidential', 'public']).optional(),
      redirectUris: optionalFormField.describe('One URI per line.'),
      firstParty: z.literal('yes').optional(),
      confirm: z.literal('yes').optional(),
    }),
  ),
  answers: [backToAdmin, pageAnswer('The new secret, shown once.')],
  errors: ['NOT_FOUND'],
  usesDatabase: true,
});

export const adminPageRoutes = {
  adminPage: defineRoute({
    method: 'get',
    path: '/admin',
    summary: 'The admin page: users, roles and the apps that log users in here',
    tag: 'pages',
    access: 'admin',
    page: true,
    query: z.object({
      search: z.string().max(200).optional(),
      offset: z.coerce.number().int().min(0).default(0).catch(0),
      done: z
        .enum(Object.keys(NOTICES) as [Notice, ...Notice[]])
        .optional()
        .catch(undefined),
    }),
    answers: [pageAnswer('Users, fifty to a page, roles and apps, with their forms.'), toLogin],
    usesDatabase: true,
  }),
  createUserForm: defineRoute({
    method: 'post',
    path: '/admin/forms/users',
    summary: 'Create a user, or invite one',
    description: 'As POST /admin/users: without a password, the address gets an invitation mail.',
    tag: 'pages',
    access: 'admin',
    page: true,
    body: named(
      'CreateUserForm',
      z.object({ username: formField, email: optionalFormField, password: optionalFormField, role: optionalFormField }),
    ),
    answers: [backToAdmin],
    errors: ['WEAK_PASSWORD', 'USERNAME_TAKEN', 'EMAIL_TAKEN', 'NOT_FOUND', 'OVERLOADED'],
    usesDatabase: true,
  }),
  userActionForm: defineRoute({
    method: 'post',
    path: '/admin/forms/user',
    summary: "A button on a user's row",
    description:
      '`action` is one of ' +
      USER_ACTIONS.join(', ') +
      '; as the API route of the same effect. `delete` needs `confirm`.',
    tag: 'pages',
    access: 'admin',
    page: true,
    body: named(
      'UserActionForm',
      z.object({
        id: schemas.userIdParams.shape.id,
        action: z.enum(USER_ACTIONS),
        role: optionalFormField,
        confirm: z.literal('yes').optional(),
      }),
    ),
    answers: [backToAdmin],
    errors: ['NOT_FOUND', 'ROLE_BUILT_IN', 'FORBIDDEN'],
    usesDatabase: true,
  }),
  roleForm: defineRoute({
    method: 'post',
    path: '/admin/forms/roles',
    summary: 'Create or delete a role',
    tag: 'pages',
    access: 'admin',
    page: true,
    body: named('RoleForm', z.object({ action: z.enum(['create', 'delete']), name: formField })),
    answers: [backToAdmin],
    errors: ['ROLE_EXISTS', 'ROLE_BUILT_IN', 'NOT_FOUND'],
    usesDatabase: true,
  }),
  clientForm,
};

export function adminPagesRouter(deps: AccountPagesDeps): Router {
  const { services } = deps;
  const { administration, secondFactors } = services;
  const { show, form, showSignedIn, signInFirst } = signedInPages(deps);
  const back = (res: Response, done: Notice) => seeOther(res, `/admin?done=${done}`);
  const clients = clientAdministration(services);

  const userRow = (req: Request, user: User, factors: { totp: boolean; passkeys: number }, roles: string[]) => {
    const action = (name: (typeof USER_ACTIONS)[number], label: string, accessible: string) =>
      form(
        req,
        '/admin/forms/user',
        html`<input type="hidden" name="id" value="${user.id}" /><input
            type="hidden"
            name="action"
            value="${name}"
          /><button type="submit" aria-label="${accessible}">${label}</button>`,
      );
    const grantable = roles.filter((role) => role !== 'anonymous');
    return html`<tr>
      <td>${user.id}</td>
      <td>${user.username}${user.disabled && html` <strong>(disabled)</strong>`}</td>
      <td>${user.email ?? '—'}</td>
      <td>${user.roles.join(', ')}</td>
      <td>
        ${[factors.totp && 'app', factors.passkeys > 0 && `${factors.passkeys} passkeys`].filter(Boolean).join(', ') || '—'}
      </td>
      <td>
        ${
          user.disabled
            ? action('enable', 'Enable', `Enable ${user.username}`)
            : action('disable', 'Disable', `Disable ${user.username}`)
        }
        ${action('end-sessions', 'End sessions', `End the sessions of ${user.username}`)}
        ${
          (factors.totp || factors.passkeys > 0) &&
          action('reset-mfa', 'Reset second factor', `Reset the second factor of ${user.username}`)
        }
        ${form(
          req,
          '/admin/forms/user',
          html`<input type="hidden" name="id" value="${user.id}" />
            <select name="role" aria-label="Role for ${user.username}">
              ${grantable.map((role) => html`<option>${role}</option>`)}
            </select>
            <button type="submit" name="action" value="grant-role">Grant</button>
            <button type="submit" name="action" value="revoke-role">Revoke</button>`,
        )}
        ${form(
          req,
          '/admin/forms/user',
          html`<input type="hidden" name="id" value="${user.id}" /><input type="hidden" name="action" value="delete" />
            <label
              ><input
                type="checkbox"
                name="confirm"
                value="yes"
                required
                aria-label="Confirm deleting ${user.username}"
              />
              sure</label
            >
            <button type="submit" aria-label="Delete ${user.username}">Delete</button>`,
        )}
      </td>
    </tr>`;
  };

  const clientRow = (req: Request, client: OpenIdClient) => {
    const withId = html`<input type="hidden" name="id" value="${client.clientId}" />`;
    return html`<tr>
      <td>${client.name}${client.firstParty && ' (our own)'}</td>
      <td><code>${client.clientId}</code></td>
      <td>${client.type}</td>
      <td>${client.redirectUris.map((uri) => html`<div><code>${uri}</code></div>`)}</td>
      <td>
        ${
          client.type === 'confidential' &&
          form(
            req,
            '/admin/forms/clients',
            html`${withId}<input type="hidden" name="action" value="rotate-secret" /><button
                type="submit"
                aria-label="Give ${client.name} a new secret"
              >
                New secret
              </button>`,
          )
        }
        ${form(
          req,
          '/admin/forms/clients',
          html`${withId}<input type="hidden" name="action" value="delete" /><label
              ><input type="checkbox" name="confirm" value="yes" /> sure</label
            ><button type="submit" aria-label="Delete ${client.name}">Delete</button>`,
        )}
      </td>
    </tr>`;
  };

  /** A client's secret, on a page of its own: shown this once. */
  const secretPage = (req: Request, res: Response, client: OpenIdClient, clientSecret: string | null) =>
    showSignedIn(req, res, {
      title: clientSecret === null ? 'The app is registered' : 'The app’s secret',
      body: html`<p>Client id of <strong>${client.name}</strong>: <code id="client-id">${client.clientId}</code></p>
        ${
          clientSecret !== null &&
          html`<p>Its secret, shown only now: copy it into the app’s configuration.</p>
            <p><code class="secret" id="client-secret">${clientSecret}</code></p>`
        }
        <p><a href="/admin">Back to administration</a></p>`,
    });

  const router = routerFor(
    adminPageRoutes,
    {
      adminPage: async (req, res, { query }) => {
        const search = query.search?.trim() || undefined;
        const [{ users, total }, roles, clients] = await Promise.all([
          administration.listUsers(USERS_PER_PAGE, query.offset, search),
          administration.listRoles(),
          services.openIdClients.list(),
        ]);
        const factors = await secondFactors.summaries(users.map((user) => user.id));
        const roleNames = roles.map((role) => role.name);
        const pageLink = (offset: number, label: string) =>
          html`<a href="/admin?offset=${offset}${search !== undefined ? `&search=${encodeURIComponent(search)}` : ''}"
            >${label}</a
          >`;
        const pages = html`<p>
          ${total} user${total === 1 ? '' : 's'}${search !== undefined && html` matching “${search}”`}.
          ${query.offset > 0 && pageLink(Math.max(0, query.offset - USERS_PER_PAGE), 'Previous')}
          ${query.offset + USERS_PER_PAGE < total && pageLink(query.offset + USERS_PER_PAGE, 'Next')}
        </p>`;
        showSignedIn(req, res, {
          title: 'Administration',
          wide: true,
          body: html`${query.done && html`<p class="notice" role="status">${NOTICES[query.done]}</p>`}
            <section aria-labelledby="users">
              <h2 id="users">Users</h2>
              <form method="get" action="/admin" role="search">
                <label for="search">Username or email contains</label>
                <input id="search" name="search" type="search" value="${search ?? ''}" />
                <button type="submit">Search</button>
              </form>
              ${pages}
              ${table(
                ['Id', 'Username', 'Email', 'Roles', 'Second factor', 'Actions'],
                users.map((user) => userRow(req, user, factors.get(user.id)!, roleNames)),
              )}
              <h3>New user</h3>
              ${form(
                req,
                '/admin/forms/users',
                html`<label for="new-username">Username</label>
                  <input id="new-username" name="username" required />
                  <label for="new-email">Email (without a password, an invitation goes to it)</label>
                  <input id="new-email" name="email" type="email" />
                  <label for="new-password">Password (optional)</label>
                  <input id="new-password" name="password" type="password" autocomplete="new-password" />
                  <label for="new-role">Role, besides user</label>
                  <select id="new-role" name="role">
                    <option value="">none</option>
                    ${roleNames
                      .filter((name) => name !== 'user' && name !== 'anonymous')
                      .map((name) => html`<option>${name}</option>`)}
                  </select>
                  <button type="submit">Create the user</button>`,
              )}
            </section>
            <section aria-labelledby="roles">
              <h2 id="roles">Roles</h2>
              ${table(
                ['Role', ''],
                roles.map(
                  (role) =>
                    html`<tr>
                      <td>${role.name}${role.builtIn && ' (built in)'}</td>
                      <td>
                        ${
                          !role.builtIn &&
                          form(
                            req,
                            '/admin/forms/roles',
                            html`<input type="hidden" name="action" value="delete" /><input
                                type="hidden"
                                name="name"
                                value="${role.name}"
                              /><button type="submit" aria-label="Delete the role ${role.name}">Delete</button>`,
                          )
                        }
                      </td>
                    </tr>`,
                ),
              )}
              ${form(
                req,
                '/admin/forms/roles',
                html`<input type="hidden" name="action" value="create" />
                  <label for="role-name">New role</label>
                  <input id="role-name" name="name" required />
                  <button type="submit">Create the role</button>`,
              )}
            </section>
            <section aria-labelledby="clients">
              <h2 id="clients">Apps that log users in here</h2>
              ${table(
                ['App', 'Client id', 'Type', 'Redirect URIs', 'Actions'],
                clients.map((client) => clientRow(req, client)),
              )}
              <h3>New app</h3>
              ${form(
                req,
                '/admin/forms/clients',
                html`<input type="hidden" name="action" value="create" />
                  <label for="client-name">Name</label>
                  <input id="client-name" name="name" required />
                  <label for="client-type">Type</label>
                  <select id="client-type" name="type">
                    <option value="confidential">confidential: a server, with a secret</option>
                    <option value="public">public: a browser or mobile app, without one</option>
                  </select>
                  <label for="client-redirect-uris">Redirect URIs, one per line</label>
                  <textarea id="client-redirect-uris" name="redirectUris" rows="3" required></textarea>
                  <label
                    ><input type="checkbox" name="firstParty" value="yes" /> Our own app: never ask its users to
                    agree</label
                  >
                  <button type="submit">Register the app</button>`,
              )}
            </section>`,
        });
      },

      createUserForm: async (req, res, { body }) => {
        const { role, ...rest } = body;
        await createUser(services, req, res, { ...rest, roles: role === undefined ? undefined : [role] });
        back(res, body.password === undefined ? 'user-invited' : 'user-created');
      },

      userActionForm: async (req, res, { body: { id, action, role, confirm } }) => {
        const actor = adminActor(res);
        switch (action) {
          case 'disable':
          case 'enable': {
            const disabled = action === 'disable';
            await administration.updateUser(id, { disabled });
            recordAuthEvent(req, 'user.updated', { userId: id, disabled, ...actor });
            back(res, disabled ? 'disabled' : 'enabled');
            return;
          }
          case 'end-sessions':
            await administration.endUserSessions(id);
            recordAuthEvent(req, 'user.sessions.ended', { userId: id, ...actor });
            back(res, 'sessions-ended');
            return;
          case 'reset-mfa':
            await administration.resetSecondFactors(id);
            recordAuthEvent(req, 'mfa.reset', { userId: id, ...actor });
            back(res, 'mfa-reset');
            return;
          case 'grant-role':
          case 'revoke-role': {
            const name = role ?? '';
            if (action === 'grant-role') await administration.grantRole(id, name);
            else await administration.revokeRole(id, name);
            recordAuthEvent(req, action === 'grant-role' ? 'role.granted' : 'role.revoked', {
              userId: id,
              role: name,
              ...actor,
            });
            back(res, action === 'grant-role' ? 'role-granted' : 'role-revoked');
            return;
          }
          case 'delete':
            if (confirm !== 'yes')
              throw new AppError('VALIDATION_FAILED', { message: 'Tick “sure” to delete the user.' });
            await administration.deleteUser(id);
            recordAuthEvent(req, 'user.deleted', { userId: id, ...actor });
            back(res, 'deleted');
            return;
        }
      },

      clientForm: async (req, res, { body }) => {
        switch (body.action) {
          case 'create': {
            const details = parseRequest(createClientBody, {
              name: body.name,
              type: body.type,
              redirectUris: (body.redirectUris ?? '')
                .split(/\r?\n/)
                .map((uri) => uri.trim())
                .filter(Boolean),
              firstParty: body.firstParty === 'yes',
            });
            const { client, clientSecret } = await clients.create(req, res, details);
            secretPage(req, res, client, clientSecret);
            return;
          }
          case 'rotate-secret': {
            const id = body.id ?? '';
            const clientSecret = await clients.rotateSecret(req, res, id);
            secretPage(req, res, await services.openIdClients.get(id), clientSecret);
            return;
          }
          case 'delete':
            if (body.confirm !== 'yes')
              throw new AppError('VALIDATION_FAILED', { message: 'Tick “sure” to delete the app.' });
            await clients.delete(req, res, body.id ?? '');
            back(res, 'client-deleted');
            return;
        }
      },

      roleForm: async (req, res, { body: { action, name: role } }) => {
        if (action === 'create') await administration.createRole(role);
        else await administration.deleteRole(role);
        recordAuthEvent(req, action === 'create' ? 'role.created' : 'role.deleted', { role, ...adminActor(res) });
        back(res, action === 'create' ? 'role-created' : 'role-deleted');
      },
    },
    { ...deps.support, formBody: formBody() },
  );
  router.use(
    pageErrorHandler((res, status, page) => show(res, status, page), signInFirst, {
      href: '/admin',
      label: 'Back to administration',
    }),
  );
  return router;
}

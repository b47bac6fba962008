import { Router } from 'express';
import type { Services } from '../../services';
import { requireAdmin } from '../authentication';
import type { Authenticator } from '../passport';
import { adminActor, recordAuthEvent } from '../auth-events';
import { presentRole, presentUser } from '../presenters';
import {
  createRoleBody,
  createUserBody,
  roleNameParams,
  updateUserBody,
  userIdParams,
  userListQuery,
  userRoleParams,
} from '../schemas';
import { parseRequest, queryParameters } from '../validation';

/** The admin API of api.md. Every route needs an admin session or the admin secret. */
export function adminRouter(services: Services, passport: Authenticator, adminSecret: string | null): Router {
  const { administration } = services;
  const router = Router();
  router.use(requireAdmin(passport, adminSecret));

  router.get('/users', async (req, res) => {
    const { limit, offset } = parseRequest(userListQuery, queryParameters(req));
    const { users, total } = await administration.listUsers(limit, offset);
    res.json({ users: users.map(presentUser), total });
  });

  router.post('/users', async (req, res) => {
    const user = await administration.createUser(parseRequest(createUserBody, req.body));
    recordAuthEvent(req, 'user.created', { userId: user.id, roles: user.roles.join(','), ...adminActor(res) });
    res.status(201).json(presentUser(user));
  });

  router.get('/users/:id', async (req, res) => {
    const { id } = parseRequest(userIdParams, req.params);
    res.json(presentUser(await administration.getUser(id)));
  });

  router.patch('/users/:id', async (req, res) => {
    const { id } = parseRequest(userIdParams, req.params);
    const changes = parseRequest(updateUserBody, req.body);
    const user = await administration.updateUser(id, changes);
    recordAuthEvent(req, 'user.updated', {
      userId: id,
      defaultRole: changes.defaultRole,
      disabled: changes.disabled,
      sessionVariablesChanged: changes.sessionVariables !== undefined,
      ...adminActor(res),
    });
    res.json(presentUser(user));
  });

  router.delete('/users/:id', async (req, res) => {
    const { id } = parseRequest(userIdParams, req.params);
    await administration.deleteUser(id);
    recordAuthEvent(req, 'user.deleted', { userId: id, ...adminActor(res) });
    res.status(204).end();
  });

  router.put('/users/:id/roles/:role', async (req, res) => {
    const { id, role } = parseRequest(userRoleParams, req.params);
    await administration.grantRole(id, role);
    recordAuthEvent(req, 'role.granted', { userId: id, role, ...adminActor(res) });
    res.status(204).end();
  });

  router.delete('/users/:id/roles/:role', async (req, res) => {
    const { id, role } = parseRequest(userRoleParams, req.params);
    await administration.revokeRole(id, role);
    recordAuthEvent(req, 'role.revoked', { userId: id, role, ...adminActor(res) });
    res.status(204).end();
  });

  router.delete('/users/:id/sessions', async (req, res) => {
    const { id } = parseRequest(userIdParams, req.params);
    await administration.invalidateUserSessions(id);
    recordAuthEvent(req, 'user.sessions.revoked', { userId: id, ...adminActor(res) });
    res.status(204).end();
  });

  router.get('/roles', async (_req, res) => {
    res.json({ roles: (await administration.listRoles()).map(presentRole) });
  });

  router.post('/roles', async (req, res) => {
    const { name } = parseRequest(createRoleBody, req.body);
    const role = await administration.createRole(name);
    recordAuthEvent(req, 'role.created', { role: name, ...adminActor(res) });
    res.status(201).json(presentRole(role));
  });

  router.delete('/roles/:name', async (req, res) => {
    const { name } = parseRequest(roleNameParams, req.params);
    await administration.deleteRole(name);
    recordAuthEvent(req, 'role.deleted', { role: name, ...adminActor(res) });
    res.status(204).end();
  });

  return router;
}

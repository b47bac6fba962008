import type { Router } from 'express';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Services } from '../../services';
import { currentSession } from '../authentication';
import { recordAuthEvent } from '../auth-events';
import { presentPasskey } from '../presenters';
import { defineRoute, named, noContent, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';

const passkey = named('Passkey', schemas.passkeyResponse);
const notFound = { code: 'NOT_FOUND', message: 'No such passkey.' } as const;

/** The signed-in user's passkeys: registering one, listing, renaming and removing them. */
export const passkeyRoutes = {
  passkeyRegistrationOptions: defineRoute({
    method: 'post',
    path: '/me/passkeys/options',
    summary: 'The options for navigator.credentials.create(), to register a passkey',
    description: 'Their challenge is good once, for 5 minutes.',
    tag: 'second-factors',
    access: 'session',
    rateLimit: 'password-change',
    body: named('PasswordConfirmation', schemas.passwordConfirmationBody),
    answers: [
      {
        status: 200,
        description: 'PublicKeyCredentialCreationOptionsJSON.',
        body: named('WebAuthnOptions', schemas.webAuthnOptionsResponse),
      },
    ],
    errors: ['INVALID_CREDENTIALS', 'PASSWORD_REQUIRED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  registerPasskey: defineRoute({
    method: 'post',
    path: '/me/passkeys',
    summary: "Register the passkey that answered the options (the browser's answer, as JSON)",
    tag: 'second-factors',
    access: 'session',
    body: named('PasskeyRegistration', schemas.passkeyRegistrationBody),
    answers: [{ status: 201, description: 'The passkey now logs in to the account.', body: passkey }],
    errors: ['PASSKEY_REJECTED', 'PASSKEY_EXISTS'],
    usesDatabase: true,
  }),
  listPasskeys: defineRoute({
    method: 'get',
    path: '/me/passkeys',
    summary: "The signed-in user's passkeys",
    tag: 'second-factors',
    access: 'session',
    answers: [{ status: 200, description: 'Oldest first.', body: named('PasskeyList', schemas.passkeyListResponse) }],
    usesDatabase: true,
  }),
  renamePasskey: defineRoute({
    method: 'patch',
    path: '/me/passkeys/{id}',
    summary: 'Rename one of the signed-in user’s passkeys',
    tag: 'second-factors',
    access: 'session',
    params: schemas.passkeyIdParams,
    malformedParams: notFound,
    body: named('PasskeyRename', schemas.passkeyRenameBody),
    answers: [{ status: 200, description: 'The passkey as renamed.', body: passkey }],
    errors: ['NOT_FOUND'],
    usesDatabase: true,
  }),
  removePasskey: defineRoute({
    method: 'delete',
    path: '/me/passkeys/{id}',
    summary: 'Remove one of the signed-in user’s passkeys; never the last way into the account',
    tag: 'second-factors',
    access: 'session',
    params: schemas.passkeyIdParams,
    malformedParams: notFound,
    answers: [noContent('The passkey logs in no more.')],
    errors: ['NOT_FOUND', 'LAST_LOGIN_METHOD'],
    usesDatabase: true,
  }),
};

export function passkeysRouter(services: Services, support: RouteSupport): Router {
  const { passkeys } = services;
  return routerFor(
    passkeyRoutes,
    {
      passkeyRegistrationOptions: async (_req, res, { body }) => {
        res.json(await passkeys.registrationOptions(currentSession(res), body.password));
      },

      registerPasskey: async (req, res, { body }) => {
        const { user } = currentSession(res);
        // The schema checked the outline; the library checks every byte.
        const added = await passkeys.register(user.id, body.response as unknown as RegistrationResponseJSON, body.name);
        recordAuthEvent(req, 'passkey.added', { userId: user.id });
        res.status(201).json(presentPasskey(added));
      },

      listPasskeys: async (_req, res) => {
        res.json({ passkeys: (await passkeys.list(currentSession(res).user.id)).map(presentPasskey) });
      },

      renamePasskey: async (req, res, { params, body }) => {
        const { user } = currentSession(res);
        const renamed = await passkeys.rename(user.id, params.id, body.name);
        recordAuthEvent(req, 'passkey.renamed', { userId: user.id });
        res.json(presentPasskey(renamed));
      },

      removePasskey: async (req, res, { params }) => {
        const { user } = currentSession(res);
        await passkeys.remove(user.id, params.id);
        recordAuthEvent(req, 'passkey.removed', { userId: user.id });
        res.status(204).end();
      },
    },
    support,
  );
}

import { Secret, TOTP } from 'otpauth';
import request from 'supertest';
import { bearer, type TestApp } from './test-app';

/** An authenticator app set up through the API: its codes, on the test clock's time. */
export interface AuthenticatorApp {
  totp: TOTP;
  /** The code the app shows at the test clock's moment. */
  codeNow(): string;
  recoveryCodes: string[];
}

/** Sets up and confirms an authenticator app for the session's user, as `POST /me/mfa/totp` and its confirmation do. */
export async function enrolAuthenticatorApp(app: TestApp, token: string): Promise<AuthenticatorApp> {
  const begun = await request(app.http).post('/me/mfa/totp').set(bearer(token)).send({}).expect(200);
  const totp = new TOTP({ secret: Secret.fromBase32(begun.body.secret as string) });
  const codeNow = () => totp.generate({ timestamp: app.clock.now().getTime() });
  const confirmed = await request(app.http)
    .post('/me/mfa/totp/confirm')
    .set(bearer(token))
    .send({ code: codeNow() })
    .expect(200);
  return { totp, codeNow, recoveryCodes: confirmed.body.recoveryCodes as string[] };
}

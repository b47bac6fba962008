import { html, SafeHtml } from '../../html';

/**
 * The forms every login page shows (the account pages' and the OpenID Provider's hosted login),
 * alike: the same labels, autocomplete hints, and a problem tied to the fields it is about.
 * `hidden` carries what the page's route needs back (where to go next, the CSRF field).
 */

const problemOf = (problem: string | undefined, id: string) => ({
  error: problem && html`<p class="error" role="alert" id="${id}">${problem}</p>`,
  described: problem ? new SafeHtml(`aria-describedby="${id}" aria-invalid="true"`) : '',
});

/** Username (or email) and password; with `offerPasswordReset` (mail is sent), a link for a forgotten one. */
export function passwordForm(
  action: string,
  hidden: SafeHtml,
  {
    problem,
    username = '',
    offerPasswordReset = false,
  }: { problem?: string; username?: string; offerPasswordReset?: boolean } = {},
): SafeHtml {
  const { error, described } = problemOf(problem, 'login-error');
  return html`${error}
    <form method="post" action="${action}">
      ${hidden}
      <label for="username">Username or email</label>
      <input
        id="username"
        name="username"
        autocomplete="username"
        value="${username}"
        required
        autofocus
        ${described}
      />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required ${described} />
      <button type="submit">Log in</button>
    </form>
    ${offerPasswordReset && html`<p><a href="/password/forgot">Forgot your password?</a></p>`}`;
}

/** The second step: one field takes a code from the authenticator app or a recovery code. */
export function secondFactorForm(action: string, hidden: SafeHtml, challenge: string, problem?: string): SafeHtml {
  const { error, described } = problemOf(problem, 'code-error');
  return html`<p>This account has a second factor.</p>
    ${error}
    <form method="post" action="${action}">
      ${hidden}
      <input type="hidden" name="challenge" value="${challenge}" />
      <label for="code">The code your authenticator app shows, or a recovery code</label>
      <input id="code" name="code" autocomplete="one-time-code" required autofocus ${described} />
      <button type="submit">Continue</button>
    </form>`;
}

/** A new account: username, an optional email address, and a password. */
export function signupForm(
  action: string,
  hidden: SafeHtml,
  { problem, username = '', email = '' }: { problem?: string; username?: string; email?: string } = {},
): SafeHtml {
  const { error, described } = problemOf(problem, 'signup-error');
  return html`${error}
    <form method="post" action="${action}">
      ${hidden}
      <label for="username">Username</label>
      <input
        id="username"
        name="username"
        autocomplete="username"
        value="${username}"
        required
        autofocus
        ${described}
      />
      <label for="email">Email (optional)</label>
      <input id="email" name="email" type="email" autocomplete="email" value="${email}" />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required ${described} />
      <button type="submit">Create the account</button>
    </form>`;
}

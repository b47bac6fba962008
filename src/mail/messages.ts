import { html, type SafeHtml } from '../html';
import type { MailMessage } from '../domain/ports';

/** What every mail needs to know about the service that sends it. */
export interface MailContext {
  /** PUBLIC_URL, without a trailing slash: links are built from it, never from a request. */
  publicUrl: string;
  productName: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface Content {
  subject: string;
  greeting: string;
  paragraphs: string[];
  link?: { url: string; label: string };
  closing?: string;
}

/** The path of the page a link opens; the token goes in the query, which request logs redact. */
export const LINK_PATHS = { 'email-verification': '/email/verify', 'password-reset': '/password/reset' } as const;

const linkTo = (context: MailContext, path: string, token: string) =>
  `${context.publicUrl}${path}?token=${encodeURIComponent(token)}`;

function contentOf(message: MailMessage, context: MailContext): Content {
  const greeting = `Hello ${message.username},`;
  switch (message.template) {
    case 'email-verification':
      return {
        subject: `Verify your email address for ${context.productName}`,
        greeting,
        paragraphs: [
          message.change
            ? `You asked to use this address for your ${context.productName} account. Your current address stays in force until you verify this one.`
            : `Please verify this address for your ${context.productName} account.`,
        ],
        link: { url: linkTo(context, LINK_PATHS['email-verification'], message.token), label: 'Verify this address' },
        closing: 'If you did not ask for this, ignore this mail: nothing changes.',
      };
    case 'password-reset':
      return {
        subject: `Reset your ${context.productName} password`,
        greeting,
        paragraphs: ['Someone asked to reset the password of your account. The link works once, for a short time.'],
        link: { url: linkTo(context, LINK_PATHS['password-reset'], message.token), label: 'Choose a new password' },
        closing: 'If you did not ask for this, ignore this mail: your password stays as it is.',
      };
    case 'invitation':
      return {
        subject: `You are invited to ${context.productName}`,
        greeting,
        paragraphs: [
          `An administrator made you an account on ${context.productName}, with the username ${message.username}. Choose your password to start.`,
        ],
        link: { url: linkTo(context, LINK_PATHS['password-reset'], message.token), label: 'Choose your password' },
        closing: 'If you did not expect this, ignore this mail.',
      };
    case 'password-changed':
      return {
        subject: `Your ${context.productName} password was changed`,
        greeting,
        paragraphs: [
          'The password of your account was just changed, and the sessions that used the old one were ended.',
          'If you did not do this, reset your password at once and tell your administrator.',
        ],
      };
    case 'email-changed':
      return {
        subject: `Your ${context.productName} email address was changed`,
        greeting,
        paragraphs: [
          `The email address of your account is now ${message.newEmail}. Mail for the account, password resets included, goes there from now on.`,
          'If you did not do this, tell your administrator.',
        ],
      };
  }
}

/** A mail as sent: a plain-text part and an HTML part that say the same. */
export function renderMail(message: MailMessage, context: MailContext): RenderedMail {
  const content = contentOf(message, context);
  const text = [
    content.greeting,
    ...content.paragraphs,
    ...(content.link ? [`${content.link.label}: ${content.link.url}`] : []),
    ...(content.closing ? [content.closing] : []),
    `— ${context.productName}`,
  ].join('\n\n');
  const body: SafeHtml = html`<!doctype html>
    <html>
      <body style="font-family: sans-serif; line-height: 1.5">
        <p>${content.greeting}</p>
        ${content.paragraphs.map((paragraph) => html`<p>${paragraph}</p>`)}
        ${
          content.link &&
          html`<p><a href="${content.link.url}">${content.link.label}</a></p>
            <p style="font-size: small">Or open ${content.link.url}</p>`
        }
        ${content.closing && html`<p>${content.closing}</p>`}
        <p>— ${context.productName}</p>
      </body>
    </html>`;
  return { subject: content.subject, text: `${text}\n`, html: body.markup };
}

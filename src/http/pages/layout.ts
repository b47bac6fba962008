import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { html, SafeHtml } from '../../html';

/**
 * The one layout of every page this service shows (the pages that links in mail open). Pages
 * work without JavaScript and load nothing: their only style is inline, allowed by its hash,
 * and the policy forbids everything else, framing included.
 */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00}`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
// A constant of this module, not escaped, and interpolated whole: the hash covers exactly these
// bytes, which no formatter of the template around it can change.
const STYLE_ELEMENT = new SafeHtml(`<style>${STYLE}</style>`);

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface Page {
  title: string;
  body: SafeHtml;
}

/** Sends a page with the headers every page needs: no referrer (its URL holds a token), no cache, no framing. */
export function sendPage(res: Response, status: number, { title, body }: Page, productName: string): void {
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  res.send(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          <title>${title} · ${productName}</title>
          ${STYLE_ELEMENT}
        </head>
        <body>
          <h1>${title}</h1>
          ${body}
        </body>
      </html> `.markup,
  );
}

import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { html, SafeHtml } from '../../html';

/**
 * The one layout of every page this service shows: the pages that links in mail open, the
 * account pages and the admin pages. Pages work without JavaScript and load nothing: their only
 * style is inline, allowed by its hash, and the policy forbids everything else, framing included.
 * The one exception is the passkey page, whose WebAuthn ceremony needs a script: it loads one
 * file from this very origin (`script-src 'self'`), and may call this origin back.
 */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}
body.wide{max-width:60rem}label{display:block;margin:.75rem 0 .25rem}
input,select{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00}.notice{color:#060}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ccc;padding-bottom:.5rem}nav form{margin-left:auto}
nav button,td button{margin:0;padding:.3rem .7rem}section{margin:2rem 0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd;vertical-align:top}
td form{display:inline-block;margin:0 .25rem .25rem 0}td input{width:auto;padding:.3rem}
code,.secret{font-family:ui-monospace,monospace;word-break:break-all}.qr svg{width:12rem;height:12rem}`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
// A constant of this module, not escaped, and interpolated whole: the hash covers exactly these
// bytes, which no formatter of the template around it can change.
const STYLE_ELEMENT = new SafeHtml(`<style>${STYLE}</style>`);

// The QR code of TOTP enrolment is an inline SVG drawn with attributes, not styles: it needs no
// image source and no style beyond the one hashed.
const POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
];
const CONTENT_SECURITY_POLICY = POLICY.join('; ');
const CONTENT_SECURITY_POLICY_WITH_SCRIPT = [...POLICY, "script-src 'self'", "connect-src 'self'"].join('; ');

export interface Page {
  title: string;
  body: SafeHtml;
  /** Above the title: the signed-in pages' navigation. */
  header?: SafeHtml;
  /** For pages with tables: a wider column. */
  wide?: boolean;
  /** The path of the one script the page loads, from this origin. */
  script?: string;
}

/** Sends a page with the headers every page needs: no referrer (its URL holds a token), no cache, no framing. */
export function sendPage(
  res: Response,
  status: number,
  { title, body, header, wide = false, script }: Page,
  productName: string,
): void {
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader(
    'Content-Security-Policy',
    script === undefined ? CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY_WITH_SCRIPT,
  );
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
          ${STYLE_ELEMENT} ${script !== undefined && html`<script src="${script}" defer></script>`}
        </head>
        <body class="${wide ? 'wide' : ''}">
          ${header}
          <main>
            <h1>${title}</h1>
            ${body}
          </main>
        </body>
      </html> `.markup,
  );
}

/** After a form: on to the page that shows its outcome (303, so that reloading it posts nothing again). */
export function seeOther(res: Response, location: string): void {
  res.status(303).location(location).end();
}

/** A table with a header row; an empty heading names a column of buttons. */
export function table(headings: readonly string[], rows: readonly SafeHtml[]): SafeHtml {
  return html`<table>
    <thead>
      <tr>
        ${headings.map((heading) => html`<th>${heading}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

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
input,select,textarea{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}
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

/** How a page's policy differs from the strict one (see renderPage). */
export interface PageOptions {
  formsLeave?: boolean;
  imagesFrom?: string;
}

/**
 * A page as its markup and the headers every page needs: no referrer (its URL holds a token), no
 * cache, no framing. `imagesFrom` lets the page show images of that origin (the hosted login's
 * LOGO_URL). `formsLeave` drops the policy's form-action: the hosted login's forms end in
 * a redirect to the app, and Chromium applies form-action to a form's redirects too.
 */
export function renderPage(
  { title, body, header, wide = false, script }: Page,
  productName: string,
  { formsLeave = false, imagesFrom }: PageOptions = {},
): { headers: Record<string, string>; markup: string } {
  const policy = [
    ...POLICY.filter((directive) => !(formsLeave && directive.startsWith('form-action'))),
    ...(script === undefined ? [] : ["script-src 'self'", "connect-src 'self'"]),
    ...(imagesFrom === undefined ? [] : [`img-src ${imagesFrom}`]),
  ];
  return {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': policy.join('; '),
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
    },
    markup: html`<!doctype html>
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
  };
}

/** Sends a page (see renderPage). */
export function sendPage(res: Response, status: number, page: Page, productName: string, options?: PageOptions): void {
  const { headers, markup } = renderPage(page, productName, options);
  res.status(status);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.send(markup);
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

/** The OpenID Provider's hosted pages: forms that lead back to the app, and LOGO_URL's image. */
export function hostedPageOptions(config: { openIdProvider: { logoUrl: string | null } | null }): PageOptions {
  const logoUrl = config.openIdProvider?.logoUrl;
  return { formsLeave: true, ...(logoUrl && { imagesFrom: new URL(logoUrl).origin }) };
}

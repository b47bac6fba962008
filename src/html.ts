/**
 * HTML for pages and mail, written with one escaping helper: every value that is interpolated
 * into markup goes through `html`, which escapes it unless it is itself the result of `html`.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Markup that is safe to interpolate as it is. */
export class SafeHtml {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

type Interpolated = string | number | SafeHtml | readonly SafeHtml[] | null | undefined | false;

/** A tagged template: `html\`<p>${name}</p>\`` escapes `name`; nested `html` and arrays of it are kept. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let markup = strings[0]!;
  values.forEach((value, index) => {
    markup += render(value) + strings[index + 1]!;
  });
  return new SafeHtml(markup);
}

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map((each: SafeHtml) => each.markup).join('');
  return escapeHtml(String(value));
}

import type { ErrorRequestHandler, Request, Response } from 'express';
import { html } from '../../html';
import type { AppError } from '../../errors';
import { recordRefusal, toAppError } from '../error-handler';
import type { Page } from './layout';

/**
 * How a page router answers a failure under 500 (a form the parser refused, a rate limit, a bad
 * password): a page that says what went wrong, in words. `special` answers those a router knows
 * better (a login form shown again with its error); it returns false for the others. A 5xx goes
 * on to the JSON error handler, which logs it.
 */
export function pageErrorHandler(
  show: (res: Response, status: number, page: Page) => void,
  special: (error: AppError, req: Request, res: Response) => boolean = () => false,
  back?: { href: string; label: string },
): ErrorRequestHandler {
  return (failure, req, res, next) => {
    const error = toAppError(failure);
    if (error.status >= 500) {
      next(failure);
      return;
    }
    recordRefusal(req, error);
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    if (special(error, req, res)) return;
    const details = error.details?.map((detail) => html`<li>${detail.path}: ${detail.message}</li>`) ?? [];
    show(res, error.status, {
      title: 'That did not work',
      body: html`<p class="error" role="alert">${error.message}</p>
        <p><small>Error code: ${error.code}</small></p>
        ${
          details.length > 0 &&
          html`<ul>
            ${details}
          </ul>`
        }
        ${back && html`<p><a href="${back.href}">${back.label}</a></p>`}`,
    });
  };
}

import express from 'express';
import { z } from 'zod';
import { named, type Answer } from '../route-definition';

/** What the pages' route definitions share: their answers, and how their forms are read. */

export const htmlPage = named('HtmlPage', z.string().describe('An HTML page.'));

/** A page, answered with `status` (200 unless said). */
export const pageAnswer = (description: string, status = 200): Answer => ({
  status,
  description,
  body: htmlPage,
  mediaType: 'text/html',
});

// A form sends every field as a string, and an empty one for a field left blank.
export const formField = z.string().max(1000);
export const optionalFormField = formField.optional().transform((value) => (value === '' ? undefined : value));

/** Form bodies are a few short fields. */
const FORM_LIMIT_BYTES = 8 * 1024;

/** The pages' form body parser (a page router answers its errors as pages). */
export const formBody = () => [express.urlencoded({ extended: false, limit: FORM_LIMIT_BYTES })];

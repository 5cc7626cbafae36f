/**
 * The REST API's request and answer forms: form-encoded PascalCase parameters (a repeated field is a list),
 * JSON answers, Twilio's error bodies (code, message, more_info, status) and list pages
 * (https://www.twilio.com/docs/usage/twilios-response, paging: https://www.twilio.com/docs/usage/pagination).
 *
 * Decided here: URLs given over REST must be absolute (400, code 21205: Twilio needs absolute URLs, a relative
 * one is a server bug). Lists are paged with PageSize (default 50, at most 1000) and Page.
 */
import { eventList } from './conference-events.js';
import { restError } from './resources.js';
import type { HttpMethod, StatusEvent } from './types.js';

export type Form = Record<string, string | string[]>;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  get body(): Record<string, unknown> {
    return restError(this.status, this.code, this.message);
  }
}

export function notFound(path: string): RestError {
  return new RestError(404, 20404, `The requested resource ${path} was not found`);
}

export function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function bool(v: string | string[] | undefined): boolean | undefined {
  const s = one(v);
  if (s === undefined) return undefined;
  return s.toLowerCase() === 'true';
}

export function method(v: string | string[] | undefined, dflt: HttpMethod): HttpMethod {
  const s = one(v)?.toUpperCase();
  return s === 'GET' || s === 'POST' ? s : dflt;
}

function isAbsolute(u: string): boolean {
  return /^https?:\/\//i.test(u);
}

export function absUrl(form: Form, name: string): string | undefined {
  const u = one(form[name]);
  if (u === undefined || u === '') return undefined;
  if (!isAbsolute(u)) throw new RestError(400, 21205, `${name} is not a valid URL: ${u} (Twilio needs an absolute URL)`);
  return u;
}

export function parseForm(body: string): Form {
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

const STATUS_EVENTS: readonly StatusEvent[] = ['initiated', 'ringing', 'answered', 'completed'];

/** A call's StatusCallbackEvent: repeated fields and/or space-separated, default completed. */
export function statusEvents(v: string | string[] | undefined): StatusEvent[] {
  return eventList(v, ['completed']).filter((e): e is StatusEvent => (STATUS_EVENTS as readonly string[]).includes(e));
}

/** One page of a list, with Twilio's paging fields. */
export function page(path: string, query: Form, key: string, items: unknown[]): Reply {
  const size = Math.max(1, Math.min(1000, Number(one(query.PageSize) ?? 50) || 50));
  const pageNo = Math.max(0, Number(one(query.Page) ?? 0) || 0);
  const slice = items.slice(pageNo * size, (pageNo + 1) * size);
  const filters = Object.entries(query)
    .filter(([k]) => k !== 'Page' && k !== 'PageSize' && k !== 'PageToken')
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `&${encodeURIComponent(k)}=${encodeURIComponent(x)}`))
    .join('');
  const uri = (p: number): string => `${path}?PageSize=${size}&Page=${p}${filters}`;
  const hasNext = (pageNo + 1) * size < items.length;
  return {
    status: 200,
    body: {
      [key]: slice,
      first_page_uri: uri(0),
      previous_page_uri: pageNo > 0 ? uri(pageNo - 1) : null,
      next_page_uri: hasNext ? uri(pageNo + 1) : null,
      uri: uri(pageNo),
      page: pageNo,
      page_size: size,
      start: pageNo * size,
      end: pageNo * size + Math.max(0, slice.length - 1),
    },
  };
}

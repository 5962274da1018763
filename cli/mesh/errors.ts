/** The CLI's failures. Each maps to an exit code and to the lines printed on stderr. */

/** CHANGES: `policy diff` found something apply would change. */
export const EXIT_CODES = { OK: 0, FAILED: 1, USAGE: 2, CHANGES: 3 } as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The command line (or the environment it relies on) cannot work: exit 2, with a pointer to the command's --help. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command the line was for, if it got that far (`policy apply`). */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The local stack's context file names a stack that no longer runs: exit 1, one line. */
export class StaleLocalStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleLocalStackError';
  }
}

export interface Problem {
  pointer: string;
  message: string;
}

/** The API answered with a non-2xx status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The body's stable `reason`; absent when API Gateway itself answered (`{"message": ...}`). */
    readonly reason: string | undefined,
    message: string,
    readonly problems: readonly Problem[] = [],
    readonly currentRevision?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The request never got an HTTP answer (DNS, refused connection, TLS...). */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    options: ErrorOptions,
  ) {
    super(`cannot reach ${url}: ${causeText(options.cause)}${isLoopback(url) ? ' (is `npm run local` running?)' : ''}`, options);
    this.name = 'UnreachableError';
  }
}

/** The standard credential chain (or the profile) gave no credentials, so nothing was sent. */
export class CredentialsError extends Error {
  constructor(options: ErrorOptions) {
    super(`cannot load AWS credentials: ${causeText(options.cause)}`, options);
    this.name = 'CredentialsError';
  }
}

/** A 2xx answer that is not what the contract promises: a broken or mismatched server. */
export class AnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnswerError';
  }
}

/** A `-f` path cannot be read, or a document in it cannot be parsed; nothing is sent. */
export class DocumentsError extends Error {
  constructor(readonly failures: readonly string[]) {
    super(failures.join('; '));
    this.name = 'DocumentsError';
  }
}

/** Errors that stop every further request (no point trying the next document). */
export function isTransportError(error: unknown): boolean {
  return error instanceof UnreachableError || error instanceof CredentialsError;
}

/** The stderr lines for a failure of the CLI's own kinds, or undefined for anything else (a bug). */
export function describeFailure(error: unknown, subject?: string): string[] | undefined {
  const prefix = subject ? `error: ${subject}: ` : 'error: ';
  if (error instanceof ApiError) return describeApiError(error, prefix);
  if (error instanceof UnreachableError || error instanceof CredentialsError || error instanceof StaleLocalStackError) return [`error: ${error.message}`];
  if (error instanceof AnswerError) return [`${prefix}${error.message}`];
  if (error instanceof DocumentsError) return error.failures.map((f) => `error: ${f}`);
  return undefined;
}

const IAM_REFUSAL = 'the API refused the request signature or IAM denied it (check credentials, region and IAM policy)';

function describeApiError(error: ApiError, prefix: string): string[] {
  if (error.status === 403 && error.reason === undefined) {
    // API Gateway's own IAM authorizer answers {"message": ...} without our `reason`.
    const message = error.message === 'Forbidden' ? IAM_REFUSAL : `${error.message}; ${IAM_REFUSAL}`;
    return [`${prefix}403 Forbidden: ${message}`];
  }
  const current = error.status === 412 && error.currentRevision !== undefined ? ` (current revision ${error.currentRevision})` : '';
  const head = `${prefix}${error.status} ${error.reason ?? statusText(error.status)}: ${error.message}${current}`;
  return [head, ...error.problems.map((p) => `  ${p.pointer === '' ? '/' : p.pointer}: ${p.message}`)];
}

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `HTTP_${status}`;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function isLoopback(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) {
    // fetch wraps the socket error: "fetch failed" { cause: Error("connect ECONNREFUSED ...") }.
    const inner = (cause as Error & { cause?: unknown }).cause;
    return inner instanceof Error ? inner.message : cause.message;
  }
  return String(cause);
}

/**
 * One small HTTP(S) request on node:http(s), with a deadline, a bounded answer and the answer's
 * headers (the exchange needs `Retry-After`). node:https takes the private root certs natively.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AgentTransientError } from './errors.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface HttpCall {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** PEM bundle trusted for https instead of the system store. */
  ca?: string;
  /** TLS server name, when it differs from the host dialled. */
  servername?: string;
  signal?: AbortSignal;
}

// Every answer the agent reads is a small JSON document; a bigger one is a misbehaving server.
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Sends one request; throws AgentTransientError (never an answer body) when no full answer arrives. */
export function sendHttp(url: string, call: HttpCall): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const headers = { ...call.headers, ...(call.body !== undefined ? { 'content-length': String(Buffer.byteLength(call.body)) } : {}) };
    const tls = https ? { ...(call.ca ? { ca: call.ca } : {}), ...(call.servername ? { servername: call.servername } : {}) } : {};
    const send = https ? httpsRequest : httpRequest;
    const fail = (code: string, message: string, cause?: unknown) => new AgentTransientError(code, `${call.method} ${target.origin}${target.pathname}: ${message}`, { cause });
    const req = send(target, { method: call.method, headers, ...tls, ...(call.signal ? { signal: call.signal } : {}) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(fail('ANSWER_TOO_LARGE', `answer exceeds ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (error) => reject(error instanceof AgentTransientError ? error : fail('NETWORK_ERROR', error.message, error)));
    });
    const deadline = setTimeout(() => req.destroy(fail('TIMEOUT', `no answer within ${call.timeoutMs} ms`)), call.timeoutMs);
    req.on('error', (error: Error & { code?: string }) => {
      clearTimeout(deadline);
      reject(error instanceof AgentTransientError ? error : fail(error.name === 'AbortError' ? 'ABORTED' : (error.code ?? 'NETWORK_ERROR'), error.message, error));
    });
    req.end(call.body);
  });
}

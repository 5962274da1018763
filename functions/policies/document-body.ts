/**
 * Reads a policy document from a request body: JSON (`application/json`, `+json`) or YAML
 * (`application/yaml`, `text/yaml`...; also when no content type is given). One document
 * per request; repeated keys are refused in both syntaxes so no two readers disagree.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseAllDocuments } from 'yaml';
import { parseJsonStrict } from '../../shared/core/strict-json.js';
import { yamlValue } from '../../shared/core/yaml-value.js';
import { header, requestBody } from '../http/responses.js';

/**
 * A policy document is at most 64 KiB as sent, and again as JSON once parsed, which is how it is
 * stored: YAML aliases let a small body expand. The audit entry holds two documents (before and
 * after) in one DynamoDB item, whose limit is 400 KB, so 64 KiB each leaves ample room.
 */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

export type DocumentBody = { ok: true; document: unknown } | { ok: false; status: 400 | 413 | 415; reason: string; message: string };

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

export function readDocumentBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded' | 'headers'>): DocumentBody {
  const text = requestBody(event);
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) return { ok: false, status: 413, reason: 'BODY_TOO_LARGE', message: `a policy document is at most ${MAX_DOCUMENT_BYTES} bytes` };
  if (text.trim() === '') return malformed('the body is empty: send one OnboardingPolicy document as JSON or YAML');
  const mediaType = (header(event.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    const parsed = parseJsonStrict(text);
    return parsed.ok ? measured(parsed.value) : malformed(`body is not a JSON document: ${parsed.detail}`);
  }
  if (mediaType === '' || YAML_TYPES.has(mediaType)) {
    const read = readYaml(text);
    return read.ok ? measured(read.document) : read;
  }
  return { ok: false, status: 415, reason: 'UNSUPPORTED_MEDIA_TYPE', message: `content-type ${mediaType} is not supported: use application/json or application/yaml` };
}

/** The parsed document, refused when its JSON (what is stored) is over the limit. */
function measured(document: unknown): DocumentBody {
  const bytes = Buffer.byteLength(JSON.stringify(document), 'utf8');
  if (bytes > MAX_DOCUMENT_BYTES)
    return { ok: false, status: 413, reason: 'DOCUMENT_TOO_LARGE', message: `the document is ${bytes} bytes as JSON once parsed (YAML aliases expanded); a policy document is at most ${MAX_DOCUMENT_BYTES}` };
  return { ok: true, document };
}

function readYaml(text: string): DocumentBody {
  const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(documents)) return malformed('body holds no YAML document');
  const present = documents.filter((d) => d.contents !== null || d.errors.length > 0);
  if (present.length !== 1) return malformed(`body holds ${present.length} YAML documents; send one per request (the CLI splits files)`);
  const doc = present[0]!;
  if (doc.errors.length > 0) return malformed(`body is not valid YAML: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
  const read = yamlValue(doc);
  if (read.ok) return { ok: true, document: read.value };
  return read.problem === 'too-large' ? { ok: false, status: 413, reason: 'DOCUMENT_TOO_LARGE', message: read.message } : malformed(`body is not valid YAML: ${read.message}`);
}

const malformed = (message: string): DocumentBody => ({ ok: false, status: 400, reason: 'MALFORMED_BODY', message });

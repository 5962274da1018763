/**
 * What an ECS group may call by name (docs/architecture.md#mesh-names), declared once on its WorkloadGroup:
 * the mesh API is where operators already look for the group, while onboarding policies decide
 * admission, not routing. No annotation: no names, no Sidecar of ours.
 *
 *   ecsmesh.io/upstreams: "reviews.bookinfo.svc.cluster.local:9080, mongodb.bookinfo.svc.cluster.local"
 *   ecsmesh.io/app-port: "8080"
 *
 * A port picks one of the Service's ports; without one, every port the Service serves.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import type { ObjectRef, WorkloadGroup } from './kubernetes-types.js';
import { NAME_REASONS } from './reasons.js';

export const UPSTREAMS_ANNOTATION = 'ecsmesh.io/upstreams';
/** Where the app listens on 127.0.0.1: the Sidecar's ingress forwards the group's mesh ports to it. */
export const APP_PORT_ANNOTATION = 'ecsmesh.io/app-port';

/** One upstream a group declares. */
export interface Upstream {
  /** The mesh name, lowercase, without a trailing dot: `reviews.bookinfo.svc.cluster.local`. */
  host: string;
  service: ObjectRef;
  /** Absent: every port of the Service. */
  port?: number;
}

/** A group's declaration, read: its upstreams and app port, or why it cannot be read. */
export type GroupDeclaration =
  | { declared: false }
  | { declared: true; ok: true; upstreams: Upstream[]; appPort: number }
  | { declared: true; ok: false; reason: typeof NAME_REASONS.UPSTREAMS_INVALID | typeof NAME_REASONS.APP_PORT_INVALID; problems: string[] };

const DNS1123_LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const port = z.number().check(z.int('must be a whole number'), z.gte(1, 'must be 1 to 65535'), z.lte(65535, 'must be 1 to 65535'));
/** A port as annotations spell it: decimal digits only (no sign, no exponent), then in range. */
const portText = z.pipe(z.string().check(z.regex(/^\d{1,5}$/, 'must be a port number (1 to 65535)')), z.pipe(z.transform(Number), port));

/** The upstream entry schema for one zone: `<service>.<namespace>.<zone>[:<port>]`. */
function upstreamSchema(zone: string) {
  const shape = new RegExp(`^(${DNS1123_LABEL})\\.(${DNS1123_LABEL})\\.${zone.replaceAll('.', '\\.')}(?::(\\d{1,5}))?$`);
  return z.pipe(
    z.string().check(z.trim(), z.toLowerCase(), z.regex(shape, `must be <service>.<namespace>.${zone}, optionally :<port>`)),
    z.transform((text): Upstream => {
      const [, name, namespace, portPart] = shape.exec(text) as RegExpExecArray;
      const host = text.replace(/:\d+$/, '');
      return portPart === undefined ? { host, service: { namespace: namespace!, name: name! } } : { host, service: { namespace: namespace!, name: name! }, port: Number(portPart) };
    }),
  );
}

/** Reads a group's declaration for the zone's names (`svc.cluster.local`). */
export function readGroupDeclaration(group: WorkloadGroup, zone: string): GroupDeclaration {
  const annotations = group.metadata.annotations ?? {};
  const text = annotations[UPSTREAMS_ANNOTATION];
  if (text === undefined) return { declared: false };
  const upstreams = parseUpstreams(text, zone);
  if (!upstreams.ok) return { declared: true, ok: false, reason: NAME_REASONS.UPSTREAMS_INVALID, problems: upstreams.problems };
  const appPort = portText.safeParse(annotations[APP_PORT_ANNOTATION] ?? '');
  if (!appPort.success) {
    return { declared: true, ok: false, reason: NAME_REASONS.APP_PORT_INVALID, problems: [`${APP_PORT_ANNOTATION}: ${appPort.error.issues.map((i) => i.message).join('; ')}`] };
  }
  return { declared: true, ok: true, upstreams: upstreams.upstreams, appPort: appPort.data };
}

/** Parses the comma-separated list; empty entries are skipped, so `""` declares no upstream (ingress only). */
export function parseUpstreams(text: string, zone: string): { ok: true; upstreams: Upstream[] } | { ok: false; problems: string[] } {
  const schema = upstreamSchema(zone);
  const problems: string[] = [];
  const upstreams: Upstream[] = [];
  const seen = new Set<string>();
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const parsed = schema.safeParse(entry);
    if (!parsed.success) {
      problems.push(`"${entry}": ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      continue;
    }
    const portOk = parsed.data.port === undefined || port.safeParse(parsed.data.port).success;
    if (!portOk) problems.push(`"${entry}": the port must be 1 to 65535`);
    const key = `${parsed.data.host}:${parsed.data.port ?? '*'}`;
    if (seen.has(key)) problems.push(`"${entry}": declared twice`);
    seen.add(key);
    if (portOk) upstreams.push(parsed.data);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, upstreams };
}

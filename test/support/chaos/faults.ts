/**
 * Faults between the functions and what they call: an SDK middleware on the functions' AWS
 * clients and a wrapper on their MeshApi. Each call fails at `rate` with one of the faults of
 * real life. A timeout or reset may come after the call reached the far side (the write was
 * applied, the answer lost), which is the fault that tests idempotence.
 *
 * The SDK middleware sits in the initialize step, outside the SDK's own retries: it stands for
 * the fault that outlasted them, i.e. the one our code has to handle.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { MeshApi } from '../../../shared/ports.js';
import { MeshApiError } from '../../../shared/errors.js';
import type { Random } from './random.js';

export const FAULT_KINDS = ['throttling', 'server-error', 'timeout', 'connection-reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

type AnyClient = { middlewareStack: ECSClient['middlewareStack'] };

/** Decides, call by call, whether to fail it; counts what it injected by `<target>:<kind>`. */
export class FaultInjector {
  readonly injected = new Map<string, number>();
  enabled = true;

  constructor(
    private readonly random: Random,
    private readonly rate: number,
  ) {}

  /** The fault for this call, if any, and whether it strikes after the call was made. */
  draw(target: string, write: boolean): { kind: FaultKind; afterCall: boolean } | undefined {
    if (!this.enabled || !this.random.chance(this.rate)) return undefined;
    const kind = this.random.pick(FAULT_KINDS);
    const afterCall = write && (kind === 'timeout' || kind === 'connection-reset') && this.random.chance(0.5);
    this.injected.set(`${target}:${kind}`, (this.injected.get(`${target}:${kind}`) ?? 0) + 1);
    return { kind, afterCall };
  }

  total(): number {
    return [...this.injected.values()].reduce((a, b) => a + b, 0);
  }
}

/** Errors shaped as the SDK raises them, so adapters classify them as they would AWS's. */
function sdkError(kind: FaultKind, command: string): Error {
  const fault = (name: string, message: string, status: number | undefined, extra: object = {}) =>
    Object.assign(new Error(`${command}: ${message} (injected)`), { name, $fault: status && status < 500 ? 'client' : 'server', $metadata: { httpStatusCode: status, attempts: 3 }, ...extra });
  switch (kind) {
    case 'throttling':
      return fault('ThrottlingException', 'Rate exceeded', 400);
    case 'server-error':
      return fault('InternalFailure', 'We encountered an internal error. Please try again.', 500);
    case 'timeout':
      return fault('TimeoutError', 'socket timed out', undefined);
    case 'connection-reset':
      return fault('Error', 'socket hang up', undefined, { code: 'ECONNRESET' });
  }
}

const READ_ONLY = /^(Get|Describe|List|BatchGet|Query|Scan)/;

/** Adds the fault middleware to every client of the record. */
export function injectSdkFaults(clients: Record<string, unknown>, faults: FaultInjector): void {
  for (const [service, client] of Object.entries(clients)) {
    (client as AnyClient).middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName).replace(/Command$/, '');
        const fault = faults.draw(`${service}`, !READ_ONLY.test(command));
        if (!fault) return next(args);
        if (fault.afterCall) await next(args);
        throw sdkError(fault.kind, `${service}:${command}`);
      },
      { step: 'initialize', name: 'chaosFaults', priority: 'low' },
    );
  }
}

/** A MeshApi that fails as the Kubernetes API does under load: 503s, 500s, timeouts, resets. */
export function withMeshFaults(mesh: MeshApi, faults: FaultInjector): MeshApi {
  const guard = async <T>(action: string, write: boolean, call: () => Promise<T>): Promise<T> => {
    const fault = faults.draw('mesh', write);
    if (!fault) return call();
    if (fault.afterCall) await call();
    const status = fault.kind === 'throttling' ? 429 : fault.kind === 'server-error' ? 503 : undefined;
    throw new MeshApiError(`${action}: ${status ? `HTTP ${status}` : fault.kind} (injected)`, { retryable: true, ...(status ? { status } : {}) });
  };
  return {
    getWorkloadGroup: (ref) => guard('get WorkloadGroup', false, () => mesh.getWorkloadGroup(ref)),
    getWorkloadEntry: (ref) => guard('get WorkloadEntry', false, () => mesh.getWorkloadEntry(ref)),
    applyWorkloadEntry: (entry) => guard('apply WorkloadEntry', true, () => mesh.applyWorkloadEntry(entry)),
    deleteWorkloadEntry: (ref, preconditions) => guard('delete WorkloadEntry', true, () => mesh.deleteWorkloadEntry(ref, preconditions)),
    listWorkloadEntries: (labels, namespace) => guard('list WorkloadEntries', false, () => mesh.listWorkloadEntries(labels, namespace)),
  };
}

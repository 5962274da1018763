/** Counts AWS SDK calls per `<client>:<Command>`: the reconciler reports its calls per pass, tests and benchmarks assert costs. */
import type { ECSClient } from '@aws-sdk/client-ecs';

type AnyClient = { middlewareStack: ECSClient['middlewareStack'] };

/** Adds a counting middleware to every client of the record. */
export function countCalls(clients: Record<string, unknown>, counts: Map<string, number>): void {
  for (const [service, client] of Object.entries(clients)) {
    (client as AnyClient).middlewareStack.add(
      (next, context) => async (args) => {
        const key = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
  }
}

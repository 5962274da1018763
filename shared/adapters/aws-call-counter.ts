/** Counts AWS SDK calls per `<client>:<Command>`: the reconciler reports its calls per pass, tests and benchmarks assert costs. */
import type { ECSClient } from '@aws-sdk/client-ecs';

type AnyClient = { middlewareStack: ECSClient['middlewareStack'] };

/**
 * Names a kind of call within one operation (e.g. which secret a GetSecretValue reads), given the
 * `<client>:<Command>` key and the command's input; the call is then also counted as `<key>:<kind>`.
 */
export type CallKind = (key: string, input: unknown) => string | undefined;

/** Adds a counting middleware to every client of the record. */
export function countCalls(clients: Record<string, unknown>, counts: Map<string, number>, kindOf?: CallKind): void {
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const [service, client] of Object.entries(clients)) {
    (client as AnyClient).middlewareStack.add(
      (next, context) => async (args) => {
        const key = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
        add(key);
        const kind = kindOf?.(key, args.input);
        if (kind !== undefined) add(`${key}:${kind}`);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
  }
}

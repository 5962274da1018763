/**
 * The part of EventBridge's event-pattern matching our rules use
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html): a field
 * matches when its value equals one listed, or has a listed `prefix` / `suffix`; nested objects
 * match field by field. moto cannot tell (it stamps a forwarded event with the receiving account,
 * and has no TestEventPattern), so the tests match the templates' patterns with this.
 */
type Pattern = { [field: string]: Pattern | (string | { prefix?: string; suffix?: string })[] };

export function matchesPattern(pattern: Pattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, wanted]) => {
    const value = event[field];
    if (!Array.isArray(wanted)) return typeof value === 'object' && value !== null && matchesPattern(wanted, value as Record<string, unknown>);
    const values = Array.isArray(value) ? value : [value];
    return values.some((v) =>
      wanted.some((w) => (typeof w === 'string' ? v === w : typeof v === 'string' && (w.prefix === undefined || v.startsWith(w.prefix)) && (w.suffix === undefined || v.endsWith(w.suffix)))),
    );
  });
}

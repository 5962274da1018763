/**
 * Tags and labels are records whose keys come from outside. A plain object already "has" every
 * name on Object.prototype (`{}.constructor` is Object, `{}.toString` a function), so reading one
 * by a key someone else chose must ask for own keys only, or a required `constructor` tag is
 * satisfied by a role without tags.
 */

/** `record[key]` when `key` is the record's own key, else `undefined`. */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Describing user-supplied JSON in error messages: "expected X, found <this>". */

/** A value as an error shows it: JSON, cut to 80 characters; `undefined` is "nothing". */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The value at a key path (as zod reports it), or undefined where the path leaves the object. */
export function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const k of path) cur = cur == null || typeof cur !== 'object' ? undefined : (cur as Record<PropertyKey, unknown>)[k];
  return cur;
}

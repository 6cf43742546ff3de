// Reading records written before a key was renamed (manifests' metrics, learning-curve rows): the old name is
// read as the new one; writers write only the new name.

/** A record with every renamed key under its new name (a record holding both keeps them both, for the schema to refuse). */
export function renameKeys(value: unknown, renamed: Readonly<Record<string, string>>): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [old, to] of Object.entries(renamed)) {
    if (old in out && !(to in out)) {
      out[to] = out[old];
      delete out[old];
    }
  }
  return out;
}

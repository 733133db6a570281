/** Which publishers a subscriber sees: its session's zone only, or every zone of the data center. */
export const SCOPES = ['zone', 'dataCenter', 'global'] as const;
export type Scope = (typeof SCOPES)[number];

/** True when `value` names a scope. */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

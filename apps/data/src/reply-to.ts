import type { Reply } from '@sofareg/data-core';

/** Settles a promise into the driver's {@link Reply}: the answer, or the Error it failed with. */
export function replyTo<T>(promise: Promise<T>, reply: Reply<T>): void {
  promise.then(reply, (err: unknown) => reply(err instanceof Error ? err : new Error(String(err))));
}

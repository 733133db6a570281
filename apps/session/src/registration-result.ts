import type { ErrorInfo, RegisterResult, ServerMessage } from '@sofareg/contracts';
import type { ErrorValue } from '@sofareg/model';

/** The answer to one registration request. */
export function result(
  requestId: number,
  registerId: string,
  ok: boolean,
  version: number,
  error?: ErrorValue | ErrorInfo,
): RegisterResult {
  const info = error
    ? { code: error.code, message: error.message, field: error.field ?? '', leader: error.leader ?? '' }
    : undefined;
  return { requestId, registerId, ok, version, error: info };
}

/** {@link result} as a message to the client. */
export function resultMessage(...args: Parameters<typeof result>): ServerMessage {
  return { body: { $case: 'result', value: result(...args) } };
}

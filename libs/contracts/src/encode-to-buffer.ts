import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** A generated message codec. */
export interface Encoder<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

/** Beyond this, the shared writer's buffer is not kept (a rare large sync page must not pin its memory). */
const KEEP_BUFFER_BYTES = 1 << 20;

let shared = new BinaryWriter();

/**
 * Encodes `value` into a Buffer for grpc-js, the serializer of every generated service definition (the
 * generator routes them here). One writer is reused, so its buffer has already grown to fit and each message
 * costs a single exact-size copy, and the Buffer wraps those bytes rather than copying them again: about
 * half the CPU of `Buffer.from(X.encode(value).finish())` on the hot paths.
 */
export function encodeToBuffer<T>(codec: Encoder<T>, value: T): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = codec.encode(value, shared).finish();
  } catch (err) {
    // A throw mid-message leaves the writer's position and fork stack behind: start clean.
    shared = new BinaryWriter();
    throw err;
  }
  if (bytes.byteLength > KEEP_BUFFER_BYTES) shared = new BinaryWriter();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

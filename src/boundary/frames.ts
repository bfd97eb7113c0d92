// The ECALL boundary's wire format, shared by the enclave process and the host that drives it.
// A frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON. The enclave reads the
// length before anything else, so an oversized frame is refused without being parsed or buffered.
import type { EnclaveErrorCode } from "./calls.js";

/** The version of the call set; the enclave refuses calls of any other version. */
export const BOUNDARY_VERSION = 1;
export const FRAME_HEADER_BYTES = 4;
/** Largest frame either side accepts (a state snapshot is the largest thing that crosses). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

export type BoundaryRequest = { v: number; id: number; call: string; args: unknown };
/**
 * `sealedReason`: with the code `refused` (any refusal decided after the enclave opened a command or
 * query), its precise code and reason sealed to the message's response key — a padded failed receipt
 * or rejected answer the host cannot read or tell apart by size.
 */
export type BoundaryError = { code: EnclaveErrorCode; message: string; sealedReason?: string };
export type BoundaryResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: BoundaryError };

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export type FrameEvent = { kind: "frame"; body: Buffer } | { kind: "oversized"; length: number };

/**
 * Splits a byte stream into frames. An oversized frame is reported (once) and its bytes are
 * skipped as they arrive, so the stream stays in step and memory stays bounded.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private skipping = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let data = chunk;
    if (this.skipping > 0) {
      const skip = Math.min(this.skipping, data.length);
      this.skipping -= skip;
      data = data.subarray(skip);
    }
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (this.buffer.length >= FRAME_HEADER_BYTES) {
      const length = this.buffer.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        events.push({ kind: "oversized", length });
        const available = this.buffer.length - FRAME_HEADER_BYTES;
        const skip = Math.min(length, available);
        this.skipping = length - skip;
        this.buffer = this.buffer.subarray(FRAME_HEADER_BYTES + skip);
        continue;
      }
      if (this.buffer.length < FRAME_HEADER_BYTES + length) break;
      events.push({
        kind: "frame",
        body: this.buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length),
      });
      this.buffer = this.buffer.subarray(FRAME_HEADER_BYTES + length);
    }
    return events;
  }
}

/** A refusal the enclave reports across the boundary: a stable code and a message without secrets. */
export class EnclaveCallError extends Error {
  override name = "EnclaveCallError";
  constructor(
    readonly code: EnclaveErrorCode,
    message: string,
    readonly sealedReason?: string,
  ) {
    super(message);
  }
}

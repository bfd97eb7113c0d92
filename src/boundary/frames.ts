// The ECALL boundary's wire format, shared by the enclave process and the host that drives it.
// A message is UTF-8 JSON carried in one or more frames. A frame is a 4-byte big-endian header, then
// up to MAX_FRAME_BYTES of the message: the header's low 31 bits are the frame's length, its top bit
// (CONTINUED) says that more of the same message follows in the next frame. The reader checks each
// header before anything else, so an oversized frame, or a message growing past MAX_MESSAGE_BYTES,
// is refused without being parsed and its bytes are skipped as they arrive.
//
// Why messages may span frames: a member's sealed checkpoint grows with the state (100,000 accounts
// and 50,000 receipts are ~29 MB sealed, ~58 MB as hex), and was refused whole past 32 MiB, so the
// host killed its own enclave. Most answers now carry only the pieces of the checkpoint that changed
// (src/enclave/checkpoint-pieces.ts), but a restore hands all of them back at once.
import type { EnclaveErrorCode } from "./refusal-codes.js";

/** The version of the call set; the enclave refuses calls of any other version. */
export const BOUNDARY_VERSION = 1;
export const FRAME_HEADER_BYTES = 4;
/** Largest frame either side accepts; a longer message is sent as several (CONTINUED). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;
/**
 * Largest message either side accepts, whatever its frames: a whole sealed checkpoint as hex, with
 * the journal, at restore (MAX_SEALED_CHECKPOINT_BYTES in calls.ts, doubled by hex).
 */
export const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
/** The header bit of a frame followed by more of its message. */
const CONTINUED = 0x8000_0000;

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

/** A message as its frames, back to back: one frame unless it is longer than `maxFrameBytes`. */
export function encodeFrame(message: unknown, maxFrameBytes = MAX_FRAME_BYTES): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const frames = Math.max(1, Math.ceil(body.length / maxFrameBytes));
  const out = Buffer.allocUnsafe(frames * FRAME_HEADER_BYTES + body.length);
  for (let i = 0, at = 0; i < frames; i++) {
    const part = body.subarray(i * maxFrameBytes, (i + 1) * maxFrameBytes);
    out.writeUInt32BE((part.length | (i < frames - 1 ? CONTINUED : 0)) >>> 0, at);
    part.copy(out, at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + part.length;
  }
  return out;
}

/** A whole message (`frame`, its frames joined), or one refused for its size and skipped. */
export type FrameEvent = { kind: "frame"; body: Buffer } | { kind: "oversized"; length: number };

/**
 * Splits a byte stream into messages. An oversized frame, or a message past `maxMessageBytes`, is
 * reported (once) and its bytes, up to the end of its message, are skipped as they arrive, so the
 * stream stays in step and memory stays bounded.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  /**
   * Chunks that arrived while a frame was still short, joined once it is whole: a frame of tens of
   * MiB arrives in hundreds of 64 KiB chunks, and joining at each one copied the growing buffer
   * every time (quadratic: seconds per large frame).
   */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** The bytes the frame at the head of `buffer` needs in all (header and body); 0: not known. */
  private awaiting = 0;
  private skipping = 0;
  /** The frames of the message being read so far, and their bytes. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** The message being read was refused: its remaining frames are skipped. */
  private discarding = false;

  constructor(
    private readonly maxFrameBytes = MAX_FRAME_BYTES,
    private readonly maxMessageBytes = MAX_MESSAGE_BYTES,
  ) {}

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let data = chunk;
    if (this.skipping > 0) {
      const skip = Math.min(this.skipping, data.length);
      this.skipping -= skip;
      data = data.subarray(skip);
    }
    if (this.buffer.length + this.waitingBytes + data.length < this.awaiting) {
      this.waiting.push(data);
      this.waitingBytes += data.length;
      return events;
    }
    this.buffer =
      this.buffer.length === 0 && this.waiting.length === 0
        ? data
        : Buffer.concat([this.buffer, ...this.waiting, data]);
    this.waiting = [];
    this.waitingBytes = 0;
    this.awaiting = 0;
    while (this.buffer.length >= FRAME_HEADER_BYTES) {
      const header = this.buffer.readUInt32BE(0);
      const length = header & ~CONTINUED;
      const continued = (header & CONTINUED) !== 0;
      const refused =
        length > this.maxFrameBytes
          ? length
          : this.partsBytes + length > this.maxMessageBytes
            ? this.partsBytes + length
            : undefined;
      if (refused !== undefined || this.discarding) {
        if (refused !== undefined && !this.discarding) events.push({ kind: "oversized", length: refused });
        this.parts = [];
        this.partsBytes = 0;
        this.discarding = continued;
        const available = this.buffer.length - FRAME_HEADER_BYTES;
        const skip = Math.min(length, available);
        this.skipping = length - skip;
        this.buffer = this.buffer.subarray(FRAME_HEADER_BYTES + skip);
        continue;
      }
      if (this.buffer.length < FRAME_HEADER_BYTES + length) {
        this.awaiting = FRAME_HEADER_BYTES + length;
        break;
      }
      const body = this.buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      this.buffer = this.buffer.subarray(FRAME_HEADER_BYTES + length);
      if (continued) {
        // Copied: the stream's buffer is replaced as more bytes arrive.
        this.parts.push(Buffer.from(body));
        this.partsBytes += length;
        continue;
      }
      const whole = this.parts.length === 0 ? body : Buffer.concat([...this.parts, body]);
      this.parts = [];
      this.partsBytes = 0;
      events.push({ kind: "frame", body: whole });
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

// Where a stream of boundary frames (src/boundary/frames.ts: a 4-byte big-endian header, its top bit
// CONTINUED, the low 31 bits the body's length) stands, without reading any body: `enclave serve`
// keeps one enclave across host connections, so it must hand each connection whole messages only.
// Towards the host, a connection attached mid-message gets the stream from the next message on;
// towards the enclave, a connection cut mid-message is completed (`close`) so that the enclave reads a
// message that is not JSON, refuses it (id -1) and stays in step with the next connection's frames.
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from "../boundary/frames.js";

const CONTINUED = 0x8000_0000;
/** Padding for a cut body: a strict prefix of a JSON object and spaces are never JSON. */
const PAD_BYTE = 0x20;
/** The last frame of a message, empty: closes a message whose frames were CONTINUED. */
const EMPTY_LAST_FRAME = new Uint8Array(FRAME_HEADER_BYTES);

export class FramePosition {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerBytes = 0;
  private bodyLeft = 0;
  /** The current (or last) frame says more of its message follows. */
  private continued = false;
  /** A message has started and not ended. */
  private open = false;

  /** Offsets in `chunk` just after each message that ends in it. */
  advance(chunk: Uint8Array): number[] {
    const ends: number[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        at += take;
        this.bodyLeft -= take;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerBytes, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerBytes);
        this.headerBytes += take;
        at += take;
        if (this.headerBytes < FRAME_HEADER_BYTES) break;
        const word = this.header.readUInt32BE(0);
        this.headerBytes = 0;
        this.bodyLeft = word & ~CONTINUED;
        this.continued = (word & CONTINUED) !== 0;
        this.open = true;
      }
      if (this.bodyLeft === 0 && this.headerBytes === 0 && !this.continued && this.open) {
        this.open = false;
        ends.push(at);
      }
    }
    return ends;
  }

  /** Between messages: nothing of one has been seen without its end. */
  get atBoundary(): boolean {
    return !this.open && this.headerBytes === 0;
  }

  /** Bytes of a header seen, not yet whole (held back by a writer that must not cut one). */
  get partialHeader(): number {
    return this.headerBytes;
  }

  /**
   * What completes the message cut here (assuming a partial header was never passed on): the rest of
   * the frame's body as padding, then an empty last frame if the message was to continue; undefined
   * if the rest is longer than any frame (an oversized frame the enclave is skipping: too much to
   * pad). Resets.
   */
  close(): Uint8Array | undefined {
    if (this.bodyLeft > MAX_FRAME_BYTES) return undefined;
    const rest = new Uint8Array(this.bodyLeft + (this.open && this.continued ? FRAME_HEADER_BYTES : 0));
    rest.fill(PAD_BYTE, 0, this.bodyLeft);
    if (this.open && this.continued) rest.set(EMPTY_LAST_FRAME, this.bodyLeft);
    this.headerBytes = 0;
    this.bodyLeft = 0;
    this.continued = false;
    this.open = false;
    return rest;
  }
}

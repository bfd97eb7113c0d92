// Frames: a message longer than one frame crosses as several, and the reader bounds both.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFrame, FRAME_HEADER_BYTES, FrameReader } from "./frames.js";

/** Small limits, so a test's messages span frames and pass the message cap. */
const FRAME = 16;
const MESSAGE = 64;

const bodies = (events: ReturnType<FrameReader["push"]>) =>
  events.map((e) => (e.kind === "frame" ? JSON.parse(e.body.toString("utf8")) : e));

describe("frames", () => {
  it("carry a message longer than a frame in several, read back whole even one byte at a time", () => {
    const message = { text: "x".repeat(40) };
    const bytes = encodeFrame(message, FRAME);
    const length = JSON.stringify(message).length;
    assert.equal(bytes.length, Math.ceil(length / FRAME) * FRAME_HEADER_BYTES + length);
    const reader = new FrameReader(FRAME, MESSAGE);
    const events = [...bytes].flatMap((b) => reader.push(Buffer.from([b])));
    assert.deepEqual(bodies(events), [message]);
  });

  it("read back every message whatever the chunking: large frames in small chunks, several per chunk, headers split", () => {
    const frame = 4096;
    const messages = [
      { text: "a".repeat(3 * frame + 17) },
      { n: 1 },
      { text: "b".repeat(frame - 12) },
      { text: "c".repeat(20 * frame) },
      { n: 2 },
    ];
    const stream = Buffer.concat(messages.map((m) => encodeFrame(m, frame)));
    for (const chunkSizes of [[1], [3, 5, 7], [999], [4096, 1, 8191], [stream.length]]) {
      const reader = new FrameReader(frame, 64 * frame);
      const events: ReturnType<FrameReader["push"]> = [];
      for (let at = 0, i = 0; at < stream.length; i++) {
        const size = chunkSizes[i % chunkSizes.length]!;
        events.push(...reader.push(stream.subarray(at, at + size)));
        at += size;
      }
      assert.deepEqual(bodies(events), messages, `chunks of ${chunkSizes.join(", ")}`);
    }
  });

  it("refuse a message past the cap, skip the rest of it and read the next", () => {
    const reader = new FrameReader(FRAME, MESSAGE);
    const big = encodeFrame({ text: "y".repeat(100) }, FRAME);
    const next = encodeFrame({ ok: 1 }, FRAME);
    const events = reader.push(Buffer.concat([big, next]));
    assert.equal(events.length, 2);
    assert.equal(events[0]!.kind, "oversized");
    assert.deepEqual(bodies(events.slice(1)), [{ ok: 1 }]);
  });

  it("refuse a frame longer than the limit without waiting for its bytes", () => {
    const reader = new FrameReader(FRAME, MESSAGE);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(FRAME + 1);
    assert.deepEqual(reader.push(header), [{ kind: "oversized", length: FRAME + 1 }]);
    assert.deepEqual(bodies(reader.push(Buffer.concat([Buffer.alloc(FRAME + 1), encodeFrame(7)]))), [7]);
  });
});

// Where a frame stream stands, read from headers only: message ends found across any chunking, and a
// message cut anywhere completed so that the enclave's own reader refuses it and stays in step.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeFrame, FrameReader, MAX_FRAME_BYTES } from "../boundary/frames.js";
import { FramePosition } from "./frame-position.js";

/** Frames of at most this many bytes: small, so that a message spans several. */
const SMALL_FRAME = 7;
/** The longest length a header can say (31 bits): past MAX_FRAME_BYTES by far. */
const LONGEST_LENGTH = 0x7fff_ffff;
const first = { v: 1, id: 1, call: "status", args: {} };
const second = { v: 1, id: 2, call: "groupStatus", args: { pad: "x".repeat(20) } };

describe("the position in a frame stream", () => {
  test("message ends are found whatever the chunks, in frames continued or not", () => {
    const stream = Buffer.concat([encodeFrame(first, SMALL_FRAME), encodeFrame(second)]);
    const whole = new FramePosition().advance(stream);
    assert.deepEqual(whole, [encodeFrame(first, SMALL_FRAME).length, stream.length]);
    // Byte by byte: the same ends.
    const position = new FramePosition();
    const ends: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      for (const end of position.advance(stream.subarray(i, i + 1))) ends.push(i + end);
      assert.equal(position.atBoundary, ends.includes(i + 1) || false, `after byte ${i}`);
    }
    assert.deepEqual(ends, whole);
  });

  test("a message cut anywhere is completed into one the enclave refuses, and the next is read in step", () => {
    const cutMessage = encodeFrame(first, SMALL_FRAME);
    for (let cut = 1; cut < cutMessage.length; cut++) {
      const position = new FramePosition();
      position.advance(cutMessage.subarray(0, cut));
      // A writer holds back a partial header: only what is before it reaches the enclave.
      const passed = cutMessage.subarray(0, cut - position.partialHeader);
      const rest = position.close();
      assert.ok(rest, `cut at ${cut}`);
      assert.ok(position.atBoundary);
      const reader = new FrameReader();
      const events = reader.push(Buffer.concat([passed, rest, encodeFrame(second)]));
      const bodies = events.flatMap((e) => (e.kind === "frame" ? [e.body.toString("utf8")] : []));
      const last = bodies.pop();
      assert.deepEqual(JSON.parse(last ?? "null"), second, `cut at ${cut}: the next message whole`);
      for (const body of bodies) assert.throws(() => JSON.parse(body), SyntaxError, `cut at ${cut}: ${body}`);
    }
  });

  test("a cut leaving more of a frame than any frame holds (one the enclave skips) is not padded", () => {
    const position = new FramePosition();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(LONGEST_LENGTH);
    position.advance(Buffer.concat([header, Buffer.alloc(8)]));
    assert.ok(LONGEST_LENGTH - 8 > MAX_FRAME_BYTES);
    assert.equal(position.close(), undefined);
  });
});

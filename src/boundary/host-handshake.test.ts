// The host-token handshake by itself: the host's proof opens the boundary; a proof of another token,
// a proof replayed from another connection, and messages that break the format do not.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FRAME_HEADER_BYTES } from "./frames.js";
import {
  challenge,
  encodeHandshake,
  HandshakeError,
  hostToken,
  MAX_HANDSHAKE_BYTES,
  MIN_HOST_TOKEN_CHARS,
  proofFor,
  provesHost,
  takeHandshake,
} from "./host-handshake.js";

const TOKEN = "a".repeat(64);
const OTHER_TOKEN = "b".repeat(64);

/** A handshake frame around any body, as a peer could send it. */
function frame(body: string, header?: number): Uint8Array {
  const bytes = new TextEncoder().encode(body);
  const out = new Uint8Array(FRAME_HEADER_BYTES + bytes.length);
  new DataView(out.buffer).setUint32(0, header ?? bytes.length);
  out.set(bytes, FRAME_HEADER_BYTES);
  return out;
}

describe("the host-token handshake", () => {
  test("the host's proof of its token answers the challenge; the bytes after it are left for the frames", () => {
    const asked = challenge();
    const wire = encodeHandshake(asked.message);
    const read = takeHandshake(wire);
    assert.ok(read);
    const proof = proofFor(TOKEN, read.message);
    const after = new Uint8Array([1, 2, 3]);
    const answered = takeHandshake(new Uint8Array([...encodeHandshake(proof), ...after]));
    assert.ok(answered);
    assert.ok(provesHost(answered.message, TOKEN, asked.nonce));
    assert.deepEqual(answered.rest, after);
    // Half a message is not one yet.
    assert.equal(takeHandshake(wire.subarray(0, wire.length - 1)), undefined);
  });

  test("a peer that is not the host is refused: another token, or a proof replayed from another connection", () => {
    const asked = challenge();
    assert.equal(provesHost(proofFor(OTHER_TOKEN, asked.message), TOKEN, asked.nonce), false);
    const overheard = proofFor(TOKEN, challenge().message);
    assert.equal(provesHost(overheard, TOKEN, asked.nonce), false, "a proof is good for its own nonce only");
    assert.equal(provesHost({ step: "accepted" }, TOKEN, asked.nonce), false);
  });

  test("the session the host asks for is in its proof: a man in the middle cannot turn resume into fresh", () => {
    const asked = challenge();
    const resume = proofFor(TOKEN, asked.message);
    assert.ok(resume.step === "proof" && resume.session === "resume", "resume unless asked otherwise");
    assert.ok(provesHost(resume, TOKEN, asked.nonce));
    assert.equal(provesHost({ ...resume, session: "fresh" }, TOKEN, asked.nonce), false);
    assert.ok(provesHost(proofFor(TOKEN, asked.message, "fresh"), TOKEN, asked.nonce));
  });

  test("a message too long, continued, not JSON or not of the handshake is refused from what it is", () => {
    const refused = (bytes: Uint8Array, why: RegExp) =>
      assert.throws(
        () => takeHandshake(bytes),
        (e) => e instanceof HandshakeError && why.test(e.message),
      );
    // Refused from the header alone: the body never has to arrive.
    refused(frame("", MAX_HANDSHAKE_BYTES + 1), /at most 1024 bytes/);
    refused(frame("{}", 0x8000_0002), /one frame/);
    refused(frame("{not json"), /not JSON/);
    refused(frame(JSON.stringify({ v: 1, id: 1, call: "status", args: {} })), /step/);
    refused(frame(JSON.stringify({ step: "proof", session: "resume", mac: "0x12" })), /mac/);
    refused(
      frame(JSON.stringify({ step: "proof", session: "both", mac: `0x${"00".repeat(32)}` })),
      /session/,
    );
    refused(frame(JSON.stringify({ step: "challenge", v: 2, nonce: `0x${"00".repeat(32)}` })), /\.v/);
    refused(frame(JSON.stringify({ step: "accepted", extra: 1 })), /not a known field/);
  });

  test("a host token file too short to be a secret is refused, whitespace around it ignored", () => {
    assert.equal(hostToken(`  ${TOKEN}\n`, "host.token"), TOKEN);
    assert.throws(
      () => hostToken("x".repeat(MIN_HOST_TOKEN_CHARS - 1), "host.token"),
      /at least 32 characters .*openssl rand -hex 32 > host.token/,
    );
  });
});

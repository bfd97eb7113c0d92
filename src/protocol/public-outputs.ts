import { MAX_PUBLIC_OUTPUT_BYTES } from "../app/app.js";
import { decodeValue, encodeValue, type StateValue } from "../app/canonical.js";
import { MAX_BATCH_COMMANDS } from "./batch.js";
import { LARGEST_BUCKET, pad, unpad } from "./padding.js";

export const OUTPUTS_VERSION = 1;
const HEADER_BYTES = 3;
const SEQUENCE_BYTES = 8;
const LENGTH_BYTES = 2;
const ENTRY_OVERHEAD = SEQUENCE_BYTES + LENGTH_BYTES;
/** The most content a record holds (well inside the largest padding bucket). */
export const MAX_OUTPUTS_CONTENT_BYTES =
  HEADER_BYTES + MAX_BATCH_COMMANDS * (ENTRY_OVERHEAD + MAX_PUBLIC_OUTPUT_BYTES);

/** The most bytes of a record, padded: the contract's MAX_OUTPUTS_BYTES. */
export const MAX_OUTPUTS_RECORD_BYTES = LARGEST_BUCKET;

/** One command's public output: its sequence and what it published. */
export type PublicOutput = { readonly sequence: bigint; readonly output: StateValue };

export class OutputsFormatError extends Error {
  override name = "OutputsFormatError";
}

/** The padded record of a batch's outputs (at least one, in ledger order). */
export function encodeOutputs(outputs: readonly PublicOutput[]): Uint8Array {
  if (outputs.length === 0 || outputs.length > MAX_BATCH_COMMANDS)
    throw new OutputsFormatError(`a record holds 1 to ${MAX_BATCH_COMMANDS} outputs, not ${outputs.length}`);
  const encoded = outputs.map((o) => encodeValue(o.output));
  const size = encoded.reduce((sum, e) => sum + ENTRY_OVERHEAD + e.length, HEADER_BYTES);
  const content = new Uint8Array(size);
  const view = new DataView(content.buffer);
  view.setUint8(0, OUTPUTS_VERSION);
  view.setUint16(1, outputs.length);
  let at = HEADER_BYTES;
  let previous = -1n;
  for (const [i, { sequence }] of outputs.entries()) {
    const bytes = encoded[i]!;
    if (sequence <= previous) throw new OutputsFormatError("outputs must be in ledger order");
    if (bytes.length > MAX_PUBLIC_OUTPUT_BYTES)
      throw new OutputsFormatError(`output of command ${sequence} is over ${MAX_PUBLIC_OUTPUT_BYTES} bytes`);
    previous = sequence;
    view.setBigUint64(at, sequence);
    view.setUint16(at + SEQUENCE_BYTES, bytes.length);
    content.set(bytes, at + ENTRY_OVERHEAD);
    at += ENTRY_OVERHEAD + bytes.length;
  }
  return pad(content);
}

/** A record's outputs, decoded strictly (see the header); `OutputsFormatError` names what is wrong. */
export function decodeOutputs(record: Uint8Array): PublicOutput[] {
  let content: Uint8Array;
  try {
    content = unpad(record, MAX_OUTPUTS_CONTENT_BYTES);
  } catch (error) {
    throw new OutputsFormatError(`outputs padding: ${(error as Error).message}`);
  }
  const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
  const need = (at: number, bytes: number) => {
    if (at + bytes > content.length) throw new OutputsFormatError("outputs record is truncated");
  };
  need(0, HEADER_BYTES);
  if (view.getUint8(0) !== OUTPUTS_VERSION)
    throw new OutputsFormatError(`unknown outputs version ${view.getUint8(0)}`);
  const count = view.getUint16(1);
  if (count === 0 || count > MAX_BATCH_COMMANDS)
    throw new OutputsFormatError(`a record holds 1 to ${MAX_BATCH_COMMANDS} outputs, not ${count}`);
  const outputs: PublicOutput[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    need(at, ENTRY_OVERHEAD);
    const sequence = view.getBigUint64(at);
    const length = view.getUint16(at + SEQUENCE_BYTES);
    if (length > MAX_PUBLIC_OUTPUT_BYTES) throw new OutputsFormatError(`an output claims ${length} bytes`);
    if (outputs.length > 0 && sequence <= outputs[outputs.length - 1]!.sequence)
      throw new OutputsFormatError("outputs are not in ledger order");
    need(at + ENTRY_OVERHEAD, length);
    let output: StateValue;
    try {
      output = decodeValue(content.subarray(at + ENTRY_OVERHEAD, at + ENTRY_OVERHEAD + length));
    } catch (error) {
      throw new OutputsFormatError(`output of command ${sequence}: ${(error as Error).message}`);
    }
    outputs.push({ sequence, output });
    at += ENTRY_OVERHEAD + length;
  }
  if (at !== content.length) throw new OutputsFormatError("outputs record has trailing bytes");
  return outputs;
}

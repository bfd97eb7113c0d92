// Runs one call from the host: the name must be in the call table and the arguments must fit its
// schema before any handler sees them; a refusal carries a stable code. An unexpected error crosses
// as its class name only, since its message may quote internal data.
import { ParamError } from "../app/schema.js";
import { ENCLAVE_CALLS, isCallName } from "../boundary/calls.js";
import { type BoundaryRequest, type BoundaryResponse, EnclaveCallError } from "../boundary/frames.js";
import type { CallHandlers } from "./context.js";

/** The longest call name a refusal quotes back. */
const MAX_QUOTED_NAME = 64;

async function run(handlers: CallHandlers, name: string, args: unknown): Promise<unknown> {
  if (!isCallName(name))
    throw new EnclaveCallError(
      "unknown_call",
      `unknown call ${JSON.stringify(name).slice(0, MAX_QUOTED_NAME)}`,
    );
  let params: unknown;
  try {
    params = ENCLAVE_CALLS[name].params.parse(args, `${name} arguments`);
  } catch (error) {
    if (error instanceof ParamError) throw new EnclaveCallError("invalid_argument", error.message);
    throw error;
  }
  // The schema of `name` produced `params`, so they fit its handler; TypeScript cannot follow a
  // name known only at run time, hence this one widening.
  const handler = handlers[name] as (params: unknown) => unknown;
  return handler(params);
}

export async function dispatch(
  handlers: CallHandlers,
  request: BoundaryRequest,
  onInternalError: (kind: string) => void,
): Promise<BoundaryResponse> {
  try {
    return { id: request.id, ok: true, result: await run(handlers, request.call, request.args) };
  } catch (error) {
    if (error instanceof EnclaveCallError) {
      const { code, message, sealedReason } = error;
      return { id: request.id, ok: false, error: { code, message, sealedReason } };
    }
    const kind = error instanceof Error ? error.name : typeof error;
    onInternalError(kind);
    return {
      id: request.id,
      ok: false,
      error: { code: "internal", message: `internal enclave error (${kind})` },
    };
  }
}

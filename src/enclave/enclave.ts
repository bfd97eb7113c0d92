// The enclave: its context and one handler per call of the table in src/boundary/calls.ts, grouped
// by what they serve. Everything here runs inside the enclave process; the host reaches it only
// through `handle`, which checks each call's arguments against the table before any state is touched.
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import type { BoundaryRequest, BoundaryResponse } from "../boundary/frames.js";
import { appIdOf, appStateOf } from "../protocol/digests.js";
import { batchCalls } from "./calls/batches.js";
import { checkpointCalls } from "./calls/checkpoint.js";
import { commandCalls } from "./calls/commands.js";
import { eventCalls } from "./calls/events.js";
import { groupCalls } from "./calls/group.js";
import { identityCalls } from "./calls/identity.js";
import { outputsCalls } from "./calls/outputs.js";
import { peerAnnouncementCalls } from "./calls/peer-announcement.js";
import { publicQueryCalls } from "./calls/public-queries.js";
import { queryCalls } from "./calls/queries.js";
import { resumeCalls } from "./calls/resume.js";
import { snapshotCalls } from "./calls/snapshots.js";
import { emptyPieceCache } from "./checkpoint-pieces.js";
import { appIdentity, type CallHandlers, type EnclaveConfig, type EnclaveContext } from "./context.js";
import { dispatch } from "./dispatch.js";
import { GENESIS } from "./journal-chain.js";
import type { EnclaveIdentity, TeePlatform } from "./platform.js";
import { SignatureCheck } from "./signature-check.js";
import type { SignaturePool } from "./signature-pool.js";

export type { EnclaveConfig } from "./context.js";

export type Enclave = {
  /** Runs one call; calls must come one at a time (the state has a single writer). */
  handle(request: BoundaryRequest): Promise<BoundaryResponse>;
};

export type EnclaveOptions = {
  platform: TeePlatform;
  measured: EnclaveIdentity;
  config: EnclaveConfig;
  app: App<StateValue>;
  /** Told the class of an unexpected error (never its message, which may quote internal data). */
  onInternalError?: (kind: string, call: string) => void;
  /** Signature workers of this process (signature-pool.ts); without, every check runs inline. */
  signaturePool?: SignaturePool;
};

/** A fresh enclave's context: nothing restored, no session until `init`. */
export function enclaveContext({
  platform,
  measured,
  config,
  app,
  signaturePool,
}: EnclaveOptions): EnclaveContext {
  return {
    platform,
    measured,
    config,
    app,
    appId: appIdOf(appIdentity(app, config)),
    appState: appStateOf(appIdentity(app, config)),
    signatures: new SignatureCheck(),
    signaturePool,
    session: undefined,
    checkpoint: {
      lastFullSeal: 0,
      journalSeq: 0,
      journalHead: GENESIS,
      recordsSinceSnapshot: 0,
      restoreClosedBy: undefined,
      sealed: undefined,
    },
    pieces: emptyPieceCache(),
    batchSignatures: new Map(),
    snapshotBytes: new Map(),
    incomingSnapshot: undefined,
  };
}

export function createEnclave(options: EnclaveOptions): Enclave {
  const context = enclaveContext(options);
  const handlers: CallHandlers = {
    ...identityCalls(context),
    ...checkpointCalls(context),
    ...resumeCalls(context),
    ...eventCalls(context),
    ...groupCalls(context),
    ...commandCalls(context),
    ...batchCalls(context),
    ...queryCalls(context),
    ...publicQueryCalls(context),
    ...snapshotCalls(context),
    ...peerAnnouncementCalls(context),
    ...outputsCalls(context),
  };
  return {
    handle: (request) => dispatch(handlers, request, (kind) => options.onInternalError?.(kind, request.call)),
  };
}

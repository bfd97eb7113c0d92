// The enclave's state and its call table. Everything here runs inside the enclave process; the host
// reaches it only through `handle`, whose arguments are validated before any state is touched.
import { bytesToHex, type Hex, hexToBytes } from "viem";
import type { App } from "../app/app.js";
import type { StateValue } from "../app/canonical.js";
import { runQuery } from "../app/executor.js";
import { type EventPosition, isAfter, parseLedgerEvent } from "../boundary/chain-events.js";
import { BOUNDARY_VERSION, EnclaveCallError } from "../boundary/frames.js";
import {
  expectAddress,
  expectHex,
  expectInteger,
  expectObject,
  expectOnlyKeys,
  expectOptionalHex,
  invalid,
} from "../boundary/validate.js";
import { epochOf } from "../group/mls.js";
import { DEFAULT_BATCH_COMMANDS, MAX_BATCH_COMMANDS } from "../protocol/batch.js";
import {
  enclaveBinding,
  handshakeDigest,
  keyPackageDigest,
  type LedgerDomain,
  leaveDigest,
} from "../protocol/digests.js";
import type { QueryOutcome } from "../protocol/wire.js";
import {
  CommandRejected,
  MAX_SEALED_MESSAGE_BYTES,
  openCommand,
  openQuery,
  sealQueryAnswer,
  sealReceipt,
  type VerifiedCommand,
} from "./command-intake.js";
import {
  applyBatch,
  commandStatus,
  deserializeLedgerApp,
  enqueue,
  inFlightDigest,
  inFlightIn,
  inFlightOut,
  initialLedgerApp,
  LedgerAppError,
  type LedgerAppState,
  ledgerSummary,
  MAX_BATCHES_IN_FLIGHT,
  MAX_QUEUE,
  nextBatches,
  nextNonce,
  queuedIn,
  queuedOut,
  type SealedInFlight,
  type SealedLedgerApp,
  type SealedQueued,
  sealedInFlightList,
  serializeLedgerApp,
  settledHere,
  withJournal,
} from "./confidential-ledger.js";
import {
  applyGroupEvent,
  deserializeGroup,
  ensureKeyPackage,
  GroupFollowError,
  type GroupMemberState,
  groupSummary,
  INITIAL_GROUP_STATE,
  proposeCommit,
  type SealedGroupFields,
  serializeGroup,
} from "./group-member.js";
import {
  decodeKeys,
  type EnclaveKeys,
  encodeKeys,
  generateKeys,
  IDENTITY_SEAL_LABEL,
  type PublicIdentity,
  publicIdentity,
  signDigest,
} from "./identity.js";
import { type EnclaveIdentity, REPORT_DATA_BYTES, type TeePlatform } from "./platform.js";
import { SealingError, seal, unseal } from "./sealing.js";

/** A sealed identity is a few hundred bytes; anything much larger is not one. */
const MAX_SEALED_IDENTITY_BYTES = 4096;
const MAX_CHAIN_ID = 2 ** 48;

/** What the enclave was built with; it is inside the measured bundle, so changing it changes the measurement. */
export type EnclaveConfig = { app: string; platform: string; signerMeasurement: Hex; version: string };

type Session = {
  keys: EnclaveKeys;
  identity: PublicIdentity;
  domain: LedgerDomain;
  sealedIdentity: Hex;
  /** The last ledger event applied: the host resumes its follower right after it. */
  cursor: EventPosition | undefined;
  group: GroupMemberState;
  ledger: LedgerAppState;
};

const NODE_STATE_SEAL_LABEL = "node-state";
const JOURNAL_SEAL_LABEL = "command-journal";
/** The full state is sealed at most this often; the events after it are replayed after a restart. */
const FULL_SEAL_INTERVAL_MS = 30_000;
/** A journal holds a snapshot and a record per command queued since (twice that across a restart). */
const MAX_JOURNAL_RECORDS = 2 * (MAX_QUEUE + 1);
/** A snapshot is written after at least this many records (so a short queue is not snapshotted per batch either). */
const MIN_RECORDS_BETWEEN_SNAPSHOTS = 256;
const NODE_STATE_VERSION = 1;
const MAX_SEALED_STATE_BYTES = 16 * 1024 * 1024;
const MAX_EVENTS_PER_CALL = 10_000;
/** The enclave's signature as the contract takes it: r ‖ s ‖ v. */
const SIGNATURE_WITH_V_BYTES = 65;
/** The sequence a refusal receipt carries: it was never ordered. */
export const REFUSED_SEQUENCE = 2n ** 64n - 1n;
const REFUSED_MESSAGE = "the enclave refused the command; the reason is sealed to its response key";

/** A command's state as the host may see it; its receipt, if any, sealed to the sender's response key. */
async function statusAnswer(ledger: LedgerAppState, domain: LedgerDomain, id: Hex) {
  const status = commandStatus(ledger, id);
  if (!status) return undefined;
  if (!status.stored) return { id, status: status.status };
  const { receipt, responseKey } = status.stored;
  const sealed = await sealReceipt(responseKey, { ...receipt, command: id }, domain);
  return { id, status: status.status, sequence: receipt.sequence.toString(), receipt: bytesToHex(sealed) };
}

/** The runtime's own query, answered before the app's queries. */
export const NEXT_NONCE_QUERY = "nextNonce";

type SealedNodeState = {
  version: number;
  address: Hex;
  cursor: EventPosition | undefined;
  group: SealedGroupFields;
  ledger: SealedLedgerApp;
};

export type InitResult = PublicIdentity & {
  sealedIdentity: Hex;
  /** Why a new identity was made instead of unsealing one, if one was made. */
  created: "first-start" | "measurement-changed" | undefined;
};

/**
 * What a journal record holds: a snapshot of what awaits ordering, one command accepted since, or
 * the batches in flight since (which commands left the queue for which batch nonce).
 */
type JournalBody =
  | { kind: "snapshot"; queue: SealedQueued[]; inFlight: SealedInFlight[] }
  | { kind: "accepted"; queued: SealedQueued }
  | { kind: "batched"; inFlight: SealedInFlight[] };
/** A journal record as sealed; one written before records were numbered had no kind or seq. */
type JournalRecord = { version: number; address: Hex; seq: number } & JournalBody;

/** What the host keeps of a journal record: the sealed bytes, and (in clear) its order and kind. */
export type JournalEntry = { seq: number; kind: JournalRecord["kind"]; sealed: Hex };

export class Enclave {
  private session: Session | undefined;
  private lastFullSeal = 0;
  /** Signatures of the batches in flight, by ciphertext (recomputable, so never sealed). */
  private batchSignatures = new Map<Hex, Hex>();
  /** The order of journal records: restore continues after the highest it was given. */
  private journalSeq = 0;
  /** Records since the last snapshot: a new snapshot is due once they outnumber what it would hold. */
  private recordsSinceSnapshot = 0;

  constructor(
    private readonly platform: TeePlatform,
    private readonly measured: EnclaveIdentity,
    private readonly config: EnclaveConfig,
    private readonly app: App<StateValue>,
  ) {}

  async handle(call: string, args: unknown): Promise<unknown> {
    switch (call) {
      case "status":
        return this.status();
      case "init":
        return this.init(args);
      case "quote":
        return this.quote();
      case "signLeave":
        return this.signLeave();
      case "restoreState":
        return this.restoreState(args);
      case "keyPackage":
        return this.keyPackage();
      case "applyEvents":
        return this.applyEvents(args);
      case "proposeHandshake":
        return this.proposeHandshake(args);
      case "groupStatus":
        return this.groupStatus();
      case "submitCommand":
        return this.submitCommand(args);
      case "sealBatch":
        return this.sealBatch(args);
      case "commandStatus":
        return this.commandStatus(args);
      case "query":
        return this.query(args);
      default:
        throw new EnclaveCallError("unknown_call", `unknown call ${JSON.stringify(call).slice(0, 64)}`);
    }
  }

  private status() {
    return {
      boundaryVersion: BOUNDARY_VERSION,
      platform: this.platform.name,
      app: this.config.app,
      measurement: bytesToHex(this.measured.measurement),
      signerMeasurement: bytesToHex(this.measured.signerMeasurement),
      address: this.session?.identity.address,
    };
  }

  /**
   * Unseals the identity the host kept, or makes one. A blob sealed by another measurement (the
   * enclave was rebuilt) yields a new identity that must register again; a damaged blob is refused.
   */
  private async init(raw: unknown): Promise<InitResult> {
    const args = expectObject(raw, "init arguments");
    expectOnlyKeys(args, ["chainId", "contract", "sealedIdentity"], "init arguments");
    const domain: LedgerDomain = {
      chainId: expectInteger(args.chainId, "chainId", { min: 1, max: MAX_CHAIN_ID }),
      contract: expectAddress(args.contract, "contract"),
    };
    const sealed = expectOptionalHex(args.sealedIdentity, "sealedIdentity", {
      max: MAX_SEALED_IDENTITY_BYTES,
    });
    if (this.session) {
      // A host that retries gets the same answer; a host that changes the ledger domain is refused.
      const same =
        this.session.domain.chainId === domain.chainId &&
        this.session.domain.contract.toLowerCase() === domain.contract.toLowerCase();
      if (!same)
        throw new EnclaveCallError("already_initialized", "the enclave already serves another ledger");
      return { ...this.session.identity, sealedIdentity: this.session.sealedIdentity, created: undefined };
    }

    let keys: EnclaveKeys | undefined;
    let created: InitResult["created"];
    if (sealed) {
      try {
        keys = decodeKeys(
          await unseal(this.platform, this.measured, hexToBytes(sealed), { label: IDENTITY_SEAL_LABEL }),
        );
      } catch (error) {
        if (!(error instanceof SealingError))
          throw new EnclaveCallError("sealed_identity_invalid", "sealed identity is damaged");
        if (error.code !== "other-measurement")
          throw new EnclaveCallError("sealed_identity_invalid", error.reason);
        created = "measurement-changed";
      }
    } else {
      created = "first-start";
    }
    keys ??= generateKeys();
    const blob = await seal(this.platform, this.measured, encodeKeys(keys), { label: IDENTITY_SEAL_LABEL });
    const identity = publicIdentity(keys);
    const sealedIdentity = bytesToHex(blob);
    this.session = {
      keys,
      identity,
      domain,
      sealedIdentity,
      cursor: undefined,
      group: INITIAL_GROUP_STATE,
      ledger: initialLedgerApp(this.app),
    };
    return { ...identity, sealedIdentity, created };
  }

  private requireSession(): Session {
    if (!this.session) throw new EnclaveCallError("not_initialized", "call init first");
    return this.session;
  }

  /** Evidence whose report data binds this enclave's keys to the chain and contract it serves. */
  private async quote() {
    const { identity, domain } = this.requireSession();
    const reportData = new Uint8Array(REPORT_DATA_BYTES);
    reportData.set(hexToBytes(enclaveBinding(domain, identity.address, identity.hpkePublicKey)));
    const evidence = await this.platform.quote(reportData, this.measured);
    return {
      evidence: bytesToHex(evidence),
      reportData: bytesToHex(reportData),
      platform: this.platform.name,
    };
  }

  private async signLeave() {
    const { keys, domain } = this.requireSession();
    return { signature: await signDigest(keys, leaveDigest(domain)) };
  }

  private async sealState(session: Session): Promise<Hex> {
    this.lastFullSeal = Date.now();
    const state: SealedNodeState = {
      version: NODE_STATE_VERSION,
      address: session.identity.address,
      cursor: session.cursor,
      group: serializeGroup(session.group),
      ledger: serializeLedgerApp(session.ledger),
    };
    const blob = await seal(this.platform, this.measured, new TextEncoder().encode(JSON.stringify(state)), {
      label: NODE_STATE_SEAL_LABEL,
    });
    return bytesToHex(blob);
  }

  /**
   * The accepted-but-unordered commands (queue and batches in flight) are the only state that is
   * not on chain, so each change is journaled before the host answers: one small record per accepted
   * command and one per change of the batches in flight, appended; and a snapshot of queue and
   * batches once the records since the last one outnumber what it holds (the host then drops the
   * records before it), so a long queue is not rewritten for every batch. The full state is sealed at most every
   * FULL_SEAL_INTERVAL_MS (and on group changes): a restart replays the events after it.
   */
  private async journal(session: Session, record: JournalBody): Promise<JournalEntry> {
    const seq = ++this.journalSeq;
    this.recordsSinceSnapshot = record.kind === "snapshot" ? 0 : this.recordsSinceSnapshot + 1;
    const full: JournalRecord = {
      version: NODE_STATE_VERSION,
      address: session.identity.address,
      seq,
      ...record,
    };
    const blob = await seal(this.platform, this.measured, new TextEncoder().encode(JSON.stringify(full)), {
      label: JOURNAL_SEAL_LABEL,
    });
    return { seq, kind: record.kind, sealed: bytesToHex(blob) };
  }

  /** The record for a change of the batches in flight: a snapshot when one is due, else the batches alone. */
  private journalBatches(session: Session): Promise<JournalEntry> {
    const { queue, inFlight } = session.ledger;
    const live = queue.length + inFlight.reduce((n, b) => n + b.commands.length, 0);
    if (this.recordsSinceSnapshot < Math.max(MIN_RECORDS_BETWEEN_SNAPSHOTS, live))
      return this.journal(session, { kind: "batched", inFlight: inFlight.map(inFlightOut) });
    return this.journal(session, {
      kind: "snapshot",
      queue: queue.map(queuedOut),
      inFlight: inFlight.map(inFlightOut),
    });
  }

  private async unsealJson<T extends { version: number; address: Hex }>(
    sealed: Hex,
    label: string,
  ): Promise<T> {
    let value: T;
    try {
      const plain = await unseal(this.platform, this.measured, hexToBytes(sealed), { label });
      value = JSON.parse(new TextDecoder().decode(plain)) as T;
    } catch (error) {
      const reason = error instanceof SealingError ? error.reason : `sealed ${label} is damaged`;
      throw new EnclaveCallError("sealed_state_invalid", reason);
    }
    if (value.version !== NODE_STATE_VERSION || value.address !== this.requireSession().identity.address) {
      throw new EnclaveCallError(
        "sealed_state_invalid",
        `sealed ${label} belongs to another enclave identity or version`,
      );
    }
    return value;
  }

  /** Resumes from the state the host kept sealed: group state, registry view and event cursor. */
  private async restoreState(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw, "restoreState arguments");
    expectOnlyKeys(args, ["sealedState", "sealedJournal"], "restoreState arguments");
    const sealed = expectHex(args.sealedState, "sealedState", { min: 1, max: MAX_SEALED_STATE_BYTES });
    const journalBlobs = args.sealedJournal ?? [];
    if (!Array.isArray(journalBlobs) || journalBlobs.length > MAX_JOURNAL_RECORDS)
      throw invalid(`sealedJournal must be an array of at most ${MAX_JOURNAL_RECORDS} records`);
    const state = await this.unsealJson<SealedNodeState>(sealed, NODE_STATE_SEAL_LABEL);
    const records: JournalRecord[] = [];
    for (const blob of journalBlobs) {
      const hex = expectHex(blob, "sealedJournal record", { min: 1, max: MAX_SEALED_STATE_BYTES });
      const record = await this.unsealJson<JournalRecord>(hex, JOURNAL_SEAL_LABEL);
      // A journal written before records were numbered is one snapshot.
      records.push(
        record.kind ? record : ({ ...(record as object), kind: "snapshot", seq: 0 } as JournalRecord),
      );
    }
    records.sort((a, b) => a.seq - b.seq);
    const snapshot = records.findLast((r) => r.kind === "snapshot");
    const since = records.filter((r) => r.seq > (snapshot?.seq ?? -1) && r.kind !== "snapshot");
    const accepted = since.flatMap((r) => (r.kind === "accepted" ? [queuedIn(r.queued)] : []));
    const batched = since.findLast((r) => r.kind === "batched");
    session.group = await deserializeGroup(state.group, session.domain);
    session.ledger = withJournal(deserializeLedgerApp(state.ledger), {
      snapshot: snapshot && {
        queue: snapshot.queue.map(queuedIn),
        inFlight: sealedInFlightList(snapshot.inFlight).map(inFlightIn),
      },
      accepted,
      inFlight:
        batched?.kind === "batched" ? sealedInFlightList(batched.inFlight).map(inFlightIn) : undefined,
    });
    this.journalSeq = records.at(-1)?.seq ?? 0;
    this.recordsSinceSnapshot = since.length;
    session.cursor = state.cursor;
    this.lastFullSeal = Date.now();
    return {
      cursor: session.cursor,
      group: groupSummary(session.group, session.identity.address),
      ledger: ledgerSummary(session.ledger),
    };
  }

  private async keyPackage() {
    const session = this.requireSession();
    session.group = await ensureKeyPackage(session.group, session.identity.address);
    const keyPackage = session.group.keyPackage!;
    return {
      keyPackage,
      signature: await signDigest(session.keys, keyPackageDigest(session.domain, keyPackage)),
      sealedState: await this.sealState(session),
    };
  }

  /**
   * Applies ledger events in chain order. Events at or before the cursor are skipped (a host that
   * resends after a crash does no harm); a gap in the handshake chain is refused, and the call then
   * changes nothing.
   */
  private async applyEvents(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw, "applyEvents arguments");
    expectOnlyKeys(args, ["events"], "applyEvents arguments");
    if (!Array.isArray(args.events) || args.events.length > MAX_EVENTS_PER_CALL) {
      throw invalid(`events must be an array of at most ${MAX_EVENTS_PER_CALL}`);
    }
    const events = args.events.map(parseLedgerEvent);
    let group = session.group;
    let ledger = session.ledger;
    let cursor = session.cursor;
    let applied = 0;
    for (const event of events) {
      if (!isAfter(event, cursor)) continue;
      try {
        if (event.kind === "BatchSubmitted") {
          ledger = applyBatch(ledger, event, {
            app: this.app,
            domain: session.domain,
            self: session.identity.address,
            mlsEpoch: group.group ? epochOf(group.group) : undefined,
            epochKey: group.epochKey,
          });
        } else {
          group = await applyGroupEvent(group, event, session.identity.address, session.domain);
        }
      } catch (error) {
        if (error instanceof GroupFollowError || error instanceof LedgerAppError) {
          throw new EnclaveCallError("out_of_order", error.message);
        }
        throw error;
      }
      cursor = { block: event.block, logIndex: event.logIndex };
      applied++;
    }
    // The previous epoch's key goes: no batch of an epoch can be ordered after the handshake that ends it.
    if (session.group.epochKey && session.group.epochKey !== group.epochKey) session.group.epochKey.fill(0);
    const groupChanged = group !== session.group;
    // Answered at once for the host's waiting requests: the settled commands' receipts, sealed.
    const settled = await Promise.all(
      settledHere(session.ledger, ledger).map(
        async (id) => (await statusAnswer(ledger, session.domain, id)) ?? { id, status: "unknown" as const },
      ),
    );
    session.group = group;
    session.ledger = ledger;
    session.cursor = cursor;
    const due = groupChanged || Date.now() - this.lastFullSeal >= FULL_SEAL_INTERVAL_MS;
    return {
      applied,
      cursor,
      group: groupSummary(group, session.identity.address),
      ledger: ledgerSummary(ledger),
      settled,
      sealedState: due ? await this.sealState(session) : undefined,
    };
  }

  private async proposeHandshake(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw ?? {}, "proposeHandshake arguments");
    expectOnlyKeys(args, ["rotate"], "proposeHandshake arguments");
    const rotate = args.rotate === true;
    const proposal = await proposeCommit(session.group, session.identity.address, session.domain, rotate);
    const changed = proposal.state !== session.group;
    session.group = proposal.state;
    // Asked many times a second with nothing to do: seal only when something changed.
    const sealedState = changed ? await this.sealState(session) : undefined;
    if (!proposal.handshake)
      return { handshake: null, sealedState, group: groupSummary(session.group, session.identity.address) };
    const handshake = bytesToHex(proposal.handshake);
    const slot = session.group.slot;
    return {
      handshake,
      epoch: slot.toString(),
      signature: await signDigest(session.keys, handshakeDigest(session.domain, slot, handshake)),
      sealedState,
      group: groupSummary(session.group, session.identity.address),
    };
  }

  private groupStatus() {
    const session = this.requireSession();
    return {
      cursor: session.cursor,
      group: groupSummary(session.group, session.identity.address),
      ledger: ledgerSummary(session.ledger),
    };
  }

  /** Opens a sealed command, checks signature, nonce and params, and queues it. */
  private async submitCommand(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw, "submitCommand arguments");
    expectOnlyKeys(args, ["envelope"], "submitCommand arguments");
    const envelope = expectHex(args.envelope, "envelope", { min: 1, max: MAX_SEALED_MESSAGE_BYTES });
    let command: VerifiedCommand;
    try {
      command = await openCommand(session.keys.hpkePrivateKey, session.domain, hexToBytes(envelope), {
        app: this.app.name,
      });
    } catch (error) {
      // Refused before the content is known: the reason is about the envelope, not the plaintext.
      if (error instanceof CommandRejected) throw new EnclaveCallError(error.code, error.reason);
      throw error;
    }
    try {
      if (commandStatus(session.ledger, command.digest)) {
        throw new CommandRejected("replayed_nonce", "this command was already accepted");
      }
      session.ledger = enqueue(session.ledger, this.app, command);
      const queued = session.ledger.queue.at(-1)!;
      return {
        id: command.digest,
        journal: await this.journal(session, { kind: "accepted", queued: queuedOut(queued) }),
      };
    } catch (error) {
      if (!(error instanceof CommandRejected)) throw error;
      // The reason may name the command, a parameter or the sender's nonce: only the sender reads it.
      const sealed = await sealReceipt(
        command.responseKey,
        {
          command: command.digest,
          sequence: REFUSED_SEQUENCE,
          status: "failed",
          reason: `${error.code}: ${error.reason}`,
        },
        session.domain,
      );
      throw new EnclaveCallError(error.code, REFUSED_MESSAGE, bytesToHex(sealed));
    }
  }

  /** The batch the host should submit now, signed for the contract; null when there is nothing to send. */
  private async sealBatch(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw ?? {}, "sealBatch arguments");
    expectOnlyKeys(args, ["maxCommands", "maxInFlight", "known"], "sealBatch arguments");
    // Batches (by signature) whose ciphertext the host already holds: offered again without it.
    const knownArg = args.known ?? [];
    if (!Array.isArray(knownArg) || knownArg.length > MAX_BATCHES_IN_FLIGHT)
      throw invalid(`known must be an array of at most ${MAX_BATCHES_IN_FLIGHT} batch signatures`);
    const known = new Set(
      knownArg.map((k) =>
        expectHex(k, "known batch signature", {
          min: SIGNATURE_WITH_V_BYTES,
          max: SIGNATURE_WITH_V_BYTES,
        }).toLowerCase(),
      ),
    );
    const maxCommands = expectInteger(args.maxCommands ?? DEFAULT_BATCH_COMMANDS, "maxCommands", {
      min: 1,
      max: MAX_BATCH_COMMANDS,
    });
    const maxInFlight = expectInteger(args.maxInFlight ?? 1, "maxInFlight", {
      min: 1,
      max: MAX_BATCHES_IN_FLIGHT,
    });
    const { group, epochKey } = session.group;
    if (!group || !epochKey)
      return { batches: [], queued: session.ledger.queue.length, reason: "not a group member" };
    const next = nextBatches(
      session.ledger,
      { slot: session.group.slot, mlsEpoch: epochOf(group), epochKey, domain: session.domain },
      { maxCommands, maxInFlight },
    );
    const changed = next !== session.ledger;
    session.ledger = next;
    // Offered on every call until they land: each batch is hashed and signed once.
    const signatures = new Map<Hex, Hex>();
    for (const b of next.inFlight)
      signatures.set(
        b.ciphertext,
        this.batchSignatures.get(b.ciphertext) ??
          (await signDigest(session.keys, inFlightDigest(b, session.domain))),
      );
    this.batchSignatures = signatures;
    return {
      batches: next.inFlight.map((b) => {
        const signature = signatures.get(b.ciphertext)!;
        return {
          epoch: b.slot.toString(),
          nonce: b.nonce.toString(),
          ciphertext: known.has(signature.toLowerCase()) ? undefined : b.ciphertext,
          count: b.count,
          enclave: session.identity.address,
          signature,
        };
      }),
      queued: session.ledger.queue.length,
      journal: changed ? await this.journalBatches(session) : undefined,
    };
  }

  /** A command's state; its receipt comes sealed to the response key the user signed. */
  private async commandStatus(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw, "commandStatus arguments");
    expectOnlyKeys(args, ["id"], "commandStatus arguments");
    const id = expectHex(args.id, "id", { min: 32, max: 32 }).toLowerCase() as Hex;
    const answer = await statusAnswer(session.ledger, session.domain, id);
    if (!answer) throw new EnclaveCallError("not_found", "no command with this id is known here");
    return answer;
  }

  /** Answers a signed, sealed query; the answer is sealed to the caller's response key. */
  private async query(raw: unknown) {
    const session = this.requireSession();
    const args = expectObject(raw, "query arguments");
    expectOnlyKeys(args, ["envelope"], "query arguments");
    const envelope = expectHex(args.envelope, "envelope", { min: 1, max: MAX_SEALED_MESSAGE_BYTES });
    try {
      const now = BigInt(Math.floor(Date.now() / 1000));
      const query = await openQuery(session.keys.hpkePrivateKey, session.domain, hexToBytes(envelope), now, {
        app: this.app.name,
      });
      // `nextNonce` is the runtime's own query: the nonce a sender's next command must carry here.
      const outcome: QueryOutcome =
        query.name === NEXT_NONCE_QUERY
          ? { status: "ok", result: nextNonce(session.ledger, query.sender as Hex) }
          : runQuery(this.app, session.ledger.appState, {
              sender: query.sender,
              name: query.name,
              params: query.params,
            });
      const sealed = await sealQueryAnswer(
        query.responseKey,
        { ...outcome, query: query.digest },
        session.domain,
      );
      return { answer: bytesToHex(sealed) };
    } catch (error) {
      if (error instanceof CommandRejected) throw new EnclaveCallError(error.code, error.reason);
      throw error;
    }
  }
}

// The codes an enclave refusal may carry, and which of them cross the host in clear: the call table
// (calls.ts) names each call's, the host maps them to HTTP statuses (src/host/api/api-common.ts).
import type { WireErrorCode } from "../protocol/wire.js";

/**
 * Why the enclave refused a sealed command or query before it was ordered. These precise codes stay
 * inside the enclave and go to the sender sealed: only the `ENVELOPE_REFUSALS` cross the host in
 * clear; every refusal decided after the envelope is opened crosses as `refused`.
 */
export type CommandRejectionCode =
  | WireErrorCode
  | "wrong_app"
  | "bad_signature"
  | "replayed_nonce"
  | "nonce_gap"
  | "stale_query"
  | "future_query"
  | "queue_full"
  | "sender_queue_full";

/**
 * Refusals decided before decryption, from what the host sees anyway — the envelope's size and clear
 * header, whether it opens at all (an AEAD failure says nothing of a plaintext) — or from the node's
 * load (`queue_full`): they cross the host in clear.
 */
export const ENVELOPE_REFUSALS = [
  "too_large",
  "malformed",
  "unsupported_version",
  "wrong_kind",
  "wrong_domain",
  "undecryptable",
  "queue_full",
] as const satisfies readonly CommandRejectionCode[];
export type EnvelopeRefusalCode = (typeof ENVELOPE_REFUSALS)[number];
export const isEnvelopeRefusal = (code: string): code is EnvelopeRefusalCode =>
  (ENVELOPE_REFUSALS as readonly string[]).includes(code);
/**
 * The one code of every refusal decided after the envelope was opened (signature, app, domain signed,
 * nonce, params, query age, padding, ...): its precise code and reason are sealed to the sender.
 */
export const REFUSED = "refused";

/** Every code an enclave refusal may carry; `internal` hides an unexpected error's message. */
export type EnclaveErrorCode =
  | "malformed_frame"
  | "version_mismatch"
  | "frame_too_large"
  | "unknown_call"
  | "invalid_argument"
  | "internal"
  | "not_initialized"
  | "already_initialized"
  | "sealed_identity_invalid"
  | "sealed_state_invalid"
  | "restore_closed"
  | "journal_broken"
  | "out_of_order"
  /** An event whose head is not the event chain's over the fields fed (src/protocol/event-chain.ts). */
  | "event_mismatch"
  /**
   * This enclave's history is not the network's (it stopped at the event that showed it; `GroupView`
   * says which and why): it applies, signs and answers nothing more, whatever its host sends.
   */
  | "diverged"
  | "not_found"
  /**
   * A signed policy upgraded the network's app away from this enclave's (src/enclave/app-upgrade.ts):
   * it applies, takes and answers no command or query from the upgrade position on.
   */
  | "upgraded"
  /** A snapshot of the app this enclave upgrades from that it cannot migrate (no `migrate` for its version). */
  | "cannot_migrate"
  /** A public query was asked for a name the app does not declare public (or defines not at all). */
  | "not_public"
  | "stale_nonce"
  /** The ledger is not complete (it waits for its snapshot, or batches were ordered before it joined). */
  | "syncing"
  | "not_syncing"
  | "snapshot_invalid"
  | "snapshot_mismatch"
  /** Said by the host's handle (enclave-supervisor.ts) while no enclave process serves. */
  | "enclave_restarting"
  | "enclave_stopped"
  | EnvelopeRefusalCode
  | typeof REFUSED;

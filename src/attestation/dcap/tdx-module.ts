// TDX module identity and TCB, which @phala/dcap-qvl 0.3.9 does not check: the quote's MRSIGNERSEAM
// and SEAM attributes must match the module identity Intel lists in the TCB info, and the module's
// own TCB level (TDX 1.5+ modules) converges into the platform status. Mirrors Intel's QVL
// (TdxModuleCheck.cpp): module version = TEE_TCB_SVN[1], module ISV SVN = TEE_TCB_SVN[0].
import type { TcbStatusName } from "../verdict.js";
import { VerificationError } from "../verdict.js";
import { fromHex, sameBytes } from "./bytes.js";
import { TdReport10, TEE_TCB_SVN_MODULE_ISVSVN, TEE_TCB_SVN_MODULE_VERSION } from "./layout.js";
import type { TdReportBody } from "./quote.js";
import { parseTcbStatus } from "./tcb-status.js";

type ModuleIdentity = { mrsigner: Uint8Array; attributes: Uint8Array; attributesMask: Uint8Array };
type ModuleLevel = { isvsvn: number; status: TcbStatusName; advisoryIds: string[] };

const MODULE_ID_PREFIX = "TDX_";
const HEX_RADIX = 16;
const MODULE_ID_DIGITS = 2;

/** The module's TCB status (UpToDate for TDX 1.0 modules, which have no levels) and advisories. */
export function evaluateTdxModule(
  tcbInfo: Readonly<Record<string, unknown>>,
  body: TdReportBody,
): { status: TcbStatusName; advisoryIds: string[] } {
  const version = body.teeTcbSvn[TEE_TCB_SVN_MODULE_VERSION]!;
  const isvsvn = body.teeTcbSvn[TEE_TCB_SVN_MODULE_ISVSVN]!;
  let expected = parseIdentity(tcbInfo.tdxModule, "tdxModule");
  let level: ModuleLevel = { isvsvn: 0, status: "UpToDate", advisoryIds: [] };
  if (version > 0) {
    const id = MODULE_ID_PREFIX + version.toString(HEX_RADIX).toUpperCase().padStart(MODULE_ID_DIGITS, "0");
    const identities = tcbInfo.tdxModuleIdentities;
    if (!Array.isArray(identities)) {
      throw new VerificationError("collateral: tcb_info.tdxModuleIdentities missing");
    }
    const entry = identities.find((x) => typeof x?.id === "string" && x.id.toUpperCase() === id) as unknown;
    if (entry === undefined) throw new VerificationError(`TDX module ${id} not listed in the TCB info`);
    expected = parseIdentity(entry, id);
    const levels = parseLevels((entry as Record<string, unknown>).tcbLevels, id);
    // Levels are listed from newest to oldest: the first one the module's SVN reaches applies.
    const match = levels.find((l) => isvsvn >= l.isvsvn);
    if (match === undefined) {
      throw new VerificationError(`TDX module ${id} SVN ${isvsvn} below every TCB level`);
    }
    level = match;
  }
  if (!sameBytes(body.mrSignerSeam, expected.mrsigner)) {
    throw new VerificationError("TDX module MRSIGNERSEAM does not match the TCB info");
  }
  for (let i = 0; i < TdReport10.attributesSize; i++) {
    const mask = expected.attributesMask[i]!;
    if ((body.seamAttributes[i]! & mask) !== (expected.attributes[i]! & mask)) {
      throw new VerificationError("TDX module SEAM attributes do not match the TCB info");
    }
  }
  if (level.status === "Revoked") throw new VerificationError("TDX module TCB level is revoked");
  return { status: level.status, advisoryIds: level.advisoryIds };
}

/** Intel QVL's convergence: an out-of-date module makes the platform at best out of date. */
export function convergeWithModule(platform: TcbStatusName, module: TcbStatusName): TcbStatusName {
  if (module !== "OutOfDate") return platform;
  if (platform === "UpToDate" || platform === "SWHardeningNeeded") return "OutOfDate";
  if (platform === "ConfigurationNeeded" || platform === "ConfigurationAndSWHardeningNeeded") {
    return "OutOfDateConfigurationNeeded";
  }
  return platform;
}

function parseIdentity(value: unknown, label: string): ModuleIdentity {
  const obj = (value ?? {}) as Record<string, unknown>;
  const hex = (key: string, size: number): Uint8Array => {
    const v = obj[key];
    const bytes = typeof v === "string" ? fromHex(v) : undefined;
    if (bytes === undefined || bytes.length !== size) {
      throw new VerificationError(`collateral: tcb_info ${label}.${key} malformed`);
    }
    return bytes;
  };
  return {
    mrsigner: hex("mrsigner", TdReport10.registerSize),
    attributes: hex("attributes", TdReport10.attributesSize),
    attributesMask: hex("attributesMask", TdReport10.attributesSize),
  };
}

function parseLevels(value: unknown, label: string): ModuleLevel[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new VerificationError(`collateral: tcb_info ${label}.tcbLevels missing`);
  }
  return value.map((entry: unknown) => {
    const level = (entry ?? {}) as { tcb?: { isvsvn?: unknown }; tcbStatus?: unknown; advisoryIDs?: unknown };
    const isvsvn = level.tcb?.isvsvn;
    const advisories = level.advisoryIDs ?? [];
    if (
      typeof isvsvn !== "number" ||
      !Number.isInteger(isvsvn) ||
      !Array.isArray(advisories) ||
      !advisories.every((a) => typeof a === "string")
    ) {
      throw new VerificationError(`collateral: tcb_info ${label}.tcbLevels malformed`);
    }
    return { isvsvn, status: parseTcbStatus(level.tcbStatus, label), advisoryIds: advisories as string[] };
  });
}

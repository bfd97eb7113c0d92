import { type PlatformName, TcbStatus, type TcbStatusName, type Verdict } from "./verdict.js";

/** What the attestation service accepts before it signs a report. */
export type AttestationPolicy = {
  name: string;
  platforms: readonly PlatformName[];
  /** TCB statuses accepted; for statuses other than UpToDate, `advisories` may narrow further. */
  tcbStatuses: readonly TcbStatusName[];
  /** If set, every advisory a verdict names must be in this list. */
  allowedAdvisories?: readonly string[];
  debugAllowed: boolean;
  /**
   * The highest SEV-SNP VMPL whose report is accepted (default 0: only the guest kernel's own; a
   * report asked for from VMPL 1-3 comes from a less privileged part of the VM, e.g. under an SVSM).
   */
  maxVmpl?: number;
  /** Evidence older than this (by its own timestamp) is refused. */
  maxEvidenceAgeSeconds: number;
};

/** Highest VMPL there is: a development policy accepts any. */
const ANY_VMPL = 3;

/** Real hardware only, current TCB only, no debug enclaves. */
export const PRODUCTION_POLICY: AttestationPolicy = {
  name: "production",
  platforms: ["sgx", "tdx", "nitro", "sev-snp"],
  tcbStatuses: ["UpToDate"],
  debugAllowed: false,
  maxEvidenceAgeSeconds: 24 * 3600,
};

/** The local network's policy: admits the simulated platform, which is debug by nature. */
export const DEVELOPMENT_POLICY: AttestationPolicy = {
  name: "development",
  platforms: ["sim", "sgx", "tdx", "nitro", "sev-snp"],
  tcbStatuses: Object.keys(TcbStatus) as TcbStatusName[],
  debugAllowed: true,
  maxVmpl: ANY_VMPL,
  maxEvidenceAgeSeconds: 24 * 3600,
};

export class PolicyRejection extends Error {
  override name = "PolicyRejection";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Why `verdict`'s VMPL is beyond what `policy` accepts, if it is; `by` names the judge. */
export function vmplRefusal(
  policy: Pick<AttestationPolicy, "name" | "maxVmpl">,
  verdict: Pick<Verdict, "vmpl">,
  by = `the ${policy.name} policy`,
): string | undefined {
  const max = policy.maxVmpl ?? 0;
  if (verdict.vmpl === undefined || verdict.vmpl <= max) return undefined;
  return `a report from VMPL ${verdict.vmpl} is not the guest kernel's own: at most VMPL ${max} is accepted by ${by}`;
}

/** Throws a PolicyRejection naming the first rule the verdict breaks. */
export function enforcePolicy(policy: AttestationPolicy, verdict: Verdict, now: Date): void {
  if (!policy.platforms.includes(verdict.platform)) {
    throw new PolicyRejection(`platform ${verdict.platform} is not accepted by the ${policy.name} policy`);
  }
  if (verdict.debug && !policy.debugAllowed) {
    throw new PolicyRejection(`debug enclaves are not accepted by the ${policy.name} policy`);
  }
  const vmpl = vmplRefusal(policy, verdict);
  if (vmpl) throw new PolicyRejection(vmpl);
  if (!policy.tcbStatuses.includes(verdict.tcbStatus)) {
    throw new PolicyRejection(
      `TCB status ${verdict.tcbStatus}${verdict.advisoryIds.length ? ` (${verdict.advisoryIds.join(", ")})` : ""} is not accepted by the ${policy.name} policy`,
    );
  }
  const unlisted = policy.allowedAdvisories
    ? verdict.advisoryIds.filter((a) => !policy.allowedAdvisories?.includes(a))
    : [];
  if (unlisted.length > 0) throw new PolicyRejection(`advisories not accepted: ${unlisted.join(", ")}`);
  if (verdict.issuedAt) {
    const age = (now.getTime() - verdict.issuedAt.getTime()) / 1000;
    if (age > policy.maxEvidenceAgeSeconds) {
      throw new PolicyRejection(
        `evidence is ${Math.round(age)} s old, over the ${policy.maxEvidenceAgeSeconds} s limit`,
      );
    }
  }
}

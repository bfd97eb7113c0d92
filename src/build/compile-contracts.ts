import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import solc from "solc";

/** The EVM version is pinned so the bytecode runs the same on Anvil and on any real node. */
export const EVM_VERSION = "cancun";
export const OPTIMIZER_RUNS = 200;

export type CompiledContract = {
  name: string;
  abi: unknown[];
  bytecode: `0x${string}`;
};

export class SolidityCompileError extends Error {
  override name = "SolidityCompileError";
}

/** Compiles every `*.sol` file of a folder with solc-js (offline: the compiler ships in the npm package). */
export function compileContracts(folder: string): CompiledContract[] {
  const sources: Record<string, { content: string }> = {};
  for (const file of readdirSync(folder)
    .filter((f) => f.endsWith(".sol"))
    .sort()) {
    sources[file] = { content: readFileSync(join(folder, file), "utf8") };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      viaIR: true,
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new SolidityCompileError(errors.map((e) => e.formattedMessage).join("\n"));
  const compiled: CompiledContract[] = [];
  for (const file of Object.keys(output.contracts).sort()) {
    for (const [name, c] of Object.entries(output.contracts[file] ?? {})) {
      compiled.push({ name, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` });
    }
  }
  return compiled;
}

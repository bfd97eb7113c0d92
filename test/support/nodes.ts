// Nodes (host + enclave process) a test starts itself, each kept with the options it was started
// with: a restart is a fresh host process on the same data directory, with the same options.
import { EnclaveNode, type EnclaveNodeOptions } from "../../src/host/node-host.js";

export class TestNodes {
  readonly #options = new Map<EnclaveNode, EnclaveNodeOptions>();

  /** Starts a node; `stopAll` stops it unless the test stopped it first. */
  async start(options: EnclaveNodeOptions): Promise<EnclaveNode> {
    const node = new EnclaveNode(options);
    this.#options.set(node, options);
    await node.start();
    return node;
  }

  /** The options `node` was started with. */
  optionsOf(node: EnclaveNode): EnclaveNodeOptions {
    const options = this.#options.get(node);
    if (!options) throw new Error("not a node these fixtures started");
    return options;
  }

  async stop(node: EnclaveNode): Promise<void> {
    this.#options.delete(node);
    await node.stop();
  }

  /**
   * Stops `node`, runs `whileDown` (what happens in the network meanwhile), and starts it again on
   * its data directory with its options (those it was started with unless given: a node these
   * fixtures did not start), as a fresh host process would; returns the new node.
   */
  async restart(
    node: EnclaveNode,
    whileDown?: () => Promise<void>,
    options: EnclaveNodeOptions = this.optionsOf(node),
  ): Promise<EnclaveNode> {
    await this.stop(node);
    await whileDown?.();
    return this.start(options);
  }

  async stopAll(): Promise<void> {
    for (const node of [...this.#options.keys()].reverse()) await this.stop(node);
  }
}

// A request to a node's API from the CLI; an error answer becomes an error with the node's code.
import { OperatorError } from "../operator/operator-checks.js";

export async function nodeRequest(
  node: string,
  method: "GET" | "POST",
  path: string,
  headers: Record<string, string> = {},
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, node), { method, headers });
  } catch (error) {
    throw new OperatorError(
      "node_unreachable",
      `the node ${node} does not answer (${(error as Error).message})`,
    );
  }
  const body = (await res.json()) as { code?: string; message?: string };
  if (!res.ok) throw new OperatorError(body.code ?? `http_${res.status}`, body.message ?? res.statusText);
  return body;
}

// A request to a node's API from the CLI: its answer parsed by the route's schema (a node is trusted
// for nothing: a wrong type is `malformed`, never printed as if it were right); an error answer
// becomes an error with the node's code.
import { ParamError, type Schema } from "../app/schema.js";
import { OperatorError } from "../operator/operator-checks.js";

export async function nodeRequest<T>(
  node: string,
  method: "GET" | "POST",
  path: string,
  schema: Schema<T>,
  headers: Record<string, string> = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, node), { method, headers });
  } catch (error) {
    throw new OperatorError(
      "node_unreachable",
      `the node ${node} does not answer (${(error as Error).message})`,
    );
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new OperatorError(
      res.ok ? "malformed" : `http_${res.status}`,
      `${node} answered ${path} with a body that is not JSON`,
    );
  }
  if (!res.ok) {
    const refusal =
      typeof body === "object" && body !== null ? (body as { code?: unknown; message?: unknown }) : {};
    throw new OperatorError(
      typeof refusal.code === "string" ? refusal.code : `http_${res.status}`,
      typeof refusal.message === "string" ? refusal.message : res.statusText,
    );
  }
  try {
    return schema.parse(body, "answer");
  } catch (error) {
    if (error instanceof ParamError)
      throw new OperatorError("malformed", `${node} answered ${path} with ${error.message}`);
    throw error;
  }
}

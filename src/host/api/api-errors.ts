// The node API's one error shape, `{code, message}`, for every refusal whichever layer decides it:
// the routes, fastify (body parsing, schema validation, unknown routes, bad URLs) and Node's HTTP
// parser (headers too large, not HTTP). Codes are the API's own, stable and snake_case, never
// fastify's internal `FST_ERR_*`: clients branch on them, and a flood of junk must get answers that
// say what was wrong with it (issue #15). Messages never echo a request back at length.
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type {} from "@fastify/rate-limit";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isOutage } from "../../chain/failover-transport.js";
import { MAX_SEALED_MESSAGE_BYTES } from "../../protocol/envelope.js";
import { firstLine, type Logger } from "../log.js";
import { EMPTY_BODY_LIMIT, isUnavailable, replyUnavailable } from "./api-common.js";

/** What the API calls fastify's refusals of a request it could not take (each a 4xx). */
const FRAMEWORK_CODES: Readonly<Record<string, string>> = {
  FST_ERR_VALIDATION: "invalid_request",
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid_json",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid_content_length",
  FST_ERR_CTP_BODY_TOO_LARGE: "body_too_large",
  FST_ERR_BAD_URL: "bad_url",
  FST_ERR_MAX_PARAM_LENGTH: "url_too_long",
};
/** The code of a refusal fastify decided that the table above does not name. */
const FRAMEWORK_FALLBACK_CODE = "bad_request";
/** The most of a request's path an answer names (a flood's URLs are not worth sending back whole). */
const PATH_SHOWN_CHARS = 100;

const shownPath = (url: string) => {
  const path = url.split("?")[0] ?? "";
  return path.length > PATH_SHOWN_CHARS ? `${path.slice(0, PATH_SHOWN_CHARS)}…` : path;
};

/** The API's code and message for an error a route or fastify threw while answering `request`. */
function apiError(
  error: FastifyError,
  request: FastifyRequest,
): { status: number; code: string; message: string } {
  const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
  // Internal errors are reported by kind only: their messages may name internal data.
  if (status >= 500) return { status, code: "internal", message: "internal error" };
  const code =
    FRAMEWORK_CODES[error.code] ?? (error.code?.startsWith("FST_") ? FRAMEWORK_FALLBACK_CODE : error.code);
  switch (code) {
    case "body_too_large":
      return {
        status: 413,
        code,
        message:
          `node API body limit: at most ${request.routeOptions.bodyLimit ?? EMPTY_BODY_LIMIT} bytes on this route ` +
          `(a sealed command or query is at most ${MAX_SEALED_MESSAGE_BYTES} bytes)`,
      };
    case "unsupported_media_type":
      return { status, code, message: "the node API reads bodies of content type application/json only" };
    case "bad_url":
      return { status, code, message: `the path ${shownPath(request.url)} is not a valid URL` };
    case "url_too_long":
      return { status, code, message: "a path parameter is longer than any this API takes" };
    default:
      return { status, code: code ?? FRAMEWORK_FALLBACK_CODE, message: error.message };
  }
}

/** Seconds a client waits before asking again while the node's chain RPC does not answer. */
const CHAIN_RETRY_AFTER_S = 5;

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A status or admin route whose enclave call met a restart: 503 like the command routes.
  const unavailable = replyUnavailable(reply, error);
  if (unavailable) return unavailable;
  // The chain does not answer: "not now", never a 500.
  if (isOutage(error))
    return reply.code(503).header("retry-after", String(CHAIN_RETRY_AFTER_S)).send({
      code: "chain_unavailable",
      // Not which RPC: the operator's own endpoint is no client's business (--public-rpc is).
      message: "the node's chain RPC does not answer; ask again later",
    });
  const { status, code, message } = apiError(error, request);
  return reply.code(status).send({ code, message });
}

/** fastify's `frameworkErrors`: refusals it decides before routing (a URL it cannot decode), in the API's shape. */
export const frameworkErrors = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
  sendError(error, request, reply);
};

/**
 * fastify's `clientErrorHandler`: Node's HTTP parser refused what came in on `socket` (headers past
 * its limit, bytes that are not HTTP, a request it timed out), so no route ever sees it. Answered
 * in the API's shape, then the connection is closed: nothing more on it can be read reliably.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // The client is gone: there is nobody to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers_too_large", "the request's headers (and URL) are larger than the node API reads"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "request_timeout", "the request did not arrive in time"]
        : [400, "bad_http", "the request is not HTTP/1.1 the node API reads"];
  const body = JSON.stringify({ code, message });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(error);
}

/**
 * Every refusal of `app` in the API's shape: thrown errors, and routes it does not have. Call it
 * after registering `@fastify/rate-limit`: unknown routes count against a client's rate too (the
 * plugin's own hook runs on routes only, so a flood of them would otherwise go unlimited).
 */
export function registerErrorShape(app: FastifyInstance, log?: Logger): void {
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    // The client hears "internal error" only; the operator's log says what it was (no request data).
    if (isOutage(error))
      log?.warn(
        { route: request.routeOptions.url, error: firstLine(error) },
        "the chain RPC does not answer",
      );
    else if (!(error.statusCode && error.statusCode < 500) && !isUnavailable(error))
      log?.error(
        { route: request.routeOptions.url, error: firstLine(error) },
        "internal error answering a request",
      );
    return sendError(error, request, reply);
  });
  app.after(() =>
    app.setNotFoundHandler({ preHandler: app.rateLimit() }, (request, reply) =>
      reply.code(404).send({
        code: "route_not_found",
        message: `the node API has no route ${request.method} ${shownPath(request.url)}`,
      }),
    ),
  );
}

// HTTP/1.1 to the local agent over its unix socket (POLICY-INTEGRATION.md, "Local agent API"),
// bounded by the invocation's deadline. A socket that is missing, refuses, resets or does not
// answer in time is error 11: the runtime tries again later.
import { request } from 'node:http';
import { CNI_ERROR, CniError } from './errors.js';

/** The most of an answer the plugin reads: an endpoint is a few KiB. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface AgentAnswer {
  status: number;
  /** The JSON body, or undefined when there is none or it is not JSON. */
  body: unknown;
}

export type AgentCall = (method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) => Promise<AgentAnswer>;

/** A caller for one agent socket; every call must answer before `deadline` (ms since the epoch). */
export function agentCaller(socketPath: string, deadline: number): AgentCall {
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        socketPath,
        method,
        path,
        headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      });
      const unreachable = (why: string) => new CniError(CNI_ERROR.tryAgainLater, `idplane agent at ${socketPath} unreachable: ${why}`, `${method} ${path}`);
      const timer = setTimeout(() => req.destroy(unreachable(`no answer to ${method} ${path} within the timeout`)), Math.max(0, deadline - Date.now()));
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e instanceof CniError ? e : unreachable((e as NodeJS.ErrnoException).code ?? e.message));
      });
      req.on('response', (res) => {
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e instanceof CniError ? e : unreachable(e.message));
        });
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new CniError(CNI_ERROR.agentRefused, `idplane agent answered ${method} ${path} with over ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.end(payload);
    });
}

// The agent's local API: Cilium's endpoint API shape on a unix socket (mode 0600), for idplane-cni
// as cilium-cni talks to cilium-agent. A create, label change or delete goes to the control plane
// with the node's token, then answers only once this agent's own feed follower has applied the
// revision the control plane answered with: the node's maps then hold the endpoint's lxc and
// ipcache entries and its complete policy map (or no longer hold them, for a delete). Errors are
// `{"error": {code, message}}`; the control plane's pass through with their status.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Endpoint } from '../../api/endpoints.js';
import type { ReferenceDatapath } from '../../datapath/reference-datapath.js';
import { ApiError, type ApiClient } from '../api-client.js';
import type { AppliedRevision } from './applied-revision.js';
import { mergePodLabels, PodLookupError, type PodLabelSource } from './pod-labels.js';

const MAX_BODY_BYTES = 1024 * 1024;
/** Connections served at once: a runaway client cannot exhaust the agent's descriptors. */
const MAX_CONNECTIONS = 256;

export interface LocalApiOptions {
  node: string;
  /** The control plane with the node's token (the agent's current client). */
  api: () => ApiClient;
  revision: AppliedRevision;
  /** How long a change waits for the maps before answering 504 `sync-timeout`. */
  syncTimeoutMs: number;
  /** What of a local endpoint's map entries is not as written (see datapath-check.ts). */
  datapathProblems?: (ep: Endpoint) => string[];
  /** With a kubeconfig: a create's pod labels come from the Kubernetes API. */
  podLabels?: PodLabelSource;
  /** The reference datapath, which a create asks for with `?datapath=reference` (BPF backend only). */
  datapath?: ReferenceDatapath;
  logger: Logger;
}

class LocalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Past the limit the rest is read and dropped (bounded by the request timeout), so that the
    // caller, still writing, gets the answer.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw new LocalError(413, 'body-too-large', `request body over ${MAX_BODY_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch (e) {
    throw new LocalError(400, 'invalid-request', `body: malformed JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new LocalError(400, 'invalid-request', 'body: must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** A failure as the local API answers it. */
function toLocalError(e: unknown): LocalError {
  if (e instanceof LocalError) return e;
  if (e instanceof PodLookupError) return new LocalError(e.status, e.code, e.message);
  if (e instanceof ApiError) return new LocalError(e.status, e.code, e.message);
  // fetch failed (refused, reset, DNS) or the client's timeout: the control plane is not there.
  const name = (e as Error).name;
  if ((e instanceof TypeError && e.message === 'fetch failed') || name === 'TimeoutError' || name === 'AbortError') {
    return new LocalError(503, 'control-plane-unavailable', `the control plane did not answer: ${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message}`);
  }
  return new LocalError(500, 'internal-error', (e as Error).message);
}

export class LocalApi {
  private server: Server | undefined;
  private path: string | undefined;

  constructor(private readonly o: LocalApiOptions) {}

  private endpointPath(ref: string): string {
    return `/nodes/${encodeURIComponent(this.o.node)}/endpoints/${encodeURIComponent(ref)}`;
  }

  /** Waits until the maps hold `revision`; 504 when they do not within the sync timeout. */
  private async synced(revision: number | undefined, signal: AbortSignal): Promise<void> {
    if (revision === undefined) return;
    if (!(await this.o.revision.reach(revision, this.o.syncTimeoutMs, signal))) {
      throw new LocalError(504, 'sync-timeout', `the node's maps did not reach revision ${revision} within ${this.o.syncTimeoutMs / 1000} s (they hold ${this.o.revision.value})`);
    }
  }

  /** A create's body with its pod's labels from the Kubernetes API (with a kubeconfig). */
  private async withPodLabels(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { 'k8s-namespace': namespace, 'k8s-pod-name': pod, labels = [] } = body;
    if (!this.o.podLabels || typeof namespace !== 'string' || typeof pod !== 'string') return body;
    // Labels that are not a list of strings: the control plane refuses them as they are.
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) return body;
    return { ...body, labels: mergePodLabels(labels, await this.o.podLabels(namespace, pod)) };
  }

  /** A local endpoint with whether the maps hold it as written: `datapath.in-sync` and the problems. */
  private withDatapath(ep: Endpoint): Endpoint & { datapath?: { 'in-sync': boolean; problems: string[] } } {
    if (!this.o.datapathProblems || ep.node !== this.o.node) return ep;
    const problems = this.o.datapathProblems(ep);
    return { ...ep, datapath: { 'in-sync': problems.length === 0, problems } };
  }

  /** The host interface a create with `?datapath=reference` attaches to; refused before anything changes. */
  private datapathInterface(url: URL, body: Record<string, unknown>): string | undefined {
    const wanted = url.searchParams.get('datapath');
    if (wanted === null) return undefined;
    if (wanted !== 'reference') throw new LocalError(400, 'invalid-request', `datapath: ${JSON.stringify(wanted)} is not a datapath (the one there is: reference)`);
    if (!this.o.datapath) throw new LocalError(400, 'datapath-unavailable', 'the reference datapath needs the bpf backend');
    const ifname = body['interface-name'];
    if (typeof ifname !== 'string' || ifname === '') throw new LocalError(400, 'invalid-request', "datapath=reference needs the pod's host-side interface-name");
    return ifname;
  }

  /**
   * A create with the datapath: the programs are attached once the maps hold the endpoint and its
   * complete policy map, before the create answers. A failed attach fails the create (the CNI
   * ADD fails and the runtime's DEL removes the endpoint).
   */
  private async create(path: string, url: URL, req: IncomingMessage, signal: AbortSignal): Promise<[number, Endpoint]> {
    const body = await this.withPodLabels(await readJsonObject(req));
    const ifname = this.datapathInterface(url, body);
    const [status, ep] = await this.change('PUT', path, body, signal);
    if (ifname !== undefined) {
      const started = performance.now();
      try {
        await this.o.datapath!.attach(ep.id, ifname);
        this.o.logger.info({ endpoint: ep.id, interface: ifname, ms: Math.round(performance.now() - started) }, 'reference datapath attached');
      } catch (e) {
        throw new LocalError(500, 'datapath-attach-failed', `endpoint ${ep.id} on ${ifname}: ${(e as Error).message}`);
      }
    }
    return [status, ep];
  }

  /** A delete; the datapath, if the endpoint had it, is taken off once the maps no longer hold it. */
  private async remove(path: string, signal: AbortSignal): Promise<[number, Endpoint]> {
    const [status, ep] = await this.change('DELETE', path, undefined, signal);
    if (this.o.datapath?.attached(ep.id)) await this.o.datapath.detach(ep.id, ep['interface-name']);
    return [status, ep];
  }

  /** A change through the control plane, answered once the maps hold its revision. */
  private async change(method: string, path: string, body: unknown, signal: AbortSignal): Promise<[number, Endpoint]> {
    const { status, body: ep } = await this.o.api().exchange<Endpoint>(method, path, body, signal);
    await this.synced(ep.revision, signal);
    return [status, ep];
  }

  private async route(req: IncomingMessage, signal: AbortSignal): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    const method = req.method ?? 'GET';
    if (parts[0] !== 'v1') throw new LocalError(404, 'not-found', `no route ${method} ${url.pathname}`);
    if (parts.length === 2 && parts[1] === 'healthz' && method === 'GET') {
      return [200, { status: 'ok', node: this.o.node, 'applied-revision': this.o.revision.value }];
    }
    if (parts[1] === 'endpoint' && parts.length === 2 && method === 'GET') {
      return [200, { endpoints: await this.o.api().listNodeEndpoints(this.o.node) }];
    }
    if (parts[1] === 'endpoint' && parts.length === 3) {
      const path = this.endpointPath(parts[2]!);
      switch (method) {
        case 'PUT':
          return this.create(path, url, req, signal);
        case 'GET':
          return [200, this.withDatapath(await this.o.api().request<Endpoint>('GET', path, undefined, signal))];
        case 'DELETE':
          return this.remove(path, signal);
      }
    }
    if (parts[1] === 'endpoint' && parts.length === 4 && parts[3] === 'labels' && method === 'PATCH') {
      return this.change('PATCH', `${this.endpointPath(parts[2]!)}/labels`, await readJsonObject(req), signal);
    }
    throw new LocalError(404, 'not-found', `no route ${method} ${url.pathname}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A caller that goes away (the CNI plugin timed out) stops waiting for the maps.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    let status: number;
    let body: unknown;
    try {
      [status, body] = await this.route(req, gone.signal);
    } catch (e) {
      const err = toLocalError(e);
      if (err.status >= 500) this.o.logger.warn({ method: req.method, url: req.url, code: err.code, err: err.message }, 'local API request failed');
      [status, body] = [err.status, { error: { code: err.code, message: err.message } }];
    }
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /**
   * Listens on `path` (its directory created), mode 0600. A socket file left by an agent that
   * died is replaced; one another process still serves is an error.
   */
  async listen(path: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (await isServed(path)) throw new Error(`${path}: another process serves this socket (is another idplane-agent running?)`);
    rmSync(path, { force: true });
    const server = createServer((req, res) => void this.handle(req, res));
    server.maxConnections = MAX_CONNECTIONS;
    server.requestTimeout = 120_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    this.server = server;
    this.path = path;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path!, { force: true });
  }
}

/** True when something accepts connections on the unix socket at `path`. */
function isServed(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

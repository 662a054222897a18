// Prometheus metrics of the node agent (prom-client), served on /metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatapathCounters } from '../../datapath/reference-datapath.js';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly appliedRevision = new Gauge({ name: 'idplane_agent_applied_revision', help: 'Last cluster revision applied to the maps', registers: [this.registry] });
  readonly lag = new Gauge({ name: 'idplane_agent_lag_revisions', help: 'Cluster revision minus the applied revision', registers: [this.registry] });
  readonly eventsApplied = new Counter({ name: 'idplane_agent_events_applied_total', help: 'Feed events applied', registers: [this.registry] });
  readonly mapEntries = new Gauge({ name: 'idplane_agent_map_entries', help: 'Entries in each map', labelNames: ['map'], registers: [this.registry] });
  readonly applySeconds = new Histogram({
    name: 'idplane_agent_apply_seconds',
    help: 'Time to apply one feed message or snapshot to the maps',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly propagationSeconds = new Histogram({
    name: 'idplane_agent_propagation_seconds',
    help: 'From the commit in the control plane to the batch being in the maps',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly errors = new Counter({ name: 'idplane_agent_errors_total', help: 'Errors by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly staleEndpointsRemoved = new Counter({
    name: 'idplane_agent_stale_endpoints_removed_total',
    help: 'Endpoints removed because their host interface was gone (their CNI DEL never ran)',
    registers: [this.registry],
  });
  readonly resyncs = new Counter({ name: 'idplane_agent_resyncs_total', help: 'Snapshot reconciliations', registers: [this.registry] });
  /** Read at each scrape from the reference datapath's counters maps (set by datapathCountersFrom). */
  private datapathCounters: (() => DatapathCounters[]) | undefined;
  readonly datapathPackets = new Counter({
    name: 'idplane_agent_datapath_packets_total',
    help: 'Packets the reference datapath checked against policy, per endpoint, direction and verdict',
    labelNames: ['endpoint', 'direction', 'verdict'],
    registers: [this.registry],
    collect: () => {
      if (!this.datapathCounters) return;
      // The kernel keeps the totals: each scrape shows them as they are, for endpoints that still exist.
      this.datapathPackets.reset();
      for (const c of this.datapathCounters()) this.datapathPackets.inc({ endpoint: String(c.endpoint), direction: c.direction, verdict: c.verdict }, c.packets);
    },
  });

  datapathCountersFrom(read: () => DatapathCounters[]): void {
    this.datapathCounters = read;
  }

  constructor(defaultMetrics = false) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Serves /metrics on host:port (port 0 picks a free port; host '' is every interface). */
  async serve(at: HostPort): Promise<Server> {
    const server = createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host === '' ? undefined : at.host, resolve);
    });
    return server;
  }
}

export interface HostPort {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (every interface), as Go's net.SplitHostPort reads them. */
export function parseHostPort(s: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--metrics-address: ${JSON.stringify(s)} is not HOST:PORT (port 0..65535; [::1]:PORT for IPv6)`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** A listening server's address as HOST:PORT. */
export function formatHostPort(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') return String(address);
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

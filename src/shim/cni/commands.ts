// ADD, DEL and CHECK of one attachment: parse and plan with the pure modules, then the I/O the
// caller passes in (the agent's socket, the veth pair as iproute2 shows it).
import { parsePodArgs, requirePod } from './cni-args.js';
import type { PluginConf } from './config.js';
import { attachmentPath, checkEndpoint, cniErrorFromAgent, createRequest, endpointLabels } from './endpoint.js';
import { CNI_ERROR, CniError } from './errors.js';
import type { AgentCall } from './agent-client.js';
import type { Attachment } from './invocation.js';
import type { AttachmentLinks } from './links.js';
import { containerAddresses, parsePrevResult, resultForVersion } from './prev-result.js';

export interface CniDeps {
  agent: AgentCall;
  readLinks(netns: string, ifname: string): Promise<AttachmentLinks>;
}

/** ADD and CHECK look into the pod's network namespace. */
type InNetns = Attachment & { netns: string };

const isSuccess = (status: number) => status >= 200 && status < 300;

/**
 * Creates the endpoint with sync-build-endpoint: the agent answers once its node's maps hold it,
 * so when ADD returns the pod's identity, ipcache entry and policy are in place. A retried ADD
 * sends the same request and the agent answers 200 with the same endpoint.
 */
export async function cniAdd(inv: InNetns, conf: PluginConf, deps: CniDeps): Promise<Record<string, unknown>> {
  const pod = requirePod(parsePodArgs(inv.args), inv.containerId);
  const labels = endpointLabels(conf.labels);
  const prev = parsePrevResult(conf.prevResult);
  const addresses = containerAddresses(prev, inv.ifname);
  const result = resultForVersion(conf.prevResult!, prev, conf.cniVersion);
  const links = await deps.readLinks(inv.netns, inv.ifname);
  const body = createRequest({ containerId: inv.containerId, ifname: inv.ifname, ...pod, labels, addresses, links, waitForNodes: conf.waitForNodes });
  // With the reference datapath the agent attaches its programs to the host veth before answering.
  const query = conf.datapath === undefined ? '' : `?datapath=${conf.datapath}`;
  const answer = await deps.agent('PUT', `${attachmentPath(inv.containerId, inv.ifname)}${query}`, body);
  if (!isSuccess(answer.status)) throw cniErrorFromAgent('create endpoint', answer.status, answer.body);
  return result;
}

/**
 * Deletes the endpoint; the agent answers once its maps no longer hold it. An endpoint that is not
 * there (never created, already deleted) is success; an agent that cannot be reached is error 11,
 * since the endpoint's map entries and policy would outlive the pod.
 */
export async function cniDel(inv: Attachment, deps: CniDeps): Promise<void> {
  const answer = await deps.agent('DELETE', attachmentPath(inv.containerId, inv.ifname));
  if (isSuccess(answer.status) || isEndpointNotFound(answer.status, answer.body)) return;
  throw cniErrorFromAgent('delete endpoint', answer.status, answer.body);
}

function isEndpointNotFound(status: number, body: unknown): boolean {
  return status === 404 && (body as { error?: { code?: unknown } } | undefined)?.error?.code === 'endpoint-not-found';
}

/** The endpoint must exist, be ready, and match prevResult's addresses and the veth pair now. */
export async function cniCheck(inv: InNetns, conf: PluginConf, deps: CniDeps): Promise<void> {
  const addresses = containerAddresses(parsePrevResult(conf.prevResult), inv.ifname);
  const [links, answer] = await Promise.all([
    deps.readLinks(inv.netns, inv.ifname).catch((e: unknown) => {
      throw e instanceof CniError && e.code === CNI_ERROR.linkNotFound ? new CniError(CNI_ERROR.checkFailed, e.message, e.details) : e;
    }),
    deps.agent('GET', attachmentPath(inv.containerId, inv.ifname)),
  ]);
  if (isEndpointNotFound(answer.status, answer.body)) {
    throw new CniError(CNI_ERROR.checkFailed, `the idplane agent has no endpoint for ${inv.containerId}:${inv.ifname}`);
  }
  if (!isSuccess(answer.status)) {
    // Only a transient condition is not a verdict on the attachment.
    const e = cniErrorFromAgent('get endpoint', answer.status, answer.body);
    throw e.code === CNI_ERROR.tryAgainLater ? e : new CniError(CNI_ERROR.checkFailed, e.message);
  }
  checkEndpoint(answer.body, addresses, links);
}

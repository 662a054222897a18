// Where the agent serves its local endpoint API (Cilium's is /var/run/cilium/cilium.sock): shared
// by the agent and idplane-cni, which imports nothing else of the agent.
export const DEFAULT_AGENT_SOCKET = '/var/run/idplane/agent.sock';

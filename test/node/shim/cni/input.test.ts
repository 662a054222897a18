// What a CNI invocation brings in: the CNI_* environment, CNI_ARGS and the configuration on stdin,
// and the error code each problem gets (CNI spec 1.0.0 §5).
import { describe, expect, it } from 'vitest';
import { parsePodArgs, requirePod } from '../../../../src/shim/cni/cni-args.js';
import { parsePluginConf } from '../../../../src/shim/cni/config.js';
import { cniFailure } from './cni-failure.js';
import { readInvocation } from '../../../../src/shim/cni/invocation.js';
import { versionResult } from '../../../../src/shim/cni/versions.js';

const CONTAINERD_ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-5d78c9869d-62zlb;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=5b8a1c2e-0000-4000-8000-000000000001';

describe('CNI_ARGS', () => {
  it('reads the pod from the args containerd sends, ignoring the keys it does not know', () => {
    expect(parsePodArgs(CONTAINERD_ARGS)).toEqual({ namespace: 'kube-system', podName: 'coredns-5d78c9869d-62zlb', infraContainerId: 'c0ffee' });
    expect(requirePod(parsePodArgs(CONTAINERD_ARGS), 'c0ffee')).toEqual({ namespace: 'kube-system', podName: 'coredns-5d78c9869d-62zlb' });
  });

  it.each([
    { name: 'empty', args: '', want: { namespace: undefined, podName: undefined, infraContainerId: undefined } },
    { name: 'IgnoreUnknown=true', args: 'IgnoreUnknown=true;FOO=bar;K8S_POD_NAME=a', want: { namespace: undefined, podName: 'a', infraContainerId: undefined } },
    { name: 'a repeated key keeps its last value', args: 'K8S_POD_NAME=a;K8S_POD_NAME=b', want: { namespace: undefined, podName: 'b', infraContainerId: undefined } },
  ])('accepts $name', ({ args, want }) => {
    expect(parsePodArgs(args)).toEqual(want);
  });

  it.each([
    { name: 'an unknown key without IgnoreUnknown', args: 'K8S_POD_NAME=a;FOO=bar', msg: /unknown args FOO/ },
    { name: 'IgnoreUnknown=0', args: 'IgnoreUnknown=0;FOO=bar', msg: /unknown args FOO/ },
    { name: 'a pair without =', args: 'K8S_POD_NAME', msg: /invalid pair "K8S_POD_NAME"/ },
    { name: 'a value holding =', args: 'K8S_POD_NAME=a=b', msg: /invalid pair/ },
    { name: 'a trailing ;', args: 'K8S_POD_NAME=a;', msg: /invalid pair ""/ },
    { name: 'a bad boolean', args: 'IgnoreUnknown=yes', msg: /IgnoreUnknown=yes: not a boolean/ },
    { name: 'a namespace that is no DNS label', args: 'K8S_POD_NAMESPACE=Kube_System', msg: /K8S_POD_NAMESPACE=Kube_System/ },
    { name: 'a pod name that is no DNS subdomain', args: 'K8S_POD_NAME=-x', msg: /K8S_POD_NAME=-x/ },
    { name: 'an infra container ID that is none', args: 'K8S_POD_INFRA_CONTAINER_ID=/etc', msg: /K8S_POD_INFRA_CONTAINER_ID/ },
  ])('refuses $name with code 4', ({ args, msg }) => {
    const f = cniFailure(() => parsePodArgs(args));
    expect(f.code).toBe(4);
    expect(f.msg).toMatch(/^CNI_ARGS: /);
    expect(f.msg).toMatch(msg);
  });

  it.each([
    { name: 'no namespace', args: 'K8S_POD_NAME=a', msg: 'CNI_ARGS: K8S_POD_NAMESPACE missing: idplane-cni attaches Kubernetes pods' },
    { name: 'neither', args: '', msg: 'CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME missing: idplane-cni attaches Kubernetes pods' },
    { name: 'another infra container', args: 'K8S_POD_NAMESPACE=d;K8S_POD_NAME=a;K8S_POD_INFRA_CONTAINER_ID=other', msg: 'CNI_ARGS: K8S_POD_INFRA_CONTAINER_ID=other differs from CNI_CONTAINERID=c0ffee' },
  ])('ADD needs the pod: $name is code 4', ({ args, msg }) => {
    expect(cniFailure(() => requirePod(parsePodArgs(args), 'c0ffee'))).toEqual({ code: 4, msg });
  });
});

describe('CNI_* environment', () => {
  const full = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/p', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAME=a', CNI_PATH: '/opt/cni/bin' };

  it.each([
    { name: 'ADD', env: full, want: { command: 'ADD', containerId: 'c0ffee', netns: '/var/run/netns/p', ifname: 'eth0', args: 'K8S_POD_NAME=a' } },
    { name: 'CHECK', env: { ...full, CNI_COMMAND: 'CHECK' }, want: { command: 'CHECK', containerId: 'c0ffee', netns: '/var/run/netns/p', ifname: 'eth0', args: 'K8S_POD_NAME=a' } },
    { name: 'DEL without a netns (spec: optional)', env: { ...full, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, want: { command: 'DEL', containerId: 'c0ffee', netns: undefined, ifname: 'eth0', args: 'K8S_POD_NAME=a' } },
    { name: 'VERSION with nothing else', env: { CNI_COMMAND: 'VERSION' }, want: { command: 'VERSION' } },
  ])('reads $name', ({ env, want }) => {
    expect(readInvocation(env)).toEqual(want);
  });

  it.each([
    { name: 'an unknown command', env: { ...full, CNI_COMMAND: 'GC' }, msg: 'CNI_COMMAND: unknown command "GC"; one of ADD, DEL, CHECK, VERSION' },
    { name: 'ADD without netns', env: { ...full, CNI_NETNS: undefined }, msg: 'required environment variables missing: CNI_NETNS' },
    { name: 'CHECK without container and interface', env: { CNI_COMMAND: 'CHECK', CNI_NETNS: '/x' }, msg: 'required environment variables missing: CNI_CONTAINERID, CNI_IFNAME' },
    { name: 'DEL without interface', env: { ...full, CNI_COMMAND: 'DEL', CNI_IFNAME: '' }, msg: 'required environment variables missing: CNI_IFNAME' },
    { name: 'a container ID starting with -', env: { ...full, CNI_CONTAINERID: '-x' }, msg: /^CNI_CONTAINERID: "-x" is not a container ID/ },
    { name: 'an interface name of 16 characters', env: { ...full, CNI_IFNAME: 'eth0123456789012' }, msg: 'CNI_IFNAME: "eth0123456789012" is not an interface name' },
    { name: 'an interface name with /', env: { ...full, CNI_IFNAME: 'a/b' }, msg: 'CNI_IFNAME: "a/b" is not an interface name' },
  ])('refuses $name with code 4', ({ env, msg }) => {
    const f = cniFailure(() => readInvocation(env));
    expect(f.code).toBe(4);
    if (typeof msg === 'string') expect(f.msg).toBe(msg);
    else expect(f.msg).toMatch(msg);
  });
});

describe('network configuration', () => {
  const base = { cniVersion: '1.0.0', name: 'idplane', type: 'idplane-cni' };
  const text = (o: unknown) => JSON.stringify(o);

  it('applies the defaults', () => {
    expect(parsePluginConf(text(base), 'ADD')).toEqual({
      cniVersion: '1.0.0', name: 'idplane', agentSocket: '/var/run/idplane/agent.sock', timeoutMs: 30_000, waitForNodes: false, labels: [], prevResult: undefined,
    });
  });

  it('reads its own keys, the labels and prevResult, and the keys a runtime adds', () => {
    const conf = {
      ...base, cniVersion: '0.4.0', 'agent-socket': '/run/a.sock', 'timeout-seconds': 2.5, 'wait-for-nodes': true, datapath: 'reference',
      args: { cni: { labels: [{ key: 'app', value: 'web' }] } }, prevResult: { cniVersion: '0.4.0' }, runtimeConfig: {}, dns: {},
    };
    expect(parsePluginConf(text(conf), 'ADD')).toEqual({
      cniVersion: '0.4.0', name: 'idplane', agentSocket: '/run/a.sock', timeoutMs: 2500, waitForNodes: true, datapath: 'reference', labels: [{ key: 'app', value: 'web' }], prevResult: { cniVersion: '0.4.0' },
    });
  });

  it.each([
    { name: 'text that is not JSON', stdin: '{', code: 6, msg: 'network configuration is not JSON' },
    { name: 'a JSON array', stdin: '[]', code: 6, msg: 'network configuration is not a JSON object' },
    { name: 'a numeric cniVersion', stdin: text({ ...base, cniVersion: 1 }), code: 6, msg: 'cniVersion is not a string' },
    { name: 'no cniVersion (0.1.0)', stdin: text({ name: 'x', type: 'idplane-cni' }), code: 1, msg: 'incompatible CNI version 0.1.0 (none given)' },
    { name: 'cniVersion 0.3.1', stdin: text({ ...base, cniVersion: '0.3.1' }), code: 1, msg: 'incompatible CNI version 0.3.1' },
    { name: 'cniVersion 1.1.0', stdin: text({ ...base, cniVersion: '1.1.0' }), code: 1, msg: 'incompatible CNI version 1.1.0' },
    { name: 'a misspelt key', stdin: text({ ...base, 'agent-sockets': '/x' }), code: 2, msg: 'unsupported field in network configuration: agent-sockets="/x"' },
    { name: 'no name', stdin: text({ cniVersion: '1.0.0', type: 'idplane-cni' }), code: 7, msg: 'invalid network configuration: name: Invalid input: expected string, received undefined' },
    { name: 'a bad network name', stdin: text({ ...base, name: '-x' }), code: 7, msg: /^invalid network configuration: name: / },
    { name: 'a timeout of 0', stdin: text({ ...base, 'timeout-seconds': 0 }), code: 7, msg: /^invalid network configuration: timeout-seconds: Too small/ },
    { name: 'a string timeout', stdin: text({ ...base, 'timeout-seconds': '30' }), code: 7, msg: /^invalid network configuration: timeout-seconds: / },
    { name: 'wait-for-nodes "yes"', stdin: text({ ...base, 'wait-for-nodes': 'yes' }), code: 7, msg: /^invalid network configuration: wait-for-nodes: / },
    { name: 'a datapath that is not "reference"', stdin: text({ ...base, datapath: 'cilium' }), code: 7, msg: /^invalid network configuration: datapath: / },
    { name: 'an empty agent-socket', stdin: text({ ...base, 'agent-socket': '' }), code: 7, msg: /^invalid network configuration: agent-socket: / },
    { name: 'a label without value', stdin: text({ ...base, args: { cni: { labels: [{ key: 'a' }] } } }), code: 7, msg: /^invalid network configuration: args\.cni\.labels\.0\.value: / },
    { name: 'labels as a map', stdin: text({ ...base, args: { cni: { labels: { a: 'b' } } } }), code: 7, msg: /^invalid network configuration: args\.cni\.labels: / },
    { name: 'a prevResult that is a string', stdin: text({ ...base, prevResult: 'x' }), code: 7, msg: /^invalid network configuration: prevResult: / },
  ])('refuses $name with code $code', ({ stdin, code, msg }) => {
    const f = cniFailure(() => parsePluginConf(stdin, 'ADD'));
    expect(f.code).toBe(code);
    if (typeof msg === 'string') expect(f.msg).toBe(msg);
    else expect(f.msg).toMatch(msg);
  });

  it('lets DEL through what it does not read (a DEL failing on it would never let the pod go)', () => {
    const conf = { ...base, 'agent-socket': '/run/a.sock', unknown: 1, args: { cni: { labels: 'garbage' } }, prevResult: 'garbage', 'wait-for-nodes': 'x' };
    expect(parsePluginConf(text(conf), 'DEL')).toEqual({
      cniVersion: '1.0.0', name: 'idplane', agentSocket: '/run/a.sock', timeoutMs: 30_000, waitForNodes: false, labels: [], prevResult: undefined,
    });
    expect(cniFailure(() => parsePluginConf(text({ ...base, 'timeout-seconds': -1 }), 'DEL')).code).toBe(7);
    expect(cniFailure(() => parsePluginConf(text({ ...base, cniVersion: '0.2.0' }), 'DEL')).code).toBe(1);
  });

  it.each([
    { name: 'libcni asking in 1.0.0', stdin: '{"cniVersion":"1.0.0"}', want: { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] } },
    { name: 'an older runtime asking in 0.4.0 (answered in its version, as the spec says)', stdin: '{"cniVersion":"0.4.0"}', want: { cniVersion: '0.4.0', supportedVersions: ['0.4.0', '1.0.0'] } },
    { name: 'no input', stdin: '', want: { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] } },
  ])('VERSION: $name', ({ stdin, want }) => {
    expect(versionResult(stdin)).toEqual(want);
  });
});

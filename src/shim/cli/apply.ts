// `idplane apply -f FILE|-`: each CNP/CCNP of a multi-document YAML file is PUT, and reported as
// kubectl reports it: `ciliumnetworkpolicy.cilium.io/NAME created|configured|unchanged`.
import type { PolicyFileDocument } from '../../core/policy/parse.js';
import { ApiError, type ApiClient, type PolicyRef } from '../api-client.js';
import type { PolicyObject } from '../../api/policies.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** A file's object and where it goes, or why it cannot be applied (kubectl's namespace check). */
export type ApplyTarget = { ref: PolicyRef; document: Record<string, unknown> } | { ref: PolicyRef; refusal: string };

/**
 * Where each object goes: a CNP without a namespace to `-n` (or `default`); a CNP naming another
 * namespace than an explicit `-n` is refused as kubectl refuses it. CCNPs have no namespace.
 */
export function planApply(docs: readonly PolicyFileDocument[], namespaceFlag: string | undefined): ApplyTarget[] {
  return docs.map((d) => {
    if (d.kind === 'CiliumClusterwideNetworkPolicy') return { ref: { kind: d.kind, name: d.name }, document: d.document };
    const namespace = d.namespace ?? namespaceFlag ?? 'default';
    const ref: PolicyRef = { kind: d.kind, namespace, name: d.name };
    if (namespaceFlag !== undefined && d.namespace !== null && d.namespace !== namespaceFlag) {
      return {
        ref,
        refusal: `the namespace from the provided object "${d.namespace}" does not match the namespace "${namespaceFlag}". You must pass '--namespace=${d.namespace}' to perform this operation.`,
      };
    }
    return { ref, document: d.document };
  });
}

/** What a PUT did, from the object stored before it (null: none) and the one it answered. */
export function applyOutcome(before: PolicyObject | null, after: PolicyObject): ApplyOutcome {
  if (before === null) return 'created';
  return before.metadata.generation === after.metadata.generation ? 'unchanged' : 'configured';
}

/** kubectl's name of an object: `<kind lower-cased>.<group>/<name>`. */
export function resourceName(ref: PolicyRef): string {
  return `${ref.kind.toLowerCase()}.cilium.io/${ref.name}`;
}

/**
 * Applies every target in file order, going on after a failure as kubectl does; returns how many
 * failed (each reported on `writeErr`).
 */
export async function applyTargets(client: ApiClient, targets: readonly ApplyTarget[], write: (s: string) => void, writeErr: (s: string) => void): Promise<number> {
  let failed = 0;
  for (const t of targets) {
    if ('refusal' in t) {
      writeErr(`error: ${t.refusal}\n`);
      failed++;
      continue;
    }
    try {
      const before = await client.findPolicy(t.ref);
      const answer = await client.putPolicy(t.ref, t.document);
      write(`${resourceName(t.ref)} ${applyOutcome(before, answer.policy)}\n`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      writeErr(`Error from server (${e.code}): error when applying "${resourceName(t.ref)}": ${e.message}\n`);
      failed++;
    }
  }
  return failed;
}

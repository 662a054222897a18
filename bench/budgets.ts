// The budgets `npm run bench` checks, recorded by each section as it measures them and printed
// again together at the end: the figure, the budget, what it is measured against in the same run
// (the floor, the peer, the run without policies), and met or missed, with the machine.

export interface BudgetCheck {
  /** What is measured, e.g. "sync creates/s at 50 clients". */
  what: string;
  /** The measured figure, with its unit. */
  measured: string;
  /** The budget, e.g. "≥ 85 % of the floor". */
  budget: string;
  /** What the figure is compared with, measured in the same run; empty for absolute budgets. */
  against: string;
  met: boolean;
}

const checks: BudgetCheck[] = [];

/** Records a budget's outcome and gives the line a section prints for it. */
export function checkBudget(check: BudgetCheck): string {
  checks.push(check);
  const against = check.against === '' ? '' : ` (against ${check.against})`;
  return `${check.what}: ${check.measured}${against}, budget ${check.budget}: ${check.met ? 'met' : 'MISSED'}`;
}

/** The table of every budget checked in this run. */
export function printBudgets(machine: string): void {
  if (checks.length === 0) return;
  console.log(`\nbudgets of this run, on ${machine}:`);
  const width = Math.max(...checks.map((c) => c.what.length));
  for (const c of checks) {
    const against = c.against === '' ? '' : `  vs ${c.against}`;
    console.log(`  ${c.met ? 'met   ' : 'MISSED'}  ${c.what.padEnd(width)}  ${c.measured} (budget ${c.budget})${against}`);
  }
}

import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

/** The issues of a `$validate` answer that make the resource invalid (warnings and information left out). */
export function validationErrors(outcome: OperationOutcome): OperationOutcomeIssue[] {
  return (outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
}

/** Issues as `where: what` lines, so a failing expectation shows what HAPI said. */
export function describeIssues(issues: OperationOutcomeIssue[]): string[] {
  return issues.map((i) => `${i.expression?.[0] ?? i.location?.[0] ?? ''}: ${i.diagnostics ?? ''}`);
}
